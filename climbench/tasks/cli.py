"""``climbench tasks`` (list, show, prepare), ``climbench evaluate`` and ``compare``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from climbench.errors import ConfigError

tasks_app = typer.Typer(help="Benchmark tasks: frozen, versioned protocols.", no_args_is_help=True)
console = Console()
_ROOT = typer.Option(
    None, "--data-root", help="Task data folder (default $CLIMBENCH_DATA or ./data)."
)


@tasks_app.command("list")
def tasks_list() -> None:
    """List the registered tasks."""
    from climbench.tasks import get_spec, task_names

    table = Table(title="climbench tasks")
    for column in ("task", "kind", "dataset", "headline", "title"):
        table.add_column(column)
    for name in task_names():
        s = get_spec(name)
        lead = f" @{s.headline.lead_hours}h" if s.headline.lead_hours else ""
        table.add_row(
            s.id, s.kind, s.dataset.kind, f"{s.headline.metric} {s.headline.field}{lead}", s.title
        )
    console.print(table)


@tasks_app.command("show")
def tasks_show(
    name: str = typer.Argument(..., help="Task name, e.g. forecast/synthetic-5.625[@1]."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole spec as JSON."),
) -> None:
    """Show a task's protocol: data, splits, fields, leads or scenarios, metrics, baselines."""
    import json

    from climbench.tasks import get_spec

    spec = get_spec(name)
    if as_json:
        console.print_json(json.dumps(spec.to_dict(), default=str))
        return
    console.print(f"[bold]{spec.id}[/] ({spec.kind}), digest {spec.digest()}")
    console.print(spec.title)
    console.print(spec.description, highlight=False)
    console.print(f"dataset: {spec.dataset.id} ({spec.dataset.kind}): {spec.dataset.description}")
    console.print(f"grid: {spec.grid}")
    console.print("targets: " + ", ".join(f.name for f in spec.targets))
    console.print(
        "inputs: "
        + ", ".join(f.name for f in spec.inputs)
        + (f"; constants: {', '.join(spec.constants)}" if spec.constants else "")
    )
    for split, period in spec.splits.items():
        console.print(f"{split}: {period.start} .. {period.end}")
    if spec.forecast:
        f = spec.forecast
        console.print(
            f"leads: {f.lead_hours[0]}..{f.lead_hours[-1]} h ({len(f.lead_hours)}); "
            f"inits {f.init_hours} UTC every {f.init_every_days} day(s); "
            f"history {f.history_hours} h"
        )
    if spec.emulation:
        e = spec.emulation
        console.print(
            f"scenarios: train {e.train_scenarios}, validation "
            f"{e.validation_scenarios}, test {e.test_scenarios}; forcings {e.forcings}"
        )
    if spec.downscaling:
        d = spec.downscaling
        console.print(
            f"coarse {d.coarse_grid} -> fine {d.fine_grid}"
            + (f"; crop {d.crop.name}" if d.crop else "")
            + (
                f"; train regions {[r.name for r in d.train_regions]}, test regions "
                f"{[r.name for r in d.test_regions]}"
                if d.train_regions
                else ""
            )
        )
    console.print("metrics: " + ", ".join(spec.metrics) + "; regions: " + ", ".join(spec.regions))
    console.print(
        f"headline: {spec.headline.metric} of {spec.headline.field}"
        + (f" at {spec.headline.lead_hours} h" if spec.headline.lead_hours else "")
        + f" ({spec.headline.region})"
    )
    console.print("reference baselines: " + ", ".join(spec.baselines))


@tasks_app.command("prepare")
def tasks_prepare(
    name: str = typer.Argument(..., help="Task name."),
    source: list[str] = typer.Option(None, "--source", help="Source files (files datasets)."),
    data_root: Path = _ROOT,
    overwrite: bool = typer.Option(False, help="Rebuild existing task data."),
) -> None:
    """Build a task's data: generate synthetic data, or prepare the given source files."""
    from climbench.tasks import get_task

    task = get_task(name, data_root)
    out = task.prepare_data(source or None, overwrite=overwrite, progress=True)
    console.print(f"{task.id}: data in {out}")


def evaluate_command(
    predictions: list[Path] = typer.Argument(
        None, help="Predictions Zarr/netCDF files, one per model (omit: baselines only)."
    ),
    task: str = typer.Option(..., "--task", help="Task name, e.g. forecast/synthetic-5.625."),
    out: Path = typer.Option(None, "--out", help="Results folder to write."),
    model: str = typer.Option(None, help="Model name in the table (default: from the file)."),
    baselines: bool = typer.Option(True, help="Score the task's reference baselines too."),
    resamples: int = typer.Option(1000, help="Bootstrap resamples for intervals (0: none)."),
    metric: str = typer.Option(None, help="Metric of the printed table (default: headline)."),
    overwrite: bool = typer.Option(False, help="Replace an earlier results folder at --out."),
    data_root: Path = _ROOT,
) -> None:
    """Score predictions files on a task; writes results.parquet/csv and summary.json.

    Several files are scored in one table, each under its ``model`` attribute (or its file
    name), with the same bootstrap resamples for every model.
    """
    from climbench.evaluation import evaluate
    from climbench.evaluation.evaluate import open_predictions
    from climbench.io import check_output_path
    from climbench.tasks import get_task

    the_task = get_task(task, data_root)
    if out is not None:  # before minutes of scoring
        inputs = [*(predictions or []), the_task.data_dir]
        check_output_path(out, "results", overwrite=overwrite, inputs=inputs)
    source = predictions[0] if len(predictions or []) == 1 else None
    if predictions and len(predictions) > 1:
        if model is not None:
            raise ConfigError(
                "--model names the model of one predictions file",
                variable="--model",
                expected="one predictions file",
                found=f"{len(predictions)} files",
            )
        source = {}
        for path in predictions:
            name = open_predictions(path).attrs.get("model") or Path(path).stem
            if name in source:
                raise ConfigError(
                    "two predictions files with the same model name",
                    path=path,
                    expected="one file per model",
                    found=f"{name} also in {source[name]}",
                )
            source[name] = path
    results = evaluate(
        source,
        the_task,
        model=model,
        baselines=baselines,
        resamples=resamples,
    )
    if out is not None:  # first: a bad --metric must not lose minutes of scoring
        results.write(out, overwrite=overwrite, inputs=predictions or [])
    results.print(console, metric=metric)
    for name, notes in results.notes.items():
        for note in notes:
            console.print(f"[yellow]note[/] {name}: {note}")
    if out is not None:
        console.print(f"results written to {out}")


def compare_command(
    results_a: Path = typer.Argument(..., help="Results folder of model A."),
    results_b: Path = typer.Argument(..., help="Results folder of model B (or the same)."),
    model_a: str = typer.Option(..., "--a", help="Model A's name in its folder."),
    model_b: str = typer.Option(..., "--b", help="Model B's name in its folder."),
    field: str = typer.Option(..., help="Field, e.g. geopotential_500."),
    metric: str = typer.Option("rmse", help="Metric to compare."),
    resamples: int = typer.Option(1000, help="Bootstrap resamples."),
) -> None:
    """Paired bootstrap comparison of two models' scores: A - B with a 95% interval."""
    from climbench.evaluation import compare

    diff = compare(
        results_a, results_b, model_a, model_b, field=field, metric=metric, resamples=resamples
    )
    table = Table(title=f"{metric} {field}: {model_a} - {model_b} (paired bootstrap)")
    for c in ("region", "lead (h)", "difference", "95% interval", "significant"):
        table.add_column(c)
    for r in diff.itertuples():
        table.add_row(
            r.region,
            "" if r.lead_hours != r.lead_hours else f"{r.lead_hours:g}",
            f"{r.difference:.4g}",
            f"[{r.ci_low:.3g}, {r.ci_high:.3g}]",
            "yes" if r.significant else "no",
        )
    console.print(table)
