"""Checks a predictions file against its task before any score is computed.

A predictions file is refused, with the file, variable, expectation and finding named,
when: it was made for another task, version or protocol digest; a target field is missing;
its dims, grid, lead times or init times do not match the task; times are duplicated; or
units differ from the truth's. NaN and infinite values are found during the scoring pass
(the one read of the data) and refused then. Descending latitudes are reordered (lossless);
extra init times beyond the protocol's are ignored and reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.units import normalise_unit
from climbench.errors import CoordinateError, SchemaError, TimeAxisError, UnitsError
from climbench.tasks.spec import Field


def check_task_attrs(pred: xr.Dataset, task, path: str) -> list[str]:
    """Refuse a file made for another task; return notes about what was not declared."""
    notes = []
    expected = task.attrs()
    for key, want in expected.items():
        have = pred.attrs.get(key)
        if have is None:
            notes.append(f"the file does not declare `{key}`; scored as {want}")
        elif str(have) != str(want):
            raise SchemaError(
                "predictions were made for another task protocol",
                path=path,
                variable=key,
                expected=str(want),
                found=str(have),
                hint="score against the task the file was made for (`--task NAME@VERSION`)",
            )
    return notes


def field_of(pred: xr.Dataset, f: Field, path: str) -> xr.DataArray:
    """The predictions of one target field (``variable`` with ``level``, or ``name``)."""
    if f.level is not None and f.variable in pred and "level" in pred[f.variable].dims:
        levels = pred[f.variable]["level"].values
        if not np.any(np.isclose(levels, f.level)):
            raise SchemaError(
                "a target level is missing from the predictions",
                path=path,
                variable=f.variable,
                expected=f"level {f.level:g}",
                found=f"levels {list(map(float, levels))}",
            )
        return pred[f.variable].sel(level=f.level, method="nearest", drop=True)
    if f.name in pred:
        return pred[f.name]
    if f.level is None and f.variable in pred:
        return pred[f.variable]
    raise SchemaError(
        "a target field is missing from the predictions",
        path=path,
        variable=f.name,
        expected=f"`{f.variable}` with a `level` dim, or `{f.name}`",
        found="variables " + ", ".join(map(str, pred.data_vars)),
    )


def check_dims(da: xr.DataArray, sample_dims: tuple[str, ...], path: str, name: str) -> None:
    allowed = {*sample_dims, "member", "lat", "lon"}
    extra = set(map(str, da.dims)) - allowed
    missing = {*sample_dims, "lat", "lon"} - set(map(str, da.dims))
    if extra or missing:
        raise SchemaError(
            "predictions have the wrong dimensions",
            path=path,
            variable=name,
            expected=f"({', '.join(sample_dims)}, [member], lat, lon)",
            found=f"dims {tuple(map(str, da.dims))}",
        )


def check_grid(pred: xr.Dataset, lat: np.ndarray, lon: np.ndarray, path: str) -> xr.Dataset:
    """Match the task grid (lat may be descending: reordered); refuse anything else."""
    for name in ("lat", "lon"):
        if name not in pred.coords:
            raise CoordinateError(
                "predictions lack a grid coordinate",
                path=path,
                variable=name,
                expected=f"`{name}` as in the task grid",
                found="none",
            )
    if pred["lat"].size > 1 and pred["lat"].values[0] > pred["lat"].values[-1]:
        pred = pred.isel(lat=slice(None, None, -1))
    for name, want in (("lat", lat), ("lon", lon)):
        have = np.asarray(pred[name].values, dtype=float)
        if have.shape != want.shape or not np.allclose(have, want, atol=1e-6):
            raise CoordinateError(
                "predictions are on another grid",
                path=path,
                variable=name,
                expected=f"{want.size} values {want[0]:g} .. {want[-1]:g}",
                found=f"{have.size} values {have[0]:g} .. {have[-1]:g}" if have.size else "none",
                hint="regrid with climbench.data.regrid.regrid(ds, task grid) first",
            )
    return pred.assign_coords(lat=lat, lon=lon)


def check_times(pred: xr.Dataset, dim: str, wanted: pd.Index, path: str) -> xr.Dataset:
    """All protocol times present, none duplicated; extra ones dropped."""
    if dim not in pred.coords:
        raise TimeAxisError(
            "predictions lack a time coordinate",
            path=path,
            variable=dim,
            expected=f"`{dim}`",
            found="dims " + ", ".join(map(str, pred.dims)),
        )
    values = pred[dim].values
    if dim == "lead_time" and not np.issubdtype(values.dtype, np.timedelta64):
        raise TimeAxisError(
            "lead times must be time deltas",
            path=path,
            variable=dim,
            expected="timedelta64 (e.g. 6 hours)",
            found=str(values.dtype),
            hint="pd.to_timedelta(hours, unit='h')",
        )
    have = pd.Index(values)
    if have.has_duplicates:
        dup = have[have.duplicated()][0]
        raise TimeAxisError(
            "duplicate times in the predictions",
            path=path,
            variable=dim,
            expected="each time once",
            found=f"{dup} more than once",
        )
    missing = wanted.difference(have)
    if len(missing):
        raise TimeAxisError(
            "predictions lack times of the protocol",
            path=path,
            variable=dim,
            expected=f"{len(wanted)} times {wanted[0]} .. {wanted[-1]}",
            found=f"{len(missing)} missing, first {missing[0]}",
        )
    return (
        pred.sel({dim: wanted.values})
        if len(have) != len(wanted) or not have.equals(wanted)
        else pred
    )


def check_units(da: xr.DataArray, truth_units: str, path: str, name: str) -> None:
    units = da.attrs.get("units")
    if units is None or not truth_units:
        return
    if normalise_unit(str(units)) != normalise_unit(truth_units):
        raise UnitsError(
            "predictions are in other units than the truth",
            path=path,
            variable=name,
            expected=truth_units,
            found=str(units),
            hint="convert (e.g. with climbench.data.units) before scoring",
        )
