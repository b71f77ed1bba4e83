"""Writing a predictions file: the task's layout as Zarr, one chunk per init (or time).

Shared by everything that produces predictions (``climbench predict``, the closed-form
and reference baselines), with no torch needed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import xarray as xr

from climbench.data.formats import harmless_warnings_silenced
from climbench.io import atomic_directory


def write_predictions(
    ds: xr.Dataset,
    out: str | os.PathLike,
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> None:
    """Write a predictions dataset as Zarr with one chunk per init (or time), atomically.

    ``out`` may not be, contain or lie inside one of ``inputs`` (the task data, the
    checkpoint), and replaces only an earlier predictions store (``overwrite``): see
    :func:`climbench.io.atomic_directory`. Every chunk is written, even one that equals the
    fill value, so that a missing chunk always means damage.
    """
    encoding = {
        name: {"chunks": tuple(1 if d in ("init_time", "time") else n for d, n in da.sizes.items())}
        for name, da in ds.data_vars.items()
    }
    with (
        atomic_directory(out, "predictions", overwrite=overwrite, inputs=inputs) as tmp,
        harmless_warnings_silenced(),
    ):
        ds.to_zarr(tmp, encoding=encoding, consolidated=True, write_empty_chunks=True)
