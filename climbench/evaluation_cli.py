"""``climbench evaluate`` and ``climbench compare``: score predictions files, and test two
results against each other."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from climbench.errors import ConfigError

console = Console()
_ROOT = typer.Option(
    None, "--data-root", help="Task data folder (default $CLIMBENCH_DATA or ./data)."
)


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
