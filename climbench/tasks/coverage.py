"""Does a task's stored data cover the times its protocol needs?

Forecast and station tasks read their test inputs and truth at computed times (each init
plus its history offsets or leads). A time missing from the store is a task built from
sources that do not span the protocol: refused with the first missing time and the span the
data have, rather than a bare ``KeyError`` from ``.sel``.
"""

from __future__ import annotations

import os

import pandas as pd
import xarray as xr

from climbench.errors import StoreError


def require_times(
    ds: xr.Dataset,
    needed: pd.DatetimeIndex,
    what: str,
    path: str | os.PathLike,
    every: object | None = None,
) -> None:
    """Raise a :class:`StoreError` naming ``path`` unless ``ds.time`` holds all ``needed``.

    ``what`` says what the times are for ("the test inputs"); ``every``, when given, is the
    step the protocol expects between them (shown in the message).
    """
    have = pd.DatetimeIndex(ds["time"].values)
    missing = needed.difference(have)
    if len(missing):
        step = f" every {every}" if every is not None else ""
        raise StoreError(
            f"the stored data lack times needed for {what}",
            path=path,
            expected=f"{needed[0]} .. {needed[-1]}{step}",
            found=f"{len(missing)} missing, first {missing[0]}; data span {have[0]} .. {have[-1]}",
            hint="prepare the task with sources that cover the whole period",
        )
