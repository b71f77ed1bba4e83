"""Small variants of the registered synthetic tasks, for the task and scorer tests.

The registered synthetic tasks generate years of data (minutes), so the tests build small
variants: the registered spec with a `files` dataset of one to three months of the same
synthetic generator, shorter splits and fewer leads. ``Task`` accepts any spec, so a variant
goes through exactly the code path of the registered task. The session fixtures that build
them once per session are in ``tests/conftest.py``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from climbench.tasks import Field, Period, Task, TaskSpec, get_spec
from climbench.tasks.spec import DatasetRef

CMIP6 = "Climate-REF+ref-sample-data/data/CMIP6"

# ---------------------------------------------------------------------------------------
# small task variants (shared by tests/test_tasks.py and tests/test_evaluate.py)
# ---------------------------------------------------------------------------------------

#: the small forecast task: test inits 2-12 January 2016 (every 2 days, 00/12 UTC), leads up
#: to 10 days (verifying until 22 January), validation 23-31 January, train February-March.
#: The training split comes after the test so the data stay three months; the climatology
#: window (91 days, circular in the year) still reaches training days from every valid time.
SMALL_FORECAST_SPLITS = {
    "train": Period("2016-02-01", "2016-03-31"),
    "validation": Period("2016-01-23", "2016-01-31"),
    "test": Period("2016-01-02", "2016-01-12"),
}
SMALL_LEADS = (6, 24, 72, 240)
#: one month of the downscaling pair: train 1-20, validate 21-25, test 26-31 January 2017
SMALL_DOWNSCALING_SPLITS = {
    "train": Period("2017-01-01", "2017-01-20"),
    "validation": Period("2017-01-21", "2017-01-25"),
    "test": Period("2017-01-26", "2017-01-31"),
}


def small_forecast_spec() -> TaskSpec:
    """forecast/synthetic-5.625 on Jan-Mar 2016: z500, t850, t2m; temperature is target-only."""
    spec = get_spec("forecast/synthetic-5.625")
    small = replace(
        spec,
        dataset=DatasetRef(
            id="synthetic-weather-5.625-2016q1",
            kind="files",
            params={},
            description="climbench.data.synthetic.weather seed 0, January-March 2016",
        ),
        targets=tuple(
            Field.parse(t) for t in ("geopotential@500", "temperature@850", "2m_temperature")
        ),
        inputs=(Field.parse("geopotential@500"), Field.parse("2m_temperature")),
        metrics=("rmse", "acc", "bias", "mae", "crps", "spread_skill", "spectral_divergence"),
        splits=SMALL_FORECAST_SPLITS,
        forecast=replace(
            spec.forecast, lead_hours=SMALL_LEADS, init_every_days=2, derived_fields=()
        ),
        climatology_window_days=91,
    )
    small.check("small forecast spec")
    return small


def small_forecast_task(root: Path) -> Task:
    """The small forecast task with prepared data under ``root`` (built once per root)."""
    task = Task(small_forecast_spec(), root)
    if not task.is_prepared():
        from climbench.data.synthetic import weather

        source = root / "sources" / "weather-2016q1.zarr"
        if not (source / "zarr.json").is_file():
            variables = [
                "geopotential",
                "temperature",
                "2m_temperature",
                "land_sea_mask",
                "geopotential_at_surface",
            ]
            data = weather("5.625", (2016, 2016), seed=0, variables=variables)
            data.sel(time=slice("2016-01-01", "2016-03-31")).to_zarr(source, mode="w")
        task.prepare_data([source])
    return task


def small_downscaling_tasks(root: Path) -> dict[str, Task]:
    """The three synthetic-x4 variants on one month of the pair; they share one data folder."""
    ref = DatasetRef(
        id="synthetic-downscaling-5.625-1.40625-2017-01",
        kind="files",
        params={},
        description="climbench.data.synthetic.downscaling_pair seed 0, January 2017",
    )
    tasks = {
        name: Task(replace(get_spec(name), dataset=ref, splits=SMALL_DOWNSCALING_SPLITS), root)
        for name in (
            "downscaling/synthetic-x4",
            "downscaling/synthetic-x4-europe",
            "downscaling/synthetic-x4-out-of-region",
        )
    }
    first = tasks["downscaling/synthetic-x4"]
    if not first.is_prepared():
        import dask

        from climbench.data.synthetic import downscaling_pair

        out = root / "sources" / "downscaling-2017-01"
        coarse, fine = downscaling_pair(
            (2017, 2017), seed=0, variables=["2m_temperature", "total_precipitation_6hr"]
        )
        month = slice("2017-01-01", "2017-01-31")
        dask.compute(
            coarse.sel(time=month).to_zarr(out / "coarse.zarr", mode="w", compute=False),
            fine.sel(time=month).to_zarr(out / "fine.zarr", mode="w", compute=False),
        )
        first.prepare_data([out / "coarse.zarr", out / "fine.zarr"])
    return tasks


def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per session for the small tasks' data (shared by the test modules)."""
    return tmp_path_factory.getbasetemp() / "small-tasks"
