"""Times as text and back, in any calendar: datetime64 for the standard calendar, cftime
objects for the others (noleap, 360_day, year 0101: DESIGN.md keeps calendars as they are).

Used where times are stored as text (the tensor cache's sidecar) and read back.
"""

from __future__ import annotations

import re

import numpy as np

from climbench.errors import CoordinateError

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
