"""Times as text and back, in any calendar: datetime64 for the standard calendar, cftime
objects for the others (noleap, 360_day, year 0101: DESIGN.md keeps calendars as they are).

Used where times are stored as text (the tensor cache's sidecar) and read back, and by the
source adapters that build a time axis from other variables (WRF ``Times``, decimal years,
month leads).
"""

from __future__ import annotations

import re

import numpy as np

from climbench.errors import CoordinateError, TimeAxisError

_ISO = re.compile(r"^(-?\d+)-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?$")


def calendar_of(times: np.ndarray) -> str:
    """``standard`` for datetime64 times, else the cftime objects' calendar."""
    return "standard" if times.dtype.kind == "M" else times[0].calendar


def iso_strings(times: np.ndarray) -> list[str]:
    """The times as ISO strings (seconds), in their own calendar."""
    if times.dtype.kind == "M":
        return np.datetime_as_string(times.astype("datetime64[s]"), unit="s").tolist()
    return [t.isoformat() for t in times]


def parse_time(text: str, calendar: str) -> np.datetime64 | object:
    """An ISO time (``2016-01-01``, ``2016-01-01T06:00:00``) in ``calendar``."""
    if calendar == "standard":
        return np.datetime64(text, "ns")
    import cftime

    match = _ISO.match(text.strip())
    if not match:
        raise CoordinateError(
            "cannot read the time",
            expected="an ISO time such as 2016-01-01T06:00:00",
            found=repr(text),
        )
    parts = [int(p) if p else 0 for p in match.groups()]
    return cftime.datetime(*parts, calendar=calendar)


# --------------------------------------------------------------------------------------
# time axes built from other variables (WRF ``Times``, decimal years, reference + lead)
# --------------------------------------------------------------------------------------

_WRF_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})_(\d{2}):(\d{2}):(\d{2})$")


def wrf_times(chars: np.ndarray, path: str | None = None) -> np.ndarray:
    """datetime64 times from WRF's character variable ``Times`` (``2005-08-28_12:00:00``).

    xarray reads the ``(Time, DateStrLen)`` char array as byte strings; every entry must
    match WRF's format exactly, otherwise :class:`TimeAxisError` (a partial parse would
    shift steps silently).
    """
    texts = [t.decode() if isinstance(t, bytes) else str(t) for t in np.ravel(chars)]
    bad = [t for t in texts if not _WRF_TIME.match(t.strip())]
    if bad:
        raise TimeAxisError(
            "cannot read WRF times",
            path=path,
            variable="Times",
            expected="strings such as 2005-08-28_12:00:00",
            found=f"{bad[:3]}",
            hint="pass times=[...] (one datetime per step) to open_dataset",
        )
    return np.array([t.strip().replace("_", "T") for t in texts], dtype="datetime64[ns]")


def decimal_year_months(values: np.ndarray, path: str | None = None, name: str = "time"):
    """Month-start datetime64 times from decimal years that sit on months.

    ``1880.0417`` is ``1880 + 0.5 / 12``: the middle of January 1880 in the usual
    ``year + (month - 0.5) / 12`` convention, and ``1880.0`` the start of January. The
    conversion is certain only when every value is on a month centre (or every value on a
    month start) to within 1e-6 years (30 s); then the month is returned as its first day.
    Anything else (days, irregular fractions) raises :class:`TimeAxisError`, naming the
    ``times=`` override.
    """
    values = np.asarray(values, dtype=float)
    months = values * 12.0
    for offset in (0.5, 0.0):
        index = np.round(months - offset)
        if values.size and np.all(np.abs(months - offset - index) < 12e-6):
            years, month0 = np.divmod(index.astype(np.int64), 12)
            text = [f"{y:04d}-{m + 1:02d}-01" for y, m in zip(years, month0, strict=True)]
            return np.array(text, dtype="datetime64[ns]")
    raise TimeAxisError(
        "decimal years that are not on months: the dates are not certain",
        path=path,
        variable=name,
        expected="decimal years on month centres (year + (month - 0.5) / 12) or month starts",
        found=f"values {values[:3].tolist()}..." if values.size else "no values",
        hint=f"pass times=[...] (one datetime per '{name}' step) to open_dataset",
    )


def add_months(times: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``times[:, None] + months[None, :]`` in calendar months, as datetime64[ns].

    The valid times of a hindcast whose leads are whole months (a month is no fixed
    timedelta): the month is advanced and the offset within the month is kept.
    """
    times = np.asarray(times, dtype="datetime64[ns]")
    month_start = times.astype("datetime64[M]")
    within = times - month_start.astype("datetime64[ns]")
    shifted = month_start[:, None] + np.asarray(months, dtype="timedelta64[M]")[None, :]
    return shifted.astype("datetime64[ns]") + within[:, None]


REFERENCE_NAMES = ("reftime", "reference_time", "forecast_reference_time", "time_ref", "ref_time")
LEAD_NAMES = ("leadtime", "lead_time", "lead", "step", "forecast_period", "period")
LEAD_UNITS = {"hours": "h", "hour": "h", "h": "h", "days": "D", "day": "D", "minutes": "min"}


def build_time_axis(raw, path: str | None = None):
    """``raw`` with a time axis built from other variables where that is certain.

    - a time dimension without a coordinate, whose times are given by another variable:
      one datetime variable along it (``valid_time(time)``, ``date(time)``), or a
      reference time (0-d datetime: ``reftime``, ``forecast_reference_time`` ...) plus a
      lead per step (a timedelta, or numbers with units of minutes, hours or days);
    - a ``time`` coordinate of plain numbers without units that are decimal years on
      month centres (:func:`decimal_year_months`).

    Anything else is left alone, for the schema to refuse naming the ``times=`` override.
    WRF files build theirs in their adapter (:mod:`climbench.data.sources.wrf`).
    """
    for dim in [d for d in raw.dims if str(d).lower() == "time" and d not in raw.coords]:
        along = [
            n
            for n, v in raw.variables.items()
            if v.dims == (dim,) and np.issubdtype(v.dtype, np.datetime64)
        ]
        if len(along) == 1:
            raw = raw.assign_coords({dim: raw[along[0]].values}).drop_vars(along[0])
            raw[dim].attrs["climbench_times"] = f"from the variable '{along[0]}'"
            continue
        times = _reference_plus_lead(raw, dim)
        if times is not None:
            raw = raw.assign_coords({dim: times[0]}).drop_vars(list(times[1]))
            raw[dim].attrs["climbench_times"] = f"{times[1][0]} + {times[1][1]}"
    time = raw.coords.get("time")
    if (
        time is not None
        and time.ndim == 1
        and time.dtype.kind in "fiu"
        and "units" not in time.attrs
        and time.size
        and float(time.min()) >= 1000
        and float(time.max()) <= 3000
    ):
        try:
            months = decimal_year_months(time.values, path)
        except TimeAxisError:
            return raw  # not certain: the schema refuses it, naming times=
        raw = raw.assign_coords(time=("time", months, {"climbench_times": "decimal years"}))
    return raw


def _reference_plus_lead(raw, dim: str):
    """``(times, (reference name, lead name))`` or None when not certain."""
    references = [
        n
        for n, v in raw.variables.items()
        if v.ndim == 0
        and np.issubdtype(v.dtype, np.datetime64)
        and (
            str(n).lower() in REFERENCE_NAMES
            or v.attrs.get("standard_name") == "forecast_reference_time"
        )
    ]
    leads = [
        n
        for n, v in raw.variables.items()
        if v.dims == (dim,)
        and (str(n).lower() in LEAD_NAMES or v.attrs.get("standard_name") == "forecast_period")
    ]
    if len(references) != 1 or len(leads) != 1:
        return None
    lead = raw[leads[0]]
    if np.issubdtype(lead.dtype, np.timedelta64):
        offsets = lead.values.astype("timedelta64[ns]")
    else:
        unit = LEAD_UNITS.get(str(lead.attrs.get("units", "")).strip().lower())
        if unit is None or lead.dtype.kind not in "fiu":
            return None
        import pandas as pd

        offsets = pd.to_timedelta(lead.values.astype(float), unit=unit).to_numpy()
    reference = raw[references[0]].values.astype("datetime64[ns]")
    return reference + offsets, (str(references[0]), str(leads[0]))
