"""Hindcasts and forecasts with initialisations x leads (x members), whatever their names.

Example: the CESM Indian Ocean Dipole hindcasts of Song et al. (2022), JGR Oceans 127,
e2021JC018210 (``time`` 552 inits as decimal years x ``case`` 20 members x ``lead`` 12
months; no attributes at all).

The layouts met in the wild (``init``/``lead``, ``time``/``step``, ``reftime``/``leadtime``,
``S``/``L``/``M`` of the IRI data library) become the forecast layout of DESIGN.md:
``init_time, lead_time, [member], ...`` with a ``valid_time (init_time, lead_time)``
coordinate. A member dim (``case``, ``member_id``, ``number``, ``realization``,
``ensemble``, ``M``) becomes ``member`` with its values kept.

Leads must be certain: a ``timedelta`` coordinate, or numbers with ``units`` of hours, days,
months or years (``units={"lead": "months"}`` supplies a missing one). Leads in months or
years stay whole months (``lead_time`` in months, ``units = "months"``), because a month is
no fixed duration; ``valid_time`` is then computed in calendar months. Inits must be dates,
or decimal years on month centres (:func:`climbench.data.times.decimal_year_months`).
Without lat/lon the dataset is an index (``climbench_layout = "index"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.sources.base import SourceAdapter
from climbench.data.times import add_months, decimal_year_months
from climbench.errors import TimeAxisError

INIT_NAMES = ("init_time", "init", "reftime", "reference_time", "forecast_reference_time", "S")
LEAD_NAMES = ("lead_time", "lead", "leadtime", "step", "forecast_period", "L")
MEMBER_NAMES = ("member", "case", "member_id", "number", "realization", "ensemble", "M")
#: lead units -> (kind, factor): months counted whole, the others as timedeltas
LEAD_UNITS = {
    "month": ("months", 1),
    "months": ("months", 1),
    "year": ("months", 12),
    "years": ("months", 12),
    "hour": ("h", 1),
    "hours": ("h", 1),
    "h": ("h", 1),
    "day": ("D", 1),
    "days": ("D", 1),
}


def _find(raw: xr.Dataset, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in raw.dims), None)


def _init_dim(raw: xr.Dataset) -> str | None:
    found = _find(raw, INIT_NAMES)
    # "time" is the init only when a lead dim is beside it
    return found or ("time" if "time" in raw.dims and _find(raw, LEAD_NAMES) else None)


class HindcastAdapter(SourceAdapter):
    name = "hindcast"
    description = "hindcasts / forecasts: init x lead (x member) in any naming"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        return _init_dim(raw) is not None and _find(raw, LEAD_NAMES) is not None

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        init, lead = _init_dim(raw), _find(raw, LEAD_NAMES)
        member = _find(raw, MEMBER_NAMES)
        inits = _init_times(raw, init, path)
        lead_values, lead_kind = _leads(raw, lead, path)
        ds = raw.drop_vars([c for c in ("valid_time",) if c in raw.coords])
        ds = ds.drop_vars([init, lead]).rename({init: "init_time", lead: "lead_time"})
        if member is not None and member != "member":
            ds = ds.rename({member: "member"})
        if lead_kind == "months":
            valid = add_months(inits, lead_values)
            lead_coord = ("lead_time", lead_values, {"units": "months", "long_name": "lead"})
        else:
            valid = inits[:, None] + lead_values[None, :]
            lead_coord = ("lead_time", lead_values, {"long_name": "lead"})
        ds = ds.assign_coords(
            init_time=("init_time", inits),
            lead_time=lead_coord,
            valid_time=(("init_time", "lead_time"), valid),
        )
        front = ["init_time", "lead_time"] + (["member"] if "member" in ds.dims else [])
        ds = ds.transpose(*front, ...)
        if not ({"lat", "latitude", "lon", "longitude"} & set(map(str, ds.variables))):
            ds.attrs["climbench_layout"] = "index"
        return ds


def _init_times(raw: xr.Dataset, dim: str, path: str) -> np.ndarray:
    values = raw[dim].values if dim in raw.variables else None
    if values is not None and np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[ns]")
    if values is not None and values.dtype.kind == "O" and hasattr(values.flat[0], "calendar"):
        return values  # cftime inits (a model calendar) are kept
    if values is not None and values.dtype.kind in "fiu" and 1000 <= np.min(values) <= 3000:
        return decimal_year_months(values, path, dim)
    raise TimeAxisError(
        "initialisation times are not dates",
        path=path,
        variable=dim,
        expected="dates, or decimal years on month centres",
        found=f"{values[:3] if values is not None else 'no coordinate'} "
        f"(units {raw[dim].attrs.get('units') if dim in raw.variables else None!r})",
        hint=f"pass times=[...] (one datetime per '{dim}' step) to open_dataset",
    )


def _leads(raw: xr.Dataset, dim: str, path: str) -> tuple[np.ndarray, str]:
    values = raw[dim].values if dim in raw.variables else np.arange(raw.sizes[dim])
    if np.issubdtype(values.dtype, np.timedelta64):
        return values.astype("timedelta64[ns]"), "timedelta"
    unit = str(raw[dim].attrs.get("units", "")).strip().lower() if dim in raw.variables else ""
    if unit not in LEAD_UNITS:
        raise TimeAxisError(
            "lead times without a known unit: the valid times are not certain",
            path=path,
            variable=dim,
            expected=f"a timedelta coordinate or units in {sorted(set(LEAD_UNITS))}",
            found=f"values {values[:4].tolist()}... with units {unit or None!r}",
            hint=f"pass units={{'{dim}': 'months'}} (or 'days', 'hours', 'years') to "
            "open_dataset (CLI: --units " + f"{dim}=months)",
        )
    kind, factor = LEAD_UNITS[unit]
    if kind == "months":
        months = np.asarray(values, dtype=float) * factor
        if not np.allclose(months, np.round(months)):
            raise TimeAxisError(
                "leads are not whole months",
                path=path,
                variable=dim,
                expected="whole months",
                found=f"{months[:4].tolist()}",
                hint="give the leads in days or hours",
            )
        return np.round(months).astype(np.int64), "months"
    return pd.to_timedelta(np.asarray(values, dtype=float) * factor, unit=kind).to_numpy(), kind
