"""Checks a predictions file against its task before any score is computed.

A predictions file is refused, with the file, variable, expectation and finding named,
when: it was made for another task, version or protocol digest; a target field is missing
or given twice (``geopotential`` at level 500 *and* ``geopotential_500``); its dims, grid,
lead times or init times do not match the task; times are duplicated or not a dimension;
units are missing or differ from the truth's (equivalent spellings such as ``m/s`` and
``m s-1`` are the same unit); a Zarr store lacks chunks. NaN, infinite and physically
implausible values (outside :data:`climbench.data.vocabulary.PLAUSIBLE_RANGES`) are found
during the scoring pass (the one read of the data) and refused then, with the value and
where it is. Descending latitudes are reordered (lossless); extra init times beyond the
protocol's are ignored and reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.units import conversion, normalise_unit
from climbench.data.vocabulary import plausible_range, resolve
from climbench.errors import (
    ConfigError,
    CoordinateError,
    DataValueError,
    SchemaError,
    TimeAxisError,
    UnitsError,
)
from climbench.tasks.spec import Field

#: longest model name accepted (it names table columns, files and leaderboard entries)
MAX_MODEL_NAME = 100


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
    stacked = f.level is not None and f.variable in pred and "level" in pred[f.variable].dims
    if stacked and f.name in pred and np.any(np.isclose(pred[f.variable]["level"], f.level)):
        raise SchemaError(
            "a target field is given twice",
            path=path,
            variable=f.name,
            expected=f"either `{f.variable}` at level {f.level:g} or `{f.name}`",
            found="both",
            hint=f"drop one of them (ds.drop_vars('{f.name}') or the level)",
        )
    if stacked:
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
    if dim not in pred.coords or dim not in pred.dims:
        raise TimeAxisError(
            f"predictions lack the `{dim}` coordinate"
            if dim not in pred.coords
            else "a sample coordinate is not a dimension",
            path=path,
            variable=dim,
            expected=f"a `{dim}` dimension with a coordinate",
            found=("a scalar coordinate; " if dim in pred.coords else "")
            + "dims "
            + (", ".join(map(str, pred.dims)) or "none"),
            hint=f"the task's template (task.template()) shows the `{dim}` values expected",
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
    """The field's ``units`` attribute must name the truth's unit (any equivalent spelling);
    a field without one is refused, as its scale cannot be known (mm scored as m)."""
    if not truth_units:
        return
    units = da.attrs.get("units")
    if units is None:
        raise UnitsError(
            "predictions do not declare their units",
            path=path,
            variable=name,
            expected=f"a `units` attribute of {truth_units!r}",
            found="no `units` attribute",
            hint=f"set ds[{name!r}].attrs['units'] = {truth_units!r} once the values are "
            "in that unit",
        )
    if not same_unit(str(units), truth_units, name):
        raise UnitsError(
            "predictions are in other units than the truth",
            path=path,
            variable=name,
            expected=truth_units,
            found=str(units),
            hint="convert (e.g. with climbench.data.units) before scoring",
        )


def same_unit(a: str, b: str, variable: str) -> bool:
    """Whether unit strings ``a`` and ``b`` are the same unit for ``variable``: the same
    spelling up to case, spaces and exponent marks (``m**2 s**-2`` = ``m2 s-2``), or both
    the identity conversion of the variable's quantity (``m/s`` = ``m s-1``)."""
    if normalise_unit(a) == normalise_unit(b):
        return True
    found = resolve(variable)
    if found is None:
        return False
    ca, cb = conversion(a, found[0].quantity), conversion(b, found[0].quantity)
    return ca is not None and ca == cb


def check_model_name(name: str, path: str) -> str:
    """A model name fit for tables, file names and leaderboard entries."""
    clean = str(name).strip()
    bad = [c for c in clean if not c.isprintable()]
    if not clean or len(clean) > MAX_MODEL_NAME or bad:
        raise ConfigError(
            "unusable model name",
            path=path,
            variable="model",
            expected=f"1 to {MAX_MODEL_NAME} printable characters",
            found=f"{len(clean)} characters"
            + (f" with control characters {bad[:3]!r}" if bad else "")
            + (f": {clean[:40]!r}..." if len(clean) > 40 else f": {clean!r}"),
            hint="pass --model NAME (model=) or set the file's `model` attribute",
        )
    return clean


#: a prediction may leave its variable's physical range by this fraction of the range's
#: width on either side: a poor model (negative rain from a regression) is scored as
#: poor, not refused
PHYSICAL_MARGIN = 0.5
#: predictions of fields without an absolute range (anomalies, names outside the
#: vocabulary) may stray this many spans of the truth's values beyond them
TRUTH_SPANS = 10.0


def plausible_bounds(variable: str, truth: np.ndarray) -> tuple[float, float, str]:
    """``(low, high, why)``: the values a prediction of ``variable`` may take.

    The variable's physical range (:data:`~climbench.data.vocabulary.PLAUSIBLE_RANGES`)
    widened by :data:`PHYSICAL_MARGIN` of its width, when the truth lies inside it;
    otherwise (the truth is an anomaly or change, as in ClimateBench, or the name is not
    in the vocabulary) the truth's own range widened by :data:`TRUTH_SPANS` times its
    span. Either catches a corrupt value (1e30) and a value in kelvin scored as degC.
    """
    t_low, t_high = float(np.nanmin(truth)), float(np.nanmax(truth))
    physical = plausible_range(variable)
    if physical is not None and physical[0] <= t_low and t_high <= physical[1]:
        margin = PHYSICAL_MARGIN * (physical[1] - physical[0])
        return (
            physical[0] - margin,
            physical[1] + margin,
            f"the physical range of {variable}, {physical[0]:g} .. {physical[1]:g}, "
            f"widened by {PHYSICAL_MARGIN:g} of its width",
        )
    span = max(t_high - t_low, abs(t_low), abs(t_high), np.finfo(np.float32).tiny)
    return (
        t_low - TRUTH_SPANS * span,
        t_high + TRUTH_SPANS * span,
        f"the truth's range {t_low:g} .. {t_high:g} widened {TRUTH_SPANS:g} times its span",
    )


def check_plausible(
    name: str, value: float, bounds: tuple[float, float, str], path: str, where: str = ""
) -> None:
    """Refuse a prediction ``value`` of field ``name`` outside ``bounds``
    (:func:`plausible_bounds`); NaN is left to the finiteness check."""
    low, high, why = bounds
    if np.isfinite(value) and not low <= value <= high:
        raise DataValueError(
            "predictions hold an implausible value",
            path=path,
            variable=name,
            expected=f"values in [{low:.4g}, {high:.4g}] ({why})",
            found=f"{value:g}" + (f" {where}" if where else ""),
            hint="check the model's output scaling and units; a corrupt or overflowing "
            "value cannot be scored",
        )
