"""A downscaling pair from the synthetic weather: a fine field and its coarse counterpart.

The weather model (:mod:`climbench.data.synthetic.weather`) runs on the fine 1.40625-degree
grid, where the land-sea mask is sharp and the orography rough; the coarse field is the
area-weighted mean of the fine one over the nested 5.625-degree (or 2.8125-degree) cells,
which is what a conservative regrid of the fine field gives. The fine field carries
structure no interpolation of the coarse one can recover: the lapse-rate cooling of each
fine cell's own height (``-6.5 K/km``), coastlines inside a coarse cell, orographic
rain, and the small-scale part of the anomaly fields. A learned downscaler can exploit the
fine constants (``land_sea_mask``, ``geopotential_at_surface``) that come with the fine
dataset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from climbench.data.synthetic.geography import FINE_GRID, coarsen, synthetic_grid
from climbench.data.synthetic.store import write_stream
from climbench.data.synthetic.weather import (
    BLOCK_STEPS,
    CONSTANTS,
    WeatherModel,
    assemble,
    lazy_fields,
)
from climbench.errors import RegridError

DEFAULT_VARIABLES = ("2m_temperature", "total_precipitation_6hr")


def _factor(coarse: str | float) -> int:
    factor = synthetic_grid(FINE_GRID).shape[0] // synthetic_grid(coarse).shape[0]
    if factor < 2:
        raise RegridError(
            f"the coarse grid of a downscaling pair must be coarser than {FINE_GRID} degrees",
            expected="5.625 or 2.8125",
            found=repr(str(coarse)),
        )
    return factor


def _coarsen_dataset(fine: xr.Dataset, factor: int, coarse: str | float) -> xr.Dataset:
    """Area-weighted block means of every variable of ``fine`` on the ``coarse`` grid."""
    lat = fine["lat"].values
    grid = synthetic_grid(coarse)
    data = {}
    for name, var in fine.data_vars.items():
        values = var.data
        if isinstance(values, da.Array):
            chunks = values.chunks[:-2] + ((grid.shape[0],), (grid.shape[1],))
            out = values.map_blocks(coarsen, lat, factor, chunks=chunks, dtype=values.dtype)
        else:
            out = coarsen(values, lat, factor)
        data[name] = xr.DataArray(out, dims=var.dims, attrs=var.attrs)
    coords = {k: v for k, v in fine.coords.items() if k not in ("lat", "lon")}
    attrs = {
        **fine.attrs,
        "grid": grid.name,
        "downscaling_role": f"coarse: area mean of the {FINE_GRID}-degree fine field",
    }
    return xr.Dataset(data, coords={**coords, **grid.coords()}, attrs=attrs)


def _fine_model(years: str | tuple[int, int], seed: int) -> WeatherModel:
    return WeatherModel(FINE_GRID, years, seed)


def _pair(
    model: WeatherModel, variables: Sequence[str], coarse: str | float
) -> tuple[xr.Dataset, xr.Dataset]:
    factor = _factor(coarse)
    fine = assemble(model, lazy_fields(model), [*variables, *CONSTANTS])
    fine.attrs["downscaling_role"] = "fine"
    return _coarsen_dataset(fine, factor, coarse), fine


def downscaling_pair(
    years: str | tuple[int, int] = "2015-2016",
    seed: int = 0,
    variables: Sequence[str] = DEFAULT_VARIABLES,
    coarse: str | float = "5.625",
) -> tuple[xr.Dataset, xr.Dataset]:
    """``(coarse, fine)`` lazy canonical datasets of the same synthetic weather.

    The fine one is on the 1.40625-degree grid, the coarse one (``"5.625"`` or
    ``"2.8125"``) is its area mean; both carry their own ``land_sea_mask`` and
    ``geopotential_at_surface``.
    """
    return _pair(_fine_model(years, seed), variables, coarse)


def write_downscaling(
    out: str | os.PathLike,
    years: str | tuple[int, int] = "2015-2016",
    seed: int = 0,
    variables: Sequence[str] = DEFAULT_VARIABLES,
    coarse: str | float = "5.625",
    *,
    overwrite: bool = False,
    time_chunk: int = 32,
    progress: bool = False,
) -> Path:
    """Stream a downscaling pair into ``out/coarse.zarr`` and ``out/fine.zarr``."""
    model = _fine_model(years, seed)
    coarse_ds, fine_ds = _pair(model, variables, coarse)
    factor = _factor(coarse)
    names = [v for v in fine_ds.data_vars if v not in CONSTANTS]
    lat = model.grid.lat

    def render(item: tuple[int, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        fields = model.render(*item)
        fine = {n: fields[n] for n in names}
        return {
            "fine.zarr": fine,
            "coarse.zarr": {n: coarsen(v, lat, factor) for n, v in fine.items()},
        }

    return write_stream(
        out,
        {"coarse.zarr": coarse_ds, "fine.zarr": fine_ds},
        model.iter_latent(),
        render,
        [model.block_slice(i) for i in range(model.nblocks)],
        chunk=time_chunk,
        block_steps=BLOCK_STEPS,
        overwrite=overwrite,
        progress=progress,
        description="synthetic downscaling pair",
    )
