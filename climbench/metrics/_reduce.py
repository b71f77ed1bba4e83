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
processed chunk by chunk; inputs chunked along lat or lon are first rechunked to whole
(lat, lon) fields.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from math import prod

import numpy as np
import xarray as xr

from climbench.metrics._xp import namespace
from climbench.metrics.layout import GatheredRows, check_spatial, sample_dims
from climbench.metrics.weights import area_weights, region_name, regions_list

SPATIAL = ("lat", "lon")
# 128k values per block (512 kB of float32 per input): stays in cache. Pointwise kernels write
# into reused scratch buffers: a fresh temporary this size would be mmapped and unmapped by
# glibc on every block, which costs more than the maths.
_BLOCK_ELEMENTS = 1 << 17
_NCPU = max(1, os.cpu_count() or 1)
# bytes of the largest input per kernel task on dask data (see _coarse_samples)
_TASK_BYTES = 32 << 20
_POOL = ThreadPoolExecutor(_NCPU)

#: ``pointwise(blocks, scratch) -> quantities``: ``blocks`` are (rows, ncell) input blocks
#: (or (1, ncell) for a broadcast field), ``scratch(k)`` a reusable (rows, ncell) buffer.
Pointwise = Callable[[Sequence[np.ndarray], Callable[[int], np.ndarray]], Sequence[np.ndarray]]


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


def _whole_fields(x):
    """``x`` with each dask chunk holding whole (lat, lon) fields, as the kernel needs: a
    climatology chunked along lat (as WeatherBench 2 stores ship them) becomes one spatial
    chunk; other chunks (init times, leads) are kept."""
    chunks = getattr(x, "chunksizes", None) or {}
    if all(len(chunks.get(d, (0,))) <= 1 for d in SPATIAL):
        return x
    return x.chunk({d: -1 for d in SPATIAL if d in x.dims})


def weighted_means_kernel(
    pointwise: Pointwise, nout: int, *arrays_and_weights: np.ndarray
) -> np.ndarray:
    """Per-sample area-weighted means of ``nout`` pointwise quantities, for every region.

    ``arrays_and_weights``: the inputs (broadcastable, last two axes lat, lon) followed by
    the weights, (lat, lon) or (region, lat, lon). Returns an array of shape
    ``lead + (nout,)``, or ``lead + (region, nout)`` for 3-D weights, in float64: each
    block of quantities is reduced for all regions by one matrix product.
    """
    *arrays, weights = arrays_and_weights
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    lead, ncell = shape[:-2], shape[-2] * shape[-1]
    dtype = np.result_type(*arrays, np.float32)
    # a single (lat, lon) field (e.g. a fixed climatology) broadcasts as one (1, ncell) row
    inputs = [
        np.asarray(a, dtype=dtype).reshape(1, ncell)
        if prod(a.shape[:-2]) == 1
        else a  # rows gathered when read, block by block (layout.GatheredRows)
        if isinstance(a, GatheredRows) and a.shape == shape
        else np.broadcast_to(a, shape)
        for a in arrays
    ]
    per_region = np.asarray(weights).ndim == 3
    w64 = np.asarray(weights, dtype=np.float64).reshape(-1, ncell).T  # (ncell, region)
    wsum = w64.sum(axis=0)
    w = w64.astype(dtype)
    nregion = w.shape[1]
    out = np.empty((*lead, nregion, nout), dtype=np.float64)

    def run_block(index: tuple, scratch: Callable[[int], np.ndarray]) -> None:
        blocks = [
            a if a.ndim == 2 else np.asarray(a[index], dtype=dtype).reshape(-1, ncell)
            for a in inputs
        ]
        qs = pointwise(blocks, scratch)
        res = out[index].reshape(-1, nregion, nout)  # a view: out is C-contiguous
        for k, q in enumerate(qs):
            res[:, :, k] = q @ w
        bad = ~np.isfinite(res).all(axis=(-2, -1))
        if bad.any():
            qb = [np.broadcast_to(q, (res.shape[0], ncell))[bad] for q in qs]
            valid = np.logical_and.reduce([np.isfinite(q) for q in qb])
            den = valid.astype(np.float64) @ w64 / wsum
            with np.errstate(invalid="ignore", divide="ignore"):
                res[bad] = np.stack(
                    [np.where(valid, q, 0).astype(np.float64) @ w64 / den for q in qb], axis=-1
                )

    def run(indices: list) -> None:
        buffers: dict[int, np.ndarray] = {}  # reused scratch: no allocation per block
        for index in indices:
            rows = out[index].size // (nout * nregion)

            def scratch(k: int, rows: int = rows) -> np.ndarray:
                if k not in buffers or buffers[k].shape[0] < rows:
                    buffers[k] = np.empty((rows, ncell), dtype=dtype)
                return buffers[k][:rows]

            run_block(index, scratch)

    indices = list(_block_slices(lead, ncell))
    ntask = min(len(indices), 2 * _NCPU)
    if len(indices) >= 8 and ntask > 1:  # contiguous runs of blocks, one per task
        bounds = np.linspace(0, len(indices), ntask + 1).astype(int)
        list(_POOL.map(run, [indices[a:b] for a, b in pairwise(bounds)]))
    else:
        run(indices)
    out /= wsum[:, None]
    return out if per_region else out[..., 0, :]


def _coarse_samples(inputs: Sequence) -> list:
    """Dask-backed ``inputs`` with chunks of about :data:`_TASK_BYTES` along their sample
    dim (``init_time`` or ``time``), the same for all: a store written one or a few inits
    per chunk (as WeatherBench 2's are) would otherwise give thousands of tiny kernel tasks
    whose scheduling costs more than their maths."""
    lazy = [x for x in inputs if getattr(x, "chunks", None)]
    dim = next((d for d in ("init_time", "time") if any(d in x.dims for x in lazy)), None)
    if dim is None:
        return list(inputs)
    having = [x for x in lazy if dim in x.dims]
    per_index = max(x.nbytes / max(1, x.sizes[dim]) for x in having)
    current = max(max(x.chunksizes[dim]) for x in having)
    k = max(current, int(_TASK_BYTES // max(per_index, 1)))
    if k <= current:
        return list(inputs)
    return [
        x.chunk({dim: k}) if getattr(x, "chunks", None) and dim in x.dims else x for x in inputs
    ]


def spatial_means(
    pointwise: Pointwise,
    inputs: Sequence[xr.DataArray | xr.Dataset],
    weights: xr.DataArray,
    names: Sequence[str],
) -> list:
    """Apply :func:`weighted_means_kernel` through xarray; one result per name.

    Lazy for dask-backed inputs (one task per chunk, all quantities in one pass). Weights
    with a ``region`` dim give every region in the same pass (results keep the dim).
    """
    nout = len(names)
    weight_dims = [d for d in ("region", *SPATIAL) if d in weights.dims]
    out_dims = ["region", "quantity"] if "region" in weights.dims else ["quantity"]
    sizes = {"quantity": nout} | (
        {"region": weights.sizes["region"]} if "region" in weights.dims else {}
    )
    result = xr.apply_ufunc(
        lambda *a: weighted_means_kernel(pointwise, nout, *a),
        *_coarse_samples([_whole_fields(x) for x in inputs]),
        weights.transpose(*weight_dims),
        input_core_dims=[list(SPATIAL)] * len(inputs) + [weight_dims],
        output_core_dims=[out_dims],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": sizes},
    )
    return [result.isel(quantity=i, drop=True) for i in range(nout)]


def time_mean(x, like):
    """Mean over the sample dims of ``like`` (``init_time`` / ``time``), skipping NaN."""
    dims = sample_dims(like)
    return x.mean(dims, skipna=True) if dims else x


def per_region(compute: Callable, like, region, mask, together: bool = False):
    """``compute(weights)`` for one region, or concatenated along a new ``region`` dim.

    ``together``: ``compute`` takes weights with a ``region`` dim (:func:`spatial_means`
    then reduces every region in one pass over the data) and is called once.
    """
    regions, as_dim = regions_list(region)
    weights = [area_weights(like["lat"], like["lon"], r, mask) for r in regions]
    names = [region_name(r) for r in regions]
    if together:
        stacked = xr.concat(weights, dim="region").assign_coords(region=names)
        out = compute(stacked)
        return out if as_dim else out.isel(region=0, drop=True)
    out = [compute(w) for w in weights]
    if not as_dim:
        return out[0]
    return xr.concat(out, dim="region").assign_coords(region=names)


def _k_identity(blocks, scratch):
    return [blocks[0]]


def area_mean(field, *, region="global", mask=None):
    """NaN-aware area-weighted mean over (lat, lon) of a DataArray/Dataset, per sample.

    ``sum_c w_c x_c / sum_c w_c`` over finite cells, ``w`` = cell area x region x mask.
    Units of ``field``. ``region`` may be a list (adds a ``region`` dim).
    """
    check_spatial(field, "field")
    return per_region(
        lambda w: spatial_means(_k_identity, [field], w, ["mean"])[0],
        field,
        region,
        mask,
        together=True,
    )
