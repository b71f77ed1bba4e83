"""Training-split parameters of registered statistics, fitted once and cached with the task.

A :class:`~climbench.metrics.scores.Reference` (the per-cell percentiles of the extremes
scores, the monthly SEEPS climatology) is fitted on the training split of one field and
written beside the task's climatology, under
``<task data>/training-references/<reference>/<field>.zarr``, so the test split never
shapes it and scoring a second model reuses it. The stores are written atomically; a store
that is not complete is refitted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import harmless_warnings_silenced
from climbench.io import atomic_directory
from climbench.metrics.scores import Reference

FOLDER = "training-references"


def training_parameters(
    task,
    field: str,
    reference: Reference,
    training_values: Callable[[], tuple[np.ndarray, pd.DatetimeIndex, str]],
) -> dict[str, np.ndarray]:
    """``reference``'s parameters for ``field`` of ``task``: (entries, ncell) float32 arrays.

    ``field`` is a target's name or a derived field's (:mod:`climbench.tasks.derived`);
    ``training_values()`` gives its training split as (time, ncell) values, their times and
    units, and is called only when the parameters are not cached yet.
    """
    path = task.data_dir / FOLDER / reference.name / f"{field}.zarr"
    if not (path / "zarr.json").is_file():
        values, times, units = training_values()
        parameters = reference.fit(values, times, units)
        ds = xr.Dataset(
            {
                k: (("entry", "cell"), np.asarray(v, dtype=np.float32))
                for k, v in parameters.items()
            },
            attrs={"field": field, "units": units, "reference": reference.name},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_directory(path, "climatology", overwrite=True) as tmp:
            ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=3)
    with harmless_warnings_silenced():
        ds = xr.open_zarr(path, consolidated=True).load()
    return {k: ds[k].values for k in ds.data_vars}
