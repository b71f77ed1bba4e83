"""The one spatial-mean engine: NaN-aware area-weighted means over (lat, lon), per sample.

Formula: for each sample (every index of the non-spatial dims) and each pointwise quantity
``q`` (for example the squared error), ``mean_w(q) = sum_c w_c q_c / sum_c w_c`` over the
cells ``c`` where every quantity is finite. Non-finite cells (NaN-masked land, Inf) and
zero-weight cells (outside a region or mask) therefore never contribute.

Speed: the numpy kernel streams over the data in cache-sized blocks of rows (samples x
cells), computes the pointwise quantities in the block and reduces them with one
matrix-vector product against the flattened weights, so it reads each input once and never
materialises a full-size error field. Rows whose fast result is not finite are recomputed
with the explicit finite-cell formula above. The xarray entry point wraps the kernel in
``xr.apply_ufunc(..., dask="parallelized")``, so dask-backed inputs stay lazy and are
processed chunk by chunk (each chunk must hold whole (lat, lon) fields).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from math import prod

import numpy as np
import xarray as xr

from climbench.metrics._xp import namespace

SPATIAL = ("lat", "lon")
_BLOCK_ELEMENTS = 1 << 17  # 128k values (512 kB of float32) per input block: stays in L2
_POOL = ThreadPoolExecutor(max(1, os.cpu_count() or 1))

Pointwise = Callable[[Sequence[np.ndarray]], Sequence[np.ndarray]]


def weighted_mean(q, w, axis=(-2, -1)):
    """``sum(w q) / sum(w)`` over ``axis``, skipping non-finite ``q`` (numpy or torch)."""
    xp = namespace(q, w)
    valid = xp.isfinite(q)
    num = xp.sum(xp.where(valid, q, 0.0) * w, axis=axis)
    den = xp.sum(xp.where(valid, w, 0.0 * w), axis=axis)
    return num / den


def _block_slices(lead: tuple[int, ...], row: int) -> Iterator[tuple]:
    """Index tuples over the leading dims, each selecting about ``_BLOCK_ELEMENTS`` values."""
    k = len(lead)
    while k > 0 and prod(lead[k - 1 :]) * row <= _BLOCK_ELEMENTS:
        k -= 1
    if k == 0:
        yield ()
        return
    inner = prod(lead[k:]) * row
    step = max(1, _BLOCK_ELEMENTS // inner)
    for outer in np.ndindex(*lead[: k - 1]):
        for start in range(0, lead[k - 1], step):
            yield (*outer, slice(start, min(start + step, lead[k - 1])))


def weighted_means_kernel(
    pointwise: Pointwise, nout: int, *arrays_and_weights: np.ndarray
) -> np.ndarray:
    """Per-sample area-weighted means of ``nout`` pointwise quantities.

    ``arrays_and_weights``: the inputs (broadcastable, last two axes lat, lon) followed by
    the (lat, lon) weights. Returns an array of shape ``lead + (nout,)`` in float64.
    """
    *arrays, weights = arrays_and_weights
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    lead, ncell = shape[:-2], shape[-2] * shape[-1]
    arrays = [np.broadcast_to(a, shape) for a in arrays]
    dtype = np.result_type(*arrays, np.float32)
    w = np.asarray(weights, dtype=dtype).reshape(ncell)
    wsum = float(w.sum(dtype=np.float64))
    out = np.empty((*lead, nout), dtype=np.float64)

    def run(index: tuple) -> None:
        blocks = [np.asarray(a[index], dtype=dtype).reshape(-1, ncell) for a in arrays]
        qs = pointwise(blocks)
        res = np.stack([q @ w for q in qs], axis=-1).astype(np.float64) / wsum
        bad = ~np.isfinite(res).all(axis=-1)
        if bad.any():
            qb = [q[bad] for q in qs]
            valid = np.logical_and.reduce([np.isfinite(q) for q in qb])
            den = valid.astype(np.float64) @ w.astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                res[bad] = np.stack(
                    [np.where(valid, q, 0).astype(np.float64) @ w / den for q in qb], axis=-1
                )
        out[index] = res.reshape(out[index].shape)

    indices = list(_block_slices(lead, ncell))
    if len(indices) >= 4:
        list(_POOL.map(run, indices))
    else:
        for index in indices:
            run(index)
    return out


def spatial_means(
    pointwise: Pointwise,
    inputs: Sequence[xr.DataArray | xr.Dataset],
    weights: xr.DataArray,
    names: Sequence[str],
) -> list:
    """Apply :func:`weighted_means_kernel` through xarray; one result per name.

    Lazy for dask-backed inputs (one task per chunk, all quantities in one pass).
    """
    nout = len(names)
    result = xr.apply_ufunc(
        lambda *a: weighted_means_kernel(pointwise, nout, *a),
        *inputs,
        weights,
        input_core_dims=[list(SPATIAL)] * (len(inputs) + 1),
        output_core_dims=[["quantity"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"quantity": nout}},
    )
    return [result.isel(quantity=i, drop=True) for i in range(nout)]
