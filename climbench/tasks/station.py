"""Station-forecasting tasks (Weather2K style): data, init times, splits and truth.

A station task forecasts its target variables at every station ``lead_steps`` ahead from
the stations' own history (:class:`~climbench.tasks.spec.StationProtocol`). Its data are
one store under ``Task.data_dir``: ``stations.zarr``, the canonical station dataset
(:mod:`climbench.data.stations`: dims ``time, station``, NaN where not observed) of the
target variables, built from the synthetic stations
(:func:`climbench.data.synthetic.stations.station_weather`, dataset kind
``synthetic-stations``) or from station files (kind ``files``: CF timeSeries files such as
KNMI's, single-station files, CSV tables), joined along time.

Predictions layout: dims ``init_time, lead_time, station`` (``valid_time = init_time +
lead_time``), one variable per target, with the target's units. Init times of the test
split: every ``init_every_steps``-th step from the split's first step, inside the split.
``load_split("test")`` returns the observations at ``init + history_steps`` of every test
init (inputs only); the scorer alone reads the truth, the observations at the valid times.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import harmless_warnings_silenced
from climbench.data.remote import sha256_file
from climbench.errors import DataFileError, StoreError, VariableNotFoundError
from climbench.io import OUTPUT_MARKER, atomic_directory
from climbench.tasks.coverage import require_times
from climbench.tasks.spec import TaskSpec

STORE = "stations.zarr"


def is_prepared(task) -> bool:
    return (task.data_dir / STORE / OUTPUT_MARKER).is_file()


def _source_dataset(task, sources: Sequence[str | os.PathLike] | None) -> xr.Dataset:
    """The task's observations: synthetic, or the source files joined along time."""
    spec = task.spec
    if spec.dataset.kind == "synthetic-stations":
        from climbench.data.synthetic.stations import station_weather

        p = dict(spec.dataset.params)
        return station_weather(tuple(p.pop("years")), **p)
    from climbench.data.open import open_dataset

    paths = _check_pinned(task, sources or [])
    parts = [open_dataset(p, **dict(spec.dataset.params.get("open", {}))) for p in paths]
    names = [f.variable for f in spec.targets]
    for path, ds in zip(paths, parts, strict=True):
        absent = [n for n in names if n not in ds.data_vars]
        if absent or "station" not in ds.dims:
            raise VariableNotFoundError(
                "a station source lacks the task's targets",
                path=path,
                variable=", ".join(absent) or None,
                expected=f"station data (dim 'station') with {names}",
                found=f"dims {tuple(ds.dims)}, variables {sorted(map(str, ds.data_vars))[:12]}",
            )
    ds = xr.concat([d[names] for d in parts], "time", join="outer", combine_attrs="drop")
    return ds.sortby("time")


def _check_pinned(task, sources: Sequence[str | os.PathLike]) -> list[str]:
    """Verify the sources pinned by the spec (``params.sha256``: file name -> sha256): each
    pinned file must be among them, with its digest (other files are a different task)."""
    pinned = dict(task.spec.dataset.params.get("sha256", {}))
    by_name = {Path(s).name: Path(s) for s in sources}
    for name, expected in pinned.items():
        path = by_name.get(name)
        found = "not among the sources" if path is None else f"sha256 {sha256_file(path)}"
        if found != f"sha256 {expected}":
            raise DataFileError(
                "a source file does not match the task's dataset",
                path=path or name,
                variable=task.name,
                expected=f"{name} with sha256 {expected} ({task.spec.dataset.description})",
                found=found,
            )
    return [os.fspath(s) for s in sources]


def build(task, sources, *, overwrite: bool, progress: bool) -> None:
    """Write ``stations.zarr`` (the target variables, float32, one chunk per 1024 times)."""
    spec = task.spec
    ds = _source_dataset(task, sources)
    ds = ds[[f.variable for f in spec.targets]].astype(np.float32)
    if pd.DatetimeIndex(ds["time"].values).has_duplicates:
        raise StoreError(
            "station sources repeat a time",
            variable="time",
            expected="each observation time in one source",
            found="the same time in several sources",
        )
    task.data_dir.mkdir(parents=True, exist_ok=True)
    # variable-length strings: Zarr 3 has no specification of fixed-length ones
    ds = ds.assign_coords(
        {
            c: (c if c == "station" else "station", ds[c].values.astype(str).astype(object))
            for c in ("station", "station_name")
        }
    )
    encoding = {
        v: {"chunks": (min(1024, ds.sizes["time"]), ds.sizes["station"])} for v in ds.data_vars
    }
    with (
        atomic_directory(task.data_dir / STORE, "station-store", overwrite=True) as tmp,
        harmless_warnings_silenced(),
    ):
        ds.to_zarr(tmp, encoding=encoding, consolidated=True)


def open_store(task) -> xr.Dataset:
    """The task's station observations (lazy)."""
    with harmless_warnings_silenced():
        ds = xr.open_zarr(task.data_dir / STORE, consolidated=True)
    # Zarr reads variable-length strings as numpy's StringDType: back to plain strings
    return ds.assign_coords(
        {
            c: (ds[c].dims, np.array(ds[c].values.tolist(), dtype=str), ds[c].attrs)
            for c in ("station", "station_name")
        }
    )


def step(spec: TaskSpec) -> pd.Timedelta:
    """The protocol's time step."""
    return pd.Timedelta(minutes=spec.station.time_step_minutes)


def init_times(spec: TaskSpec, split: str) -> pd.DatetimeIndex:
    """Every ``init_every_steps``-th step of ``split`` from its first step."""
    start, end = spec.splits[split].bounds()
    every = step(spec) * spec.station.init_every_steps
    return pd.DatetimeIndex(pd.date_range(start, end, freq=every), name="init_time")


def lead_times(spec: TaskSpec) -> pd.TimedeltaIndex:
    return pd.TimedeltaIndex([s * step(spec) for s in spec.station.lead_steps], name="lead_time")


def history_offsets(spec: TaskSpec) -> pd.TimedeltaIndex:
    return pd.TimedeltaIndex([s * step(spec) for s in spec.station.history_steps])


def load_split(task, split: str) -> xr.Dataset:
    """Train / validation: the observations of the split; test: the inputs only."""
    spec = task.spec
    ds = open_store(task)
    if split != "test":
        return ds.sel(time=spec.splits[split].slice())
    offsets = history_offsets(spec)
    needed = pd.DatetimeIndex(sorted({t + o for t in init_times(spec, "test") for o in offsets}))
    require_times(ds, needed, "the test inputs", task.data_dir / STORE, step(task.spec))
    return ds.sel(time=needed).assign_attrs(split="test", contents="inputs only")


def valid_times(spec: TaskSpec) -> pd.DatetimeIndex:
    """Every step from the first test init to the last init plus the longest lead."""
    inits = init_times(spec, "test")
    return pd.date_range(inits[0], inits[-1] + lead_times(spec).max(), freq=step(spec))


def truth(task) -> xr.Dataset:
    """The observed targets at every step the test inits verify at (NaN: not observed)."""
    spec = task.spec
    ds = open_store(task)
    needed = valid_times(spec)
    require_times(ds, needed, "verifying the test inits", task.data_dir / STORE, step(task.spec))
    return xr.Dataset({f.name: ds[f.variable].sel(time=needed) for f in spec.targets})


def station_coordinates(task) -> dict[str, xr.DataArray]:
    """The store's station coordinates (id, lat, lon, elevation, name)."""
    ds = open_store(task)
    return {c: ds[c] for c in ("station", "lat", "lon", "elevation", "station_name")}


def template(task) -> xr.Dataset:
    """Coordinates a predictions file must have (no data variables)."""
    coords = {
        "init_time": init_times(task.spec, "test").values,
        "lead_time": lead_times(task.spec).values,
        **station_coordinates(task),
    }
    return xr.Dataset(coords=coords, attrs=task.attrs())


def prediction_dataset(task, arrays: dict[str, np.ndarray]) -> xr.Dataset:
    """Per-target ``(init, lead, station)`` arrays in the predictions layout, with units."""
    ds = open_store(task)
    out = {
        f.name: xr.DataArray(
            np.asarray(arrays[f.name], dtype=np.float32),
            dims=("init_time", "lead_time", "station"),
            attrs={"units": ds[f.variable].attrs.get("units", "")},
        )
        for f in task.spec.targets
    }
    coords = template(task).coords
    # variable-length strings when written: Zarr 3 has no specification of fixed-length ones
    strings = {
        c: (coords[c].dims, coords[c].values.astype(object)) for c in ("station", "station_name")
    }
    return xr.Dataset(out, coords=coords, attrs=task.attrs()).assign_coords(strings)
