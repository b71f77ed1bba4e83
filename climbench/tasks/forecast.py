"""Forecasting tasks: data, init times, splits and truth.

Data layout under ``Task.data_dir``: ``prepared.zarr`` (every input, target and constant on
the task grid, statistics over the training split) and ``climatology.zarr`` (the smoothed
day-of-year x hour climatology of the targets over the training split).

Init times of a split: ``init_hours`` UTC on every ``init_every_days``-th day from the
split's first day, inside the split. A model sees the inputs at ``init + history_hours``;
the scorer verifies at ``init + lead_hours``, which may run past the split's end (the data
extend beyond the test period for that reason, as in WeatherBench 2).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import harmless_warnings_silenced
from climbench.data.prepare import MANIFEST, load_prepared, open_prepared, prepare
from climbench.data.remote import sha256_file
from climbench.errors import DataFileError
from climbench.tasks.climatology import compute_climatology, write_climatology
from climbench.tasks.coverage import require_times
from climbench.tasks.spec import Field, TaskSpec

PREPARED = "prepared.zarr"
CLIMATOLOGY = "climatology.zarr"


def is_prepared(task) -> bool:
    d = task.data_dir
    return (d / PREPARED / MANIFEST).is_file() and (d / CLIMATOLOGY / "zarr.json").is_file()


def needed_variables(spec: TaskSpec) -> tuple[list[str], list[float]]:
    """Variables (inputs, targets, constants) and pressure levels the task reads."""
    fields = (*spec.inputs, *spec.targets)
    variables = list(dict.fromkeys([f.variable for f in fields] + list(spec.constants)))
    levels = sorted({f.level for f in fields if f.level is not None})
    return variables, levels


def _synthetic_source(task, progress: bool) -> Path:
    from climbench.data.synthetic import write_weather

    p = task.spec.dataset.params
    first, last = p["years"]
    source = (
        task.data_root / "sources" / f"{task.spec.dataset.id}-{first}-{last}-seed{p['seed']}.zarr"
    )
    if not (source / "zarr.json").is_file():
        write_weather(
            source,
            grid=p["grid"],
            years=(first, last),
            seed=p["seed"],
            progress=progress,
            overwrite=True,
        )
    return source


def _check_sources(task, sources: Sequence[str | os.PathLike]) -> list[str]:
    """Verify a pinned single-file dataset by sha256 (a different file is a different task)."""
    expected = task.spec.dataset.params.get("sha256")
    if expected and len(sources) == 1 and Path(sources[0]).is_file():
        found = sha256_file(sources[0])
        if found != expected:
            raise DataFileError(
                "source file does not match the task's dataset",
                path=sources[0],
                variable=task.name,
                expected=f"sha256 {expected} ({task.spec.dataset.description})",
                found=f"sha256 {found}",
            )
    return [os.fspath(s) for s in sources]


def build(task, sources, *, overwrite: bool, progress: bool) -> None:
    spec = task.spec
    if spec.dataset.kind == "synthetic-weather":
        source = [_synthetic_source(task, progress)]
    else:
        source = _check_sources(task, sources)
    variables, levels = needed_variables(spec)
    task.data_dir.mkdir(parents=True, exist_ok=True)
    train = spec.splits["train"]
    store = prepare(
        source if len(source) > 1 else source[0],
        task.data_dir / PREPARED,
        grid=None if spec.grid == "source" else spec.grid,
        variables=variables,
        levels=levels or None,
        stats_period=(train.start, train.end),
        overwrite=True,
        progress=progress,
    )
    # one variable at a time, read with the fast shard reader (the training split only)
    parts = []
    for variable in dict.fromkeys(f.variable for f in spec.targets):
        fields = [f for f in spec.targets if f.variable == variable]
        data = load_prepared(store, [variable], (train.start, train.end))
        parts.append(compute_climatology(data, fields, train, spec.climatology_window_days))
    write_climatology(xr.merge(parts, combine_attrs="override"), task.data_dir / CLIMATOLOGY)


def training_values(task, name: str) -> tuple[np.ndarray, pd.DatetimeIndex, str]:
    """The training split of a target or derived field (:mod:`climbench.tasks.derived`) as
    (time, ncell) float32 values, their times and units: what training-split parameters
    of the registered statistics are fitted on."""
    from climbench.tasks.derived import DERIVED_FIELDS

    derived = DERIVED_FIELDS.get(name)
    source = derived.source if derived else name
    target = next(f for f in task.spec.targets if f.name == source)
    train = task.spec.splits["train"]
    data = load_prepared(task.data_dir / PREPARED, [target.variable], (train.start, train.end))
    da = field_array(data, target).transpose("time", "lat", "lon")
    values = np.ascontiguousarray(da.values, dtype=np.float32).reshape(da.sizes["time"], -1)
    if derived:
        values = derived.truth(values)[derived.steps - 1 :]
        return (
            values,
            pd.DatetimeIndex(da["time"].values[derived.steps - 1 :]),
            da.attrs.get("units", ""),
        )
    return values, pd.DatetimeIndex(da["time"].values), da.attrs.get("units", "")


def open_store(task, time_range: tuple[object, object] | None = None) -> xr.Dataset:
    """The task's prepared store, lazily; over ``time_range`` (inclusive) only, when given
    (see :func:`~climbench.data.prepare.open_prepared`)."""
    return open_prepared(task.data_dir / PREPARED, time_range)


def climatology(task) -> xr.Dataset:
    """The training-split climatology of the targets (dayofyear, hour, lat, lon)."""
    with harmless_warnings_silenced():
        return xr.open_zarr(task.data_dir / CLIMATOLOGY, consolidated=True)


def init_times(spec: TaskSpec, split: str) -> pd.DatetimeIndex:
    """The protocol's init times in ``split`` (see the module docstring)."""
    start, end = spec.splits[split].bounds()
    proto = spec.forecast
    days = pd.date_range(start.normalize(), end, freq=f"{proto.init_every_days}D")
    times = sorted(d + pd.Timedelta(hours=h) for d in days for h in proto.init_hours)
    return pd.DatetimeIndex([t for t in times if start <= t <= end], name="init_time")


def lead_times(spec: TaskSpec) -> pd.TimedeltaIndex:
    return pd.TimedeltaIndex(
        [pd.Timedelta(hours=h) for h in spec.forecast.lead_hours], name="lead_time"
    )


def field_array(ds: xr.Dataset, f: Field) -> xr.DataArray:
    """One field of a canonical dataset (a level selected, the level coord dropped)."""
    da = ds[f.variable]
    return da.sel(level=f.level, drop=True) if f.level is not None else da


def load_split(task, split: str) -> xr.Dataset:
    spec = task.spec
    ds = open_store(task)
    if split != "test":
        return ds.sel(time=spec.splits[split].slice())
    inits = init_times(spec, "test")
    offsets = pd.to_timedelta(spec.forecast.history_hours, unit="h")
    needed = pd.DatetimeIndex(sorted({t + o for t in inits for o in offsets}))
    require_times(ds, needed, "the test inputs", task.data_dir / PREPARED)
    names = list(dict.fromkeys([f.variable for f in spec.inputs] + list(spec.constants)))
    out = ds[names].sel(time=needed)
    if {f.level for f in spec.inputs} - {None}:
        out = out.sel(level=sorted({f.level for f in spec.inputs if f.level is not None}))
    return out.assign_attrs(split="test", contents="inputs only")


def truth(task) -> xr.Dataset:
    """Targets at every time from the first test init to the last init + the longest lead."""
    spec = task.spec
    inits = init_times(spec, "test")
    step = pd.Timedelta(hours=spec.forecast.time_step_hours)
    last = inits[-1] + pd.Timedelta(hours=max(spec.forecast.lead_hours))
    ds = open_store(task, time_range=(inits[0], last))
    needed = pd.date_range(inits[0], last, freq=step)
    require_times(ds, needed, "verifying the test inits", task.data_dir / PREPARED)
    return xr.Dataset({f.name: field_array(ds, f) for f in spec.targets})


def template(task) -> xr.Dataset:
    """Coordinates a predictions file must have (no data variables)."""
    spec = task.spec
    ds = open_store(task)
    return xr.Dataset(
        coords={
            "init_time": init_times(spec, "test").values,
            "lead_time": lead_times(spec).values,
            "lat": ds["lat"].values,
            "lon": ds["lon"].values,
        },
        attrs=task.attrs(),
    )


def prediction_dataset(task, arrays: dict[str, np.ndarray], inits, members: int = 0) -> xr.Dataset:
    """Wrap per-field arrays (init, lead, [member], lat, lon) in the predictions layout.

    Each target field is one variable named by :attr:`Field.name` (``geopotential_500``):
    the scorer also reads the WeatherBench 2 form (``geopotential`` with a ``level`` dim), but
    targets at different levels per variable would NaN-pad a shared ``level`` coordinate.
    Units and the task attributes are attached.
    """
    spec = task.spec
    store = open_store(task)
    coords = {
        "init_time": pd.DatetimeIndex(inits).values,
        "lead_time": lead_times(spec).values,
        "lat": store["lat"].values,
        "lon": store["lon"].values,
    }
    dims = ["init_time", "lead_time", *(["member"] if members else []), "lat", "lon"]
    out = {
        f.name: xr.DataArray(
            arrays[f.name], dims=dims, attrs={"units": store[f.variable].attrs.get("units", "")}
        )
        for f in spec.targets
    }
    return xr.Dataset(out, coords=coords, attrs=task.attrs())


def network_predictions(
    task, arrays: dict[str, np.ndarray], datamodule, members: int
) -> xr.Dataset:
    """A network's outputs (field -> (init, lead, [member], lat, lon)) as forecast
    predictions at the datamodule's prediction inits."""
    return prediction_dataset(task, arrays, datamodule.predict_inits, members=members)
