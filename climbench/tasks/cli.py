"""``climbench tasks``: list, show and prepare the registered tasks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

tasks_app = typer.Typer(help="Benchmark tasks: frozen, versioned protocols.", no_args_is_help=True)
console = Console()
_ROOT = typer.Option(
    None, "--data-root", help="Task data folder (default $CLIMBENCH_DATA or ./data)."
)


@tasks_app.command("list")
def tasks_list() -> None:
    """List the registered tasks."""
    from climbench.tasks import get_spec, task_names
    from climbench.tasks.registry import task_versions

    table = Table(title="climbench tasks")
    for column in ("task", "earlier versions", "kind", "dataset", "headline", "title"):
        table.add_column(column)
    for name in task_names():
        s = get_spec(name)
        lead = f" @{s.headline.lead_hours}h" if s.headline.lead_hours else ""
        earlier = ", ".join(f"@{v}" for v in task_versions(name) if v != s.version)
        table.add_row(
            s.id,
            earlier,
            s.kind,
            s.dataset.kind,
            f"{s.headline.metric} {s.headline.field}{lead}",
            s.title,
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
    download: bool = typer.Option(
        False, "--download", help="Fetch the data the task's dataset card needs, then prepare."
    ),
) -> None:
    """Build a task's data: generate synthetic data, or prepare the given source files."""
    from climbench.tasks import get_task

    task = get_task(name, data_root)
    if download and not source and (overwrite or not task.is_prepared()):
        from climbench.datasets.tasks import fetch_for_task

        source = [str(p) for p in fetch_for_task(task, progress=True)]
    out = task.prepare_data(source or None, overwrite=overwrite, progress=True)
    console.print(f"{task.id}: data in {out}")
