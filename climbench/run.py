"""The default job, ``climbench run``: the suite end to end on the embedded synthetic data.

Today it covers the data layer: generate (or reuse) synthetic ERA5-like weather, prepare a
training store with normalisation statistics over the training years only, and describe
it. Tasks, baselines and scoring extend this job as they land.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from climbench.data.describe import print_summary
from climbench.data.prepare import open_prepared, prepare, read_manifest
from climbench.data.synthetic import write_weather


def default_run(
    workdir: str | Path = "data",
    years: str = "2016-2018",
    seed: int = 0,
    console: Console | None = None,
) -> Path:
    """Run the default job in ``workdir``; returns the prepared store.

    The last year of ``years`` is held out of the normalisation statistics (it plays the
    test split), so the statistics never see test data.
    """
    console = console or Console()
    workdir = Path(workdir)
    first, last = (int(y) for y in (years.split("-") if "-" in years else (years, years)))
    source = workdir / f"synth-weather-5.625-{first}-{last}-seed{seed}.zarr"
    if source.exists():
        console.print(f"[cyan]reusing[/] {source}")
    else:
        write_weather(source, grid="5.625", years=(first, last), seed=seed, progress=True)
    stats_end = str(last - 1) if last > first else str(last)
    store = workdir / "prepared-synth-weather-5.625.zarr"
    prepare(source, store, stats_period=(str(first), stats_end), overwrite=True, progress=True)
    manifest = read_manifest(store)
    print_summary(open_prepared(store), str(store), console=console)
    period = manifest["stats_period"]
    console.print(
        f"normalisation statistics over {period['start']} .. {period['end']} "
        f"({period['steps']} steps):"
    )
    for name, stats in manifest["stats"].items():
        console.print(f"  {name}: mean {stats['mean']}, std {stats['std']}", highlight=False)
    return store
