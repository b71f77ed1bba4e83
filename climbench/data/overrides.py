"""What a user tells ``open_dataset`` that a file does not say: times and coordinate units.

Applied to the raw file before its source adapter runs, so adapters see the file as it
should have been written:

- ``times=[...]``: one datetime per step of the file's time dimension (``time``, ``Time``,
  ``valid_time`` ...), for files whose times are missing or not certain (the refusals name
  this override);
- ``units={name: unit}``: units of a variable or coordinate that has none, e.g. the lead of
  a hindcast (``{"lead": "months"}``), set before the adapter so that it can build the
  time axis from them; data variables' units are then converted by
  :func:`climbench.data.schema.canonicalise`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import ConfigError, TimeAxisError

TIME_DIMS = ("time", "Time", "valid_time", "t")


def apply(
    raw: xr.Dataset,
    path: str,
    *,
    times: Sequence | None = None,
    units: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """``raw`` with the ``times`` and coordinate ``units`` overrides applied."""
    for name, unit in (units or {}).items():
        if name in raw.variables:
            raw[name].attrs["units"] = unit
    if times is None:
        return raw
    dims = [d for d in raw.dims if d in TIME_DIMS]
    if len(dims) != 1:
        raise ConfigError(
            "times= needs exactly one time dimension",
            path=path,
            expected=f"one of the dims {TIME_DIMS}",
            found=f"dims {dict(raw.sizes)}",
        )
    (dim,) = dims
    try:
        values = pd.to_datetime(list(times)).to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError) as err:
        raise ConfigError(
            "times= holds values that are not dates",
            path=path,
            expected="datetimes or ISO strings",
            found=str(err),
        ) from err
    if values.size != raw.sizes[dim]:
        raise TimeAxisError(
            "times= has the wrong number of steps",
            path=path,
            variable=dim,
            expected=f"{raw.sizes[dim]} times (the length of '{dim}')",
            found=f"{values.size}",
        )
    if values.size > 1 and not (np.diff(values) > np.timedelta64(0)).all():
        raise TimeAxisError(
            "times= are not increasing",
            path=path,
            variable=dim,
            expected="strictly increasing times",
            found=f"{values[:3]}...",
        )
    raw = raw.drop_vars([dim] if dim in raw.variables else [])
    return raw.assign_coords({dim: (dim, values, {"climbench_times": "given by times="})})
