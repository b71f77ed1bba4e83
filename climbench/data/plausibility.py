"""Plausible values: each canonical variable's values checked against its physical range.

Used where the data are read anyway (``open_dataset(check_values=True)``, ``prepare``):
a unit label that is wrong (kelvin values labelled degC give ~550 K; mm labelled m give
metres of rain) or a corrupt value (1e30) is refused with the value, where it is, the range
and the override, instead of becoming a silently wrong prepared store. The ranges are
:data:`climbench.data.vocabulary.PLAUSIBLE_RANGES`; ``valid_ranges`` replaces or adds one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import xarray as xr

from climbench.data import vocabulary
from climbench.errors import (
    DataValueError,
)


def plausible_ranges(
    ds: xr.Dataset, valid_ranges: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, tuple[float, float]]:
    """``{variable: (low, high)}`` to check each numeric variable of ``ds`` against.

    ``valid_ranges`` (keyed by canonical name, alias or source name, in canonical units)
    replaces :data:`~climbench.data.vocabulary.PLAUSIBLE_RANGES` or adds a range for a
    variable outside the vocabulary; other variables outside it are not checked.
    """
    given: dict[str, tuple[float, float]] = {}
    for key, bounds in (valid_ranges or {}).items():
        checked = _range_bounds(key, bounds)
        given[key] = given[vocabulary.canonical_name(key)] = checked
    out = {}
    for name, da in ds.data_vars.items():
        name = str(name)
        source_name = str(da.attrs.get("climbench_source_name", name))
        bounds = given.get(name) or given.get(source_name) or vocabulary.plausible_range(name)
        if bounds is not None and np.issubdtype(da.dtype, np.number):
            out[name] = bounds
    return out


def _range_bounds(name: str, bounds: object) -> tuple[float, float]:
    try:
        low, high = map(float, bounds)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        low = high = float("nan")
    if not low < high:
        raise DataValueError(
            "bad valid range",
            variable=name,
            expected="(low, high) with low < high, in the variable's canonical unit",
            found=repr(bounds),
            hint="e.g. valid_ranges={'2m_temperature': (150, 350)} (CLI --range VAR=LO:HI)",
        )
    return low, high


def valid_ranges_from_text(pairs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["2m_temperature=150:350"]`` (the CLI's repeatable ``--range``) as
    ``{"2m_temperature": (150.0, 350.0)}``."""
    out = {}
    for pair in pairs:
        name, _, bounds = pair.partition("=")
        low, sep, high = bounds.partition(":")
        try:
            if not (name.strip() and sep):
                raise ValueError(pair)
            out[name.strip()] = _range_bounds(name.strip(), (float(low), float(high)))
        except ValueError:
            raise DataValueError(
                "bad --range value",
                expected="VARIABLE=LO:HI with LO < HI, e.g. 2m_temperature=150:350",
                found=repr(pair),
            ) from None
    return out


def value_extremes(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Minimum and maximum of ``da`` per time step and level, NaN skipped (lazy for dask).

    Small arrays (one value per step and level) that give both the extremes and where
    they are, computed in the same pass as any other statistics of ``da``.
    """
    over = [d for d in da.dims if d not in ("time", "level")]
    return da.min(over), da.max(over)


@contextmanager
def all_nan_warnings_silenced() -> Iterator[None]:
    """A time step that is entirely NaN (a masked field) is not a problem for extremes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN (slice|axis) encountered")
        yield


def check_value_ranges(
    ds: xr.Dataset,
    extremes: Mapping[str, tuple[xr.DataArray, xr.DataArray]],
    ranges: Mapping[str, tuple[float, float]],
    name: str,
) -> None:
    """Raise :class:`DataValueError` for the first variable whose computed ``extremes``
    (:func:`value_extremes`) leave its range; the message gives the minimum and/or maximum
    outside it, where they are, and what to do."""
    for vname, (lows, highs) in extremes.items():
        low, high = ranges[vname]
        units = ds[vname].attrs.get("units", "")
        outside = []
        for kind, values in (("minimum", lows), ("maximum", highs)):
            found = _extreme(values, kind)
            if found is not None and not low <= found[0] <= high:
                value, where = found
                text = f"{kind} {value:.6g} {units}".rstrip()
                outside.append(f"{text} at {where}" if where else text)
        if outside:
            raise _out_of_range(ds[vname], "; ".join(outside), low, high, name)


def _extreme(values: xr.DataArray, kind: str) -> tuple[float, str] | None:
    """The minimum or maximum of computed extremes and where it is (None if all NaN: NaN
    is masked data, and an all-NaN variable is refused on its own)."""
    array = np.asarray(values.values, dtype=float)
    if array.size == 0 or np.isnan(array).all():
        return None
    at = np.unravel_index(
        np.nanargmin(array) if kind == "minimum" else np.nanargmax(array), array.shape
    )
    return float(array[at]), _where(values, at)


def _where(values: xr.DataArray, at: tuple[int, ...]) -> str:
    """``time 2000-01-01T06:00:00 (step 1), level 500 hPa`` for an index into extremes."""
    parts = []
    for dim, i in zip(values.dims, at, strict=True):
        coord = values[dim].values[i] if dim in values.coords else i
        if isinstance(coord, np.datetime64):
            coord = np.datetime_as_string(coord, unit="s")
        parts.append(f"{dim} {coord}" + {"time": f" (step {i})", "level": " hPa"}.get(dim, ""))
    return ", ".join(parts)


def _out_of_range(
    da: xr.DataArray, found: str, low: float, high: float, name: str
) -> DataValueError:
    vname = str(da.name)
    units = da.attrs.get("units", "")
    source_name = da.attrs.get("climbench_source_name", vname)
    label = da.attrs.get("climbench_original_units", units)
    if label != units:
        found += f" (converted from '{label}')"
    if source_name != vname:
        found += f" in source variable '{source_name}'"
    # a label that was converted may be wrong for values already in the canonical unit
    example = units if label != units and units else "UNIT"
    return DataValueError(
        "values outside the plausible range",
        path=name,
        variable=vname,
        expected=f"values within [{low:g}, {high:g}] {units}".rstrip(),
        found=found,
        hint=f"if the units attribute ('{label}') is wrong pass the values' true unit, "
        f"units={{'{source_name}': '{example}'}} (CLI --units {source_name}={example}); "
        f"if the value is real, widen the range with valid_ranges={{'{vname}': (lo, hi)}} "
        f"(CLI --range {vname}=LO:HI)",
    )
