"""The one spatial-mean engine: NaN-aware area-weighted means over (lat, lon), per sample.

Both the public metrics API (:func:`spatial_means`) and the scorer
(:mod:`climbench.evaluation.statistics`) reduce through :func:`block_means`, so a forecast
gets the same per-sample statistics from either.

Formula: for each sample (every index of the non-spatial dims) and each pointwise quantity
``q`` (for example the squared error), ``mean_w(q) = sum_c w_c q_c / sum_c w_c`` over the
finite cells ``c``: where every quantity is finite (the API), or where the truth is (the
scorer's statistics), or each quantity's own (registered threshold statistics). Non-finite
cells (NaN-masked land, Inf) and zero-weight cells (outside a region or mask) therefore
never contribute.

Speed: the numpy kernel streams over the data in cache-sized blocks of rows (samples x
cells), computes the pointwise quantities in the block and reduces them with one float32
matrix product against the normalised region weights (:func:`region_weight_matrix`), so it
reads each input once and never materialises a full-size error field. Rows whose fast
result is not finite are recomputed with the explicit finite-cell formula above. The
xarray entry point keeps dask-backed
inputs lazy: one task per group of consecutive blocks of samples (a plain graph layer, see
:func:`_blockwise_means`), which hands the kernel the blocks as they are (no copy; the truth
and climatology gathered row by row inside it); inputs chunked along lat or lon are first
rechunked to whole (lat, lon) fields.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from math import prod

import numpy as np
import xarray as xr

from climbench.metrics._xp import namespace
from climbench.metrics.layout import GatheredRows, check_spatial, inline_gathered, sample_dims
from climbench.metrics.weights import area_weights, region_name, regions_list

SPATIAL = ("lat", "lon")
# 128k values per block (512 kB of float32 per input): stays in cache. Pointwise kernels write
# into reused scratch buffers: a fresh temporary this size would be mmapped and unmapped by
# glibc on every block, which costs more than the maths.
_BLOCK_ELEMENTS = 1 << 17
_NCPU = max(1, os.cpu_count() or 1)
# bytes of the largest input per kernel task on dask data (see _sample_groups)
_TASK_BYTES = 16 << 20
_POOL = ThreadPoolExecutor(_NCPU)
_ON_POOL = threading.local()  # set on the pool's threads while they run pool_map work


def pool_map(fn: Callable, items: Sequence) -> list:
    """``[fn(x) for x in items]`` on the shared thread pool, or inline when called from one
    of its threads (a kernel whose pointwise step is itself parallel, e.g. the sorted CRPS
    inside the spatial-mean kernel): waiting on the pool from inside it would deadlock once
    every worker waits."""
    if getattr(_ON_POOL, "active", False):
        return [fn(x) for x in items]

    def on_pool(x):
        _ON_POOL.active = True
        try:
            return fn(x)
        finally:
            _ON_POOL.active = False

    return list(_POOL.map(on_pool, items))


#: ``pointwise(blocks, scratch) -> quantities``: ``blocks`` are the inputs' (rows, ncell)
#: blocks (or (1, ncell) for a broadcast field; (rows, members, ncell) for an ensemble),
#: ``scratch(k)`` a reusable (rows, ncell) float32 buffer and ``scratch(k, count)`` a
#: reusable (count, rows, ncell) one; returns the (rows or 1, ncell) quantities.
Pointwise = Callable[[Sequence[np.ndarray], Callable[..., np.ndarray]], Sequence[np.ndarray]]
#: multiply-adds per matrix product, below the size at which BLAS libraries start worker
#: threads (OpenBLAS: 2^18, or 10^6 where it has small-matrix kernels); inside dask's or
#: the scorer's workers those threads only spin against them (measured 5 to 40 times slower
#: on 2 cores)
_BLAS_MULTIPLY_ADDS = 1 << 18


def weighted_mean(q, w, axis=(-2, -1)):
    """``sum(w q) / sum(w)`` over ``axis``, skipping non-finite ``q`` (numpy or torch)."""
    xp = namespace(q, w)
    valid = xp.isfinite(q)
    num = xp.sum(xp.where(valid, q, 0.0) * w, axis=axis)
    den = xp.sum(xp.where(valid, w, 0.0 * w), axis=axis)
    return num / den


def region_weight_matrix(weights: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """(ncell, nregion) float32 matrix of per-region weights, each column summing to 1, from
    one weight field per region (any shape of ncell values; a (region, lat, lon) array is a
    sequence of regions). The product ``q @ W`` of a block of quantities then gives the
    area-weighted mean of every region at once."""
    w = np.stack([np.asarray(x, dtype=np.float64).ravel() for x in weights], axis=1)
    return (w / w.sum(axis=0, keepdims=True)).astype(np.float32)


def _block_slices(lead: tuple[int, ...], row: int, elements: int) -> Iterator[tuple]:
    """Index tuples over the leading dims, each selecting about ``elements`` values."""
    k = len(lead)
    while k > 0 and prod(lead[k - 1 :]) * row <= elements:
        k -= 1
    if k == 0:
        yield ()
        return
    inner = prod(lead[k:]) * row
    step = max(1, elements // inner)
    for outer in np.ndindex(*lead[: k - 1]):
        for start in range(0, lead[k - 1], step):
            yield (*outer, slice(start, min(start + step, lead[k - 1])))


def _whole_fields(x, core: Sequence[str] = SPATIAL):
    """``x`` with each dask chunk holding whole fields along the ``core`` dims, as the
    kernel needs: a climatology chunked along lat (as WeatherBench 2 stores ship them)
    becomes one spatial chunk; other chunks (init times, leads) are kept. A Dataset's
    fields are taken one by one (they may be chunked differently)."""
    if isinstance(x, xr.Dataset):
        return x.assign({k: _whole_fields(v, core) for k, v in x.data_vars.items()})
    chunks = getattr(x, "chunksizes", None) or {}
    if all(len(chunks.get(d, (0,))) <= 1 for d in core):
        return x
    return x.chunk({d: -1 for d in core if d in x.dims})


def weighted_means_kernel(
    pointwise: Pointwise,
    nout: int,
    *arrays_and_weights: np.ndarray,
    threads: bool = True,
    members: bool = False,
) -> np.ndarray:
    """Per-sample area-weighted means of ``nout`` pointwise quantities, for every region.

    ``arrays_and_weights``: the inputs (broadcastable, last two axes lat, lon) followed by
    the weights, (lat, lon) or (region, lat, lon). Returns an array of shape
    ``lead + (nout,)``, or ``lead + (region, nout)`` for 3-D weights, in float64. A cell
    counts where every quantity is finite (see :func:`block_means`). ``threads``, ``members``:
    as :func:`block_means`.
    """
    *arrays, weights = arrays_and_weights
    weights = np.asarray(weights)
    matrix = region_weight_matrix(weights if weights.ndim == 3 else weights[None])
    out = block_means(pointwise, nout, arrays, matrix, threads=threads, members=members)
    return out if weights.ndim == 3 else out[..., 0, :]


def block_means(
    pointwise: Pointwise,
    nout: int,
    arrays: Sequence,
    matrix: np.ndarray,
    *,
    threads: bool = True,
    members: bool = False,
    shared_cells: int | None = None,
    cells_of: int | None = None,
    block_elements: int = _BLOCK_ELEMENTS,
) -> np.ndarray:
    """The engine of the metrics API and the scorer: per-sample region means of ``nout``
    quantities that ``pointwise`` computes from blocks of the inputs.

    ``arrays``: the inputs, broadcastable, last two axes lat and lon (flattened cells may be
    passed as (…, 1, ncell)); numpy arrays or :class:`~climbench.metrics.layout.GatheredRows`
    (rows picked when read). ``matrix``: (ncell, region) float32 from
    :func:`region_weight_matrix`. Returns ``lead + (region, nout)`` float64.

    Each block of about ``block_elements`` values of the first input (its quantities stay in
    cache) is reduced by one float32 matrix product per quantity, ``mean_w(q) = q @ W``, for
    the first ``shared_cells`` quantities (all when None). Rows whose result is not finite
    are recomputed over one set of finite cells with the weights renormalised
    (``sum_c w_c q_c / sum_c w_c``): where all of these quantities are finite or, with
    ``cells_of``, where that input is (the scorer passes the truth's: masked truth leaves a
    cell out of every statistic, and a NaN prediction stays NaN, to be refused). Each
    further quantity is always averaged over its own finite cells (a threshold statistic
    undefined at a cell leaves only itself out there).
    ``threads``: spread the blocks over a thread pool (off where the caller already runs
    in parallel: dask tasks, the scorer's blocks). ``members``: the first input is an
    ensemble, its third-last axis the members; its blocks reach ``pointwise`` as
    (rows, members, ncell).
    """
    ensemble = arrays[0].shape[-3] if members else None
    loops = [a.shape[:-3] if k == 0 and members else a.shape[:-2] for k, a in enumerate(arrays)]
    lead = np.broadcast_shapes(*loops)
    ncell = arrays[-1].shape[-2] * arrays[-1].shape[-1]
    dtype = np.result_type(*arrays, np.float32)

    def rows_of(k: int, a):
        core = a.shape[len(loops[k]) :]
        if prod(loops[k]) == 1 and not (k == 0 and members):
            # a single (lat, lon) field (e.g. a fixed climatology): one (1, ncell) row
            return np.asarray(a, dtype=dtype).reshape(1, ncell)
        if isinstance(a, GatheredRows) and a.shape == (*lead, *core):
            return a  # rows gathered when read, block by block (layout.GatheredRows)
        return np.broadcast_to(a, (*lead, *core))

    inputs = [rows_of(k, a) for k, a in enumerate(arrays)]
    row_shapes = [
        (-1, ensemble, ncell) if k == 0 and members else (-1, ncell) for k in range(len(inputs))
    ]
    w = np.asarray(matrix, dtype=dtype)
    nregion = w.shape[1]
    shared = nout if shared_cells is None else shared_cells
    out = np.empty((*lead, nregion, nout), dtype=np.float64)

    def run_block(index: tuple, scratch: Callable[..., np.ndarray]) -> None:
        blocks = [
            a if a.ndim == 2 else np.asarray(a[index], dtype=dtype).reshape(rows)
            for a, rows in zip(inputs, row_shapes, strict=True)
        ]
        qs = pointwise(blocks, scratch)
        res = out[index].reshape(-1, nregion, nout)  # a view: out is C-contiguous
        for k, q in enumerate(qs[:shared]):
            _weighted_sums(q, w, res[:, :, k])
        for k, q in enumerate(qs[shared:], start=shared):
            res[:, :, k] = _finite_mean(q, np.isfinite(q), w)
        bad = ~np.isfinite(res[..., :shared]).all(axis=(-2, -1))
        if bad.any():
            mask = None if cells_of is None else blocks[cells_of]
            _renormalised(qs[:shared], w, bad, res, mask)

    def run(indices: list) -> None:
        buffers: dict[tuple, np.ndarray] = {}  # reused scratch: no allocation per block
        for index in indices:
            rows = out[index].size // (nout * nregion)

            def scratch(k: int, count: int | None = None, rows: int = rows) -> np.ndarray:
                shape = (rows, ncell) if count is None else (count, rows, ncell)
                held = buffers.get((k, count))
                if held is None or held.shape[-2] < rows:
                    held = buffers[(k, count)] = np.empty(shape, dtype=dtype)
                return held[..., :rows, :]

            run_block(index, scratch)

    indices = list(_block_slices(lead, ncell * (ensemble or 1), block_elements))
    ntask = min(len(indices), 2 * _NCPU)
    if threads and len(indices) >= 8 and ntask > 1:  # contiguous runs of blocks, one per task
        bounds = np.linspace(0, len(indices), ntask + 1).astype(int)
        pool_map(run, [indices[a:b] for a, b in pairwise(bounds)])
    else:
        run(indices)
    return out


def _weighted_sums(q: np.ndarray, w: np.ndarray, res: np.ndarray) -> None:
    """``res = q @ w`` for a (rows or 1, ncell) block ``q`` and the (ncell, region) weights:
    in products small enough that BLAS runs them on the calling thread
    (:data:`_BLAS_MULTIPLY_ADDS`)."""
    step = max(1, _BLAS_MULTIPLY_ADDS // (q.shape[-1] * w.shape[1]))
    if q.shape[0] <= step:
        res[...] = _product(q, w)
        return
    for a in range(0, q.shape[0], step):
        res[a : a + step] = _product(q[a : a + step], w)


def _product(q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``q @ w``, computed by ``np.dot`` where ``q`` is C-contiguous (every quantity block
    the kernels write): numpy's ``matmul`` holds the GIL while BLAS multiplies, ``dot``
    releases it. With ``matmul`` the products (a third of a kernel's time) of dask's
    workers and of the scorer's pool threads ran one at a time, and the GIL-held products
    stalled zarr's reader threads too. Both call the same BLAS routine (``gemm``, ``gemv``
    for a single row), so the results are the same bits (tests/test_metrics_lazy.py,
    ``test_weighted_sums_are_the_bits_of_matmul_in_every_layout``). Other layouts (a
    broadcast row of stride 0) keep ``matmul``, whose strided loop ``dot`` does not
    reproduce bit for bit."""
    return np.dot(q, w) if q.flags.c_contiguous else q @ w


def _renormalised(
    qs: Sequence[np.ndarray], w: np.ndarray, bad: np.ndarray, res: np.ndarray, mask
) -> None:
    """``res[bad]`` of the quantities ``qs`` recomputed over one set of cells, the weights
    renormalised there: where ``mask`` (a block of an input) is finite, or else where every
    quantity is."""
    rows = (res.shape[0], w.shape[0])
    qb = [np.broadcast_to(q, rows)[bad] for q in qs]
    if mask is None:
        valid = np.logical_and.reduce([np.isfinite(q) for q in qb])
    else:
        valid = np.isfinite(np.broadcast_to(mask, rows)[bad])
    for k, q in enumerate(qb):
        res[bad, :, k] = _finite_mean(q, valid, w)


def _finite_mean(q: np.ndarray, valid: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_c w_c q_c / sum_c w_c`` over the ``valid`` cells of each row (NaN where a
    region has none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _product(np.where(valid, q, 0.0), w) / _product(
            np.broadcast_to(valid, q.shape).astype(w.dtype), w
        )


def _blockwise_means(pointwise: Pointwise, nout: int, nregion: int | None, members: bool, *arrays):
    """:func:`weighted_means_kernel` over every block of dask-backed ``arrays`` (the inputs,
    core dims lat and lon last, members before them in the first input when ``members``,
    then the weights), one task per block of samples.

    The graph is one plain layer (as :func:`climbench.metrics.layout.gather_rows`'s), not a
    dask ``blockwise`` one: the gufunc path (``apply_ufunc(dask="parallelized")``)
    concatenates the blocks of the contracted (lat, lon) dims even when there is one, which
    copies every input block and materialises the lazily gathered truth and climatology
    (:class:`~climbench.metrics.layout.GatheredRows`); and a blockwise layer is fused with
    the reads before it into subgraphs whose every task dask orders again when it runs
    (measured: a third of the scheduling time). The kernel runs on the task's thread: dask
    already runs the blocks in parallel.
    """
    import dask.array as dsa
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from dask.task_spec import List, Task

    *inputs, weights = arrays
    if not any(isinstance(a, dsa.Array) for a in inputs):
        return weighted_means_kernel(pointwise, nout, *arrays, members=members)
    core = [3 if k == 0 and members else 2 for k in range(len(inputs))]
    nloop = max(a.ndim - c for a, c in zip(inputs, core, strict=True))
    lazy = []
    for a, c in zip(inputs, core, strict=True):
        a = a if isinstance(a, dsa.Array) else dsa.from_array(np.asarray(a), chunks=-1)
        lazy.append(a.reshape((1,) * (nloop + c - a.ndim) + a.shape))
    loop = "".join(chr(ord("a") + k) for k in range(nloop))
    indices = [loop + ("myx" if c == 3 else "yx") for c in core]
    _, lazy = dsa.core.unify_chunks(*(x for pair in zip(lazy, indices, strict=True) for x in pair))
    grid = [max(a.numblocks[k] for a in lazy) for k in range(nloop)]
    chunks = [next(a.chunks[k] for a in lazy if a.numblocks[k] == grid[k]) for k in range(nloop)]
    weights = np.asarray(weights)
    matrix = region_weight_matrix(weights if weights.ndim == 3 else weights[None])  # once
    name = "weighted-means-" + tokenize(pointwise, nout, weights, *lazy)
    axis = next((k for k in range(nloop) if grid[k] > 1), None)
    groups = _sample_groups(lazy, axis, chunks)
    task_grid = [len(groups) if k == axis else n for k, n in enumerate(grid)]
    tail = (0,) * (1 + (nregion is not None))
    graph, depends = {}, set()
    for index in np.ndindex(*task_grid):
        blocks = [_at(index, axis, m) for m in (groups[index[axis]] if axis is not None else [0])]
        keys = []
        for a in lazy:
            inlined = [inline_gathered(a, _block_key(a, b, nloop)) for b in blocks]
            keys.append(List(*(node for node, _ in inlined)))
            depends.update(*(names for _, names in inlined))
        key = (name, *index, *tail)
        graph[key] = Task(
            key,
            _group_means,
            pointwise,
            nout,
            axis or 0,
            members,
            matrix,
            weights.ndim == 3,
            List(*keys),
        )
    if axis is not None:
        chunks[axis] = tuple(sum(chunks[axis][m] for m in g) for g in groups)
    inputs_graph = HighLevelGraph.merge(*(a.dask for a in lazy))
    layer = HighLevelGraph(
        {**inputs_graph.layers, name: graph}, {**inputs_graph.dependencies, name: depends}
    )
    out_chunks = (*chunks, *(((nregion,),) if nregion is not None else ()), (nout,))
    return dsa.Array(layer, name, out_chunks, dtype=np.float64)


def _at(index: tuple, axis: int | None, block: int) -> tuple:
    """``index`` with the group number at ``axis`` replaced by the block number ``block``."""
    return index if axis is None else (*index[:axis], block, *index[axis + 1 :])


def _block_key(array, index: tuple, nloop: int) -> tuple:
    """The key of ``array``'s block at the loop ``index`` (block 0 along broadcast dims;
    one block along the core dims: members, lat and lon)."""
    loop = (j if n > 1 else 0 for j, n in zip(index, array.numblocks[:nloop], strict=True))
    return (array.name, *loop, *(0,) * (array.ndim - nloop))


def _sample_groups(lazy: list, axis: int | None, chunks: list) -> list[list[int]]:
    """Consecutive blocks along ``axis`` (the sample dim) in groups of about
    :data:`_TASK_BYTES` of the largest input: a store written one or a few inits per chunk
    (as WeatherBench 2's are) would otherwise give thousands of tiny kernel tasks, and as
    many again downstream (the time means), whose scheduling costs more than their maths.
    A group's blocks are handed over as they are, not concatenated (no copy)."""
    if axis is None:
        return [[0]]
    per_index = max(a.nbytes / a.shape[axis] for a in lazy if a.numblocks[axis] > 1)
    size = max(1, int(_TASK_BYTES // per_index))
    groups, current, filled = [], [], 0
    for b, n in enumerate(chunks[axis]):
        if current and filled + n > size:
            groups.append(current)
            current, filled = [], 0
        current.append(b)
        filled += n
    return [*groups, current]


def _group_means(
    pointwise: Pointwise,
    nout: int,
    axis: int,
    members: bool,
    matrix: np.ndarray,
    per_region: bool,
    blocks: list[list],
) -> np.ndarray:
    """:func:`block_means` of each block of a group (``blocks[input][block]``), concatenated
    along ``axis``; without the region axis unless ``per_region``."""
    parts = [
        block_means(pointwise, nout, block, matrix, threads=False, members=members)
        for block in zip(*blocks, strict=True)
    ]
    if not per_region:
        parts = [p[..., 0, :] for p in parts]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def spatial_means(
    pointwise: Pointwise,
    inputs: Sequence[xr.DataArray | xr.Dataset],
    weights: xr.DataArray,
    names: Sequence[str],
    member_dim: str | None = None,
) -> list:
    """Apply :func:`weighted_means_kernel` through xarray; one result per name.

    Lazy for dask-backed inputs (one task per block of samples, all quantities in one pass;
    see :func:`_blockwise_means`). Weights with a ``region`` dim give every region in the
    same pass (results keep the dim). ``member_dim``: the first input is an ensemble along
    it, handed to ``pointwise`` whole (see :func:`weighted_means_kernel`).
    """
    nout = len(names)
    weight_dims = [d for d in ("region", *SPATIAL) if d in weights.dims]
    nregion = weights.sizes.get("region")
    out_dims = ["region", "quantity"] if nregion is not None else ["quantity"]
    core = [
        [member_dim, *SPATIAL] if k == 0 and member_dim else list(SPATIAL)
        for k in range(len(inputs))
    ]
    result = xr.apply_ufunc(
        lambda *a: _blockwise_means(pointwise, nout, nregion, member_dim is not None, *a),
        *[_whole_fields(x, c) for x, c in zip(inputs, core, strict=True)],
        weights.transpose(*weight_dims),
        input_core_dims=[*core, weight_dims],
        output_core_dims=[out_dims],
        dask="allowed",
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
