"""The ``climbench`` command. Thin: parses arguments, calls the library, prints.

Every :class:`~climbench.errors.ClimbenchError` is printed as one readable line and exits
with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from climbench.data.synthetic.cli import synth_app
from climbench.datasets.cli import datasets_app
from climbench.errors import ClimbenchError
from climbench.evaluation_cli import compare_command, evaluate_command
from climbench.leaderboard.cli import leaderboard_app
from climbench.tasks.cli import tasks_app
from climbench.training_cli import predict_command, train_command

app = typer.Typer(
    help="climbench: benchmark suite for ML on weather and climate data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Open, inspect, regrid and prepare data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
data_app.add_typer(synth_app, name="synth")
app.add_typer(tasks_app, name="tasks")
app.add_typer(leaderboard_app, name="leaderboard")
app.add_typer(datasets_app, name="datasets")
app.command("evaluate")(evaluate_command)
app.command("compare")(compare_command)
app.command("train")(train_command)
app.command("predict")(predict_command)
console = Console()
error_console = Console(stderr=True)


def _parse_units(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ClimbenchError(
                "bad --units value", expected="VARIABLE=UNIT, e.g. tasmax=degC", found=repr(pair)
            )
        name, unit = pair.split("=", 1)
        out[name.strip()] = unit.strip()
    return out


@data_app.command("info")
def data_info(
    paths: list[str] = typer.Argument(
        ..., help="Files, stores, URLs or globs; several paths are combined into one dataset."
    ),
    source: str = typer.Option(None, help="Force the source adapter: era5, cmip6, merra2, cf."),
    units: list[str] = typer.Option(
        None, "--units", help="Override a wrong units attribute: VARIABLE=UNIT (repeatable)."
    ),
    stats: bool = typer.Option(
        False,
        help="Also print min / mean / max, and refuse all-NaN variables and values outside "
        "their plausible range (reads the data).",
    ),
    ranges: list[str] = typer.Option(
        None,
        "--range",
        help="Plausible range of a variable in its canonical unit, checked with --stats: "
        "VARIABLE=LO:HI (repeatable).",
    ),
    allow_missing_chunks: bool = typer.Option(
        False,
        "--allow-missing-chunks",
        help="Accept a Zarr store without some chunk files (zarr-python 3 leaves out "
        "chunks that are all fill value); by default they are taken as damage.",
    ),
) -> None:
    """Describe a dataset as climbench sees it: source, grid, time axis, variables, units."""
    from climbench.data.describe import print_summary
    from climbench.data.open import open_dataset
    from climbench.data.plausibility import valid_ranges_from_text
    from climbench.data.prepare import read_manifest

    if len(paths) == 1 and Path(paths[0]).is_dir() and read_manifest(paths[0]) is not None:
        manifest = read_manifest(paths[0])
        console.print_json(
            data={
                k: manifest[k]
                for k in (
                    "climbench_version",
                    "created",
                    "grid",
                    "method",
                    "stats_period",
                    "sources",
                )
                if k in manifest
            }
        )
    ds = open_dataset(
        paths if len(paths) > 1 else paths[0],
        source=source,
        units=_parse_units(units),
        check_values=stats,
        valid_ranges=valid_ranges_from_text(ranges or []),
        allow_missing_chunks=allow_missing_chunks,
    )
    print_summary(ds, ", ".join(paths), console=console, stats=stats)


@data_app.command("prepare")
def data_prepare(
    sources: list[str] = typer.Argument(..., help="Source files, stores, URLs or globs."),
    out: Path = typer.Option(..., "--out", "-o", help="Zarr store to write."),
    grid: str = typer.Option(
        None,
        help="Target grid: 5.625, 2.8125, 1.40625, 1.5, 0.25, a "
        "resolution, 'lat=S:N:D,lon=W:E:D', or a file whose grid to use. "
        "Default: keep the source grid.",
    ),
    method: str = typer.Option("conservative", help="conservative or bilinear."),
    variables: list[str] = typer.Option(
        None, "--variable", "-v", help="Keep only these (repeatable; canonical names or aliases)."
    ),
    levels: list[float] = typer.Option(
        None, "--level", help="Keep only these pressure levels in hPa (repeatable)."
    ),
    start: str = typer.Option(None, help="First time to keep (e.g. 1979-01-01)."),
    end: str = typer.Option(None, help="Last time to keep."),
    stats_start: str = typer.Option(
        None, help="Start of the normalisation-statistics period (default: all kept times)."
    ),
    stats_end: str = typer.Option(None, help="End of the statistics period."),
    time_chunk: int = typer.Option(None, help="Time steps per Zarr chunk (default: see docs)."),
    source: str = typer.Option(None, help="Force the source adapter."),
    units: list[str] = typer.Option(None, "--units", help="VARIABLE=UNIT override."),
    ranges: list[str] = typer.Option(
        None,
        "--range",
        help="Plausible range of a variable in its canonical unit, replacing the built-in "
        "one: VARIABLE=LO:HI (repeatable).",
    ),
    allow_missing_chunks: bool = typer.Option(
        False,
        "--allow-missing-chunks",
        help="Accept source Zarr stores without some chunk files (zarr-python 3 leaves out "
        "chunks that are all fill value); by default they are taken as damage.",
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing store."),
) -> None:
    """Regrid, select and normalise sources into a training-ready Zarr store."""
    from climbench.data.plausibility import valid_ranges_from_text
    from climbench.data.prepare import prepare

    path = prepare(
        sources,
        out,
        grid=grid,
        method=method,
        variables=variables or None,
        levels=levels or None,
        time_range=(start, end) if (start or end) else None,
        stats_period=(stats_start, stats_end) if (stats_start or stats_end) else None,
        time_chunk=time_chunk,
        source=source,
        units=_parse_units(units),
        valid_ranges=valid_ranges_from_text(ranges or []),
        allow_missing_chunks=allow_missing_chunks,
        overwrite=overwrite,
        progress=True,
    )
    console.print(f"[green]wrote[/] {path}")


@data_app.command("vocabulary")
def data_vocabulary() -> None:
    """List the canonical variables, their units and their aliases."""
    from rich.table import Table

    from climbench.data.vocabulary import VARIABLES

    table = Table("canonical name", "units", "kind", "aliases")
    for v in VARIABLES:
        table.add_row(v.name, v.units, v.kind, ", ".join(v.aliases))
    console.print(table)


@data_app.command("clean")
def data_clean(
    folders: list[Path] = typer.Argument(
        None, help="Folders to search (default: the current folder)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be done."),
) -> None:
    """Remove the hidden partial folders that killed or crashed writes left behind.

    Lists every ``.NAME.partial-*`` / ``.NAME.old-*`` / ``.NAME.tmp-*`` leftover with its
    size; removes those whose writer process is gone, skips those still being written,
    and restores the old output of a replacement interrupted between its two renames.
    """
    from rich.table import Table

    from climbench.io import clean

    found = [item for folder in folders or [Path(".")] for item in clean(folder, dry_run)]
    if not found:
        console.print("no leftovers of interrupted writes")
        return
    table = Table("leftover", "of", "size", "action")
    done = {"remove": "removed", "restore": "restored", "in use": "skipped: in use"}
    for item in found:
        action = item.action if dry_run else done[item.action]
        table.add_row(str(item.path), item.target.name, _size(item.size), action)
    console.print(table)
    freed = sum(i.size for i in found if i.action == "remove")
    console.print(f"{'would free' if dry_run else 'freed'} {_size(freed)}")


def _size(n: float) -> str:
    """Bytes in decimal units (``232.4 MB``)."""
    units = ["B", "kB", "MB", "GB"]
    while n >= 1000 and len(units) > 1:
        n /= 1000
        units.pop(0)
    return f"{n:.0f} B" if units[0] == "B" else f"{n:.1f} {units[0]}"


@app.command("run")
def run(
    data_root: Path = typer.Option(
        None,
        "--data-root",
        help="Where the data, runs and predictions go (default $CLIMBENCH_DATA or ./data).",
    ),
    results: Path = typer.Option(None, help="Results folder (default WORKDIR/results)."),
    task: list[str] = typer.Option(None, "--task", help="Run only these tasks (repeatable)."),
) -> None:
    """The default job on the embedded synthetic data (no network needed): train the
    baselines on a forecasting, a downscaling and an emulation task and score them."""
    from climbench.run import RUN_TASKS, default_run

    default_run(data_root, results, tuple(task) if task else RUN_TASKS, console=console)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except ClimbenchError as err:
        # the message is plain text: file names and hints may hold [brackets]
        error_console.print("[bold red]error:[/] ", end="")
        error_console.print(str(err), markup=False, highlight=False, soft_wrap=True)
        _quiet_shutdown()
        sys.exit(2)


def _quiet_shutdown() -> None:
    """After a refused or failed command, silence the asyncio shutdown notices that zarr's
    abandoned writer tasks print at exit ("Task was destroyed but it is pending", "Event
    loop is closed"): the one-line error above already says what happened."""
    import logging
    import warnings

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited")
    sys.unraisablehook = lambda unraisable: None


if __name__ == "__main__":
    main()
