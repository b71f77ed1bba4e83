"""Applying a sparse regridding matrix to xarray data: NaN-aware, lazy on dask.

Every regridding between grids that are not both regular (curvilinear -> regular,
regular -> points) is a sparse matrix ``W (n_target, n_source)`` over the flattened spatial
dims. As in :mod:`climbench.data.regrid`, NaN sources get no weight and each output is
divided by the valid weight it received, so masked cells never smear into their
neighbours; an output whose valid weight is at most ``min_valid`` is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import xarray as xr


def apply_weights(
    x: np.ndarray, weights: sp.csr_array, full: np.ndarray, min_valid: np.ndarray, n_in: int
) -> np.ndarray:
    """Regrid the last ``n_in`` axes of ``x`` (flattened) with ``weights``.

    Returns an array whose last axis is the flattened target (``weights.shape[0]``);
    float64 arithmetic, the input's float dtype (float32 for integers) on output.
    """
    lead = x.shape[: x.ndim - n_in]
    flat = x.reshape(-1, int(np.prod(x.shape[x.ndim - n_in :])))
    valid = np.isfinite(flat)
    data = np.where(valid, flat, 0.0).astype(np.float64)
    num = (weights @ data.T).T
    den = np.broadcast_to(full, num.shape) if valid.all() else (weights @ valid.T.astype(float)).T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~(den > min_valid)] = np.nan
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    return out.reshape(*lead, weights.shape[0]).astype(dtype)


def regrid_array(
    da: xr.DataArray,
    weights: sp.csr_array,
    in_dims: Sequence[str],
    out_dims: Sequence[str],
    out_shape: Sequence[int],
    out_coords: dict,
    min_valid: np.ndarray | float = 0.0,
) -> xr.DataArray:
    """``da`` with its ``in_dims`` replaced by ``out_dims`` (sizes ``out_shape``).

    ``min_valid``: per target, the valid weight an output needs (default: any).
    """
    full = np.asarray(weights.sum(axis=1)).ravel()
    min_valid = np.maximum(np.broadcast_to(min_valid, full.shape), 1e-12 * full.max())
    in_dims, out_dims = list(in_dims), list(out_dims)
    if da.chunks is not None:
        da = da.chunk(dict.fromkeys(in_dims, -1))
    temp = [f"{d}_regridded" for d in out_dims]
    n_in = len(in_dims)

    def block(x: np.ndarray) -> np.ndarray:
        flat = apply_weights(x, weights, full, min_valid, n_in)
        return flat.reshape(*flat.shape[:-1], *out_shape)

    out = xr.apply_ufunc(
        block,
        da,
        input_core_dims=[in_dims],
        output_core_dims=[temp],
        dask="parallelized",
        output_dtypes=[da.dtype if da.dtype.kind == "f" else np.float32],
        dask_gufunc_kwargs={"output_sizes": dict(zip(temp, out_shape, strict=True))},
        keep_attrs=True,
    )
    out = out.rename(dict(zip(temp, out_dims, strict=True))).assign_coords(out_coords)
    front = [d for d in da.dims if d not in in_dims]
    return out.transpose(*front, *out_dims)
