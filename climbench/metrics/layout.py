"""Forecast-layout conventions (DESIGN.md) and the checks every xarray entry point shares.

- Predictions have dims ``init_time, lead_time, [member], [level], lat, lon``; truth has
  ``time, [level], lat, lon``. :func:`align_to_forecast` brings truth into the forecast
  layout by valid time ``valid_time = init_time + lead_time``, so every score is computed per
  lead time (``lead_time`` is never averaged over).
- Time averages run over the *sample* dims: ``init_time`` for forecasts, ``time`` for
  fields that are not forecasts (emulators, downscaling).
- Climatologies (for ACC) come from the training period only and are indexed by
  ``dayofyear`` (1-366) and optionally ``hour``; :func:`climatology_at` picks the value at
  each valid time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import CoordinateError, DataValueError, SchemaError

SAMPLE_DIMS = ("init_time", "time")
SPATIAL = ("lat", "lon")


def sample_dims(da: xr.DataArray | xr.Dataset) -> list[str]:
    """The dims averaged over time: ``init_time`` and/or ``time`` when present."""
    return [d for d in SAMPLE_DIMS if d in da.dims]


def check_spatial(da: xr.DataArray | xr.Dataset, what: str = "forecast") -> None:
    """Raise :class:`SchemaError` unless ``da`` has ``lat`` and ``lon`` dims."""
    missing = [d for d in SPATIAL if d not in da.dims]
    if missing:
        raise SchemaError(
            f"{what} lacks spatial dimensions",
            variable=getattr(da, "name", None) if isinstance(da, xr.DataArray) else None,
            expected="dims lat and lon (canonical schema)",
            found=f"dims {tuple(da.dims)}",
            hint="open data with climbench.open_dataset or rename latitude/longitude",
        )


def check_pair(
    forecast: xr.DataArray | xr.Dataset,
    truth: xr.DataArray | xr.Dataset,
    ignore: tuple[str, ...] = ("member",),
) -> None:
    """Forecast and truth must share dims (bar ``ignore``) and spatial coordinates."""
    check_spatial(forecast, "forecast")
    check_spatial(truth, "truth")
    fdims = set(forecast.dims) - set(ignore)
    tdims = set(truth.dims) - set(ignore)
    if fdims != tdims:
        hint = None
        if "time" in tdims and "init_time" in fdims:
            hint = "align truth first: truth = align_to_forecast(forecast, truth)"
        raise DataValueError(
            "forecast and truth have different dimensions",
            expected=f"the forecast's dims {sorted(fdims)}",
            found=f"truth dims {sorted(tdims)}",
            hint=hint,
        )
    for dim in SPATIAL:
        f, t = forecast[dim].values, truth[dim].values
        if f.shape != t.shape or not np.allclose(f, t):
            raise CoordinateError(
                f"forecast and truth are on different grids ({dim})",
                expected=f"{dim} of the forecast ({f.size} values from {f[0]:g})",
                found=f"{t.size} values from {t[0]:g}",
                hint="regrid one onto the other before scoring",
            )


def check_member_dim(forecast: xr.DataArray | xr.Dataset, member_dim: str) -> None:
    """Raise :class:`SchemaError` when the ensemble dimension is missing."""
    if member_dim not in forecast.dims:
        raise SchemaError(
            "ensemble forecast lacks its member dimension",
            expected=f"a dim named {member_dim!r}",
            found=f"dims {tuple(forecast.dims)}",
            hint="pass member_dim='<name>' (for example 'number' in raw GRIB)",
        )


def valid_time(forecast: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """``init_time + lead_time`` as a 2-D (init_time, lead_time) DataArray."""
    for dim in ("init_time", "lead_time"):
        if dim not in forecast.dims:
            raise SchemaError(
                "not in forecast layout",
                expected="dims init_time and lead_time",
                found=f"dims {tuple(forecast.dims)}",
            )
    return forecast["init_time"] + forecast["lead_time"]


def align_to_forecast(
    forecast: xr.DataArray | xr.Dataset,
    truth: xr.DataArray | xr.Dataset,
    missing: str = "raise",
) -> xr.DataArray | xr.Dataset:
    """Truth at each forecast's valid time, in the forecast layout (init_time, lead_time, ...).

    ``truth`` has a ``time`` dim; the result has ``init_time`` and ``lead_time`` instead,
    with the forecast's coordinates, and stays lazy for dask-backed truth (one orthogonal
    selection per lead time; with a dask-backed forecast, one per forecast chunk and lead
    time, so the result is chunked exactly like the forecast). ``missing="raise"`` refuses
    valid times absent from truth; ``missing="nan"`` fills them with NaN (they are then
    skipped by the time means).
    """
    if "time" not in truth.dims:
        raise SchemaError(
            "truth lacks a time dimension", expected="dim 'time'", found=f"dims {tuple(truth.dims)}"
        )
    vt = valid_time(forecast)
    if missing == "raise":
        absent = np.setdiff1d(vt.values.ravel(), truth["time"].values)
        if absent.size:
            raise CoordinateError(
                "truth does not cover every valid time of the forecast",
                expected="truth at every init_time + lead_time",
                found=f"{absent.size} valid times missing, first {absent[0]}",
                hint="subset the forecast's init_time, or pass missing='nan'",
            )
    if _is_chunked(forecast) and missing == "raise":
        out = _align_by_chunk(forecast, truth, vt)
    else:
        parts = []
        for lead in forecast["lead_time"].values:
            times = forecast["init_time"].values + lead
            part = truth.sel(time=times) if missing == "raise" else truth.reindex(time=times)
            parts.append(
                part.rename(time="init_time").assign_coords(init_time=forecast["init_time"].values)
            )
        out = _concat_leads(parts)
    out = out.assign_coords(
        init_time=forecast["init_time"].values, lead_time=forecast["lead_time"].values
    )
    return out.transpose("init_time", "lead_time", ...)


def _concat_leads(parts: list) -> xr.DataArray | xr.Dataset:
    return xr.concat(parts, dim="lead_time", coords="minimal", compat="override", join="override")


_GATHER = "gather-rows-"  # the name prefix of gather_rows's graph layers


def gather_rows(source, positions: np.ndarray, init_chunks: tuple[int, ...]):
    """Dask array ``(init, lead, *rest)`` of rows ``positions[i, j]`` of ``source`` (rows
    first), one task per block of ``init_chunks`` init times.

    Each task takes only the source chunks holding its rows (a window of valid times), so
    the graph has one task per forecast block and never rechunks: a year of daily forecasts
    of 40 leads is 183 tasks a field, not a rechunk of each window (which took 54 ms of
    graph building a block). ``source``: a dask array (chunked along rows only; other axes
    are merged to one chunk) or a numpy array (one chunk, held once by the graph).
    """
    import dask.array as dsa
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from dask.task_spec import List, Task, TaskRef

    if not isinstance(source, dsa.Array):
        source = dsa.from_array(np.asarray(source), chunks=-1)
    source = source.rechunk({k: -1 for k in range(1, source.ndim)})
    bounds = np.cumsum((0, *source.chunks[0]))
    name = _GATHER + tokenize(source, positions, init_chunks)
    rest = (0,) * (source.ndim - 1)
    steps = _even_steps(positions, bounds)  # once for all inits: (init, 3), block numbers global
    graph, start = {}, 0
    for b, n in enumerate(init_chunks):
        rows = positions[start : start + n]
        first = int(np.searchsorted(bounds, rows.min(), side="right")) - 1
        last = int(np.searchsorted(bounds, rows.max(), side="right")) - 1
        keys = List(*(TaskRef((source.name, c, *rest)) for c in range(first, last + 1)))
        local = steps[start : start + n].copy()
        local[local[:, 0] >= 0, 0] -= first
        key = (name, b, 0, *rest)
        graph[key] = Task(key, _take_rows, keys, rows, bounds[first : last + 2], local)
        start += n
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[source])
    chunks = (tuple(init_chunks), (positions.shape[1],), *((k,) for k in source.shape[1:]))
    return dsa.Array(layer, name, chunks, dtype=source.dtype)


def _take_rows(
    blocks: list[np.ndarray], rows: np.ndarray, bounds: np.ndarray, steps: np.ndarray
) -> GatheredRows:
    return GatheredRows(blocks, rows, bounds, steps)


def inline_gathered(array, key: tuple) -> tuple[object, set[str]]:
    """What a consumer task may hold in place of ``array``'s block ``key``: for a
    :func:`gather_rows` array, the gathering task itself (a ``Task`` of ``_take_rows`` over
    the source keys, which dask runs inside the consumer's task), else a reference to
    ``key``; with the names of the graph layers the consumer then depends on.

    A gathered block is a cheap wrapper (:class:`GatheredRows` copies nothing until read),
    so a task of its own buys nothing but scheduling: a year of daily forecasts of 7 fields
    has 2 x 1,281 of them (truth and climatology), half the tasks of scoring it, at about
    0.2 ms of the threaded scheduler's time each.
    """
    from dask.task_spec import Task, TaskRef

    if not array.name.startswith(_GATHER):  # (asking another layer for a task may build
        return TaskRef(key), {array.name}  # all of its tasks: a blockwise layer's, say)
    task = array.dask.layers[array.name].get(key)
    if isinstance(task, Task) and task.func is _take_rows:
        return task, set(array.dask.dependencies[array.name])
    return TaskRef(key), {array.name}


class GatheredRows:
    """One chunk of :func:`gather_rows`: the rows ``rows`` (global row numbers) of the
    consecutive source ``blocks`` spanning ``bounds``, copied only when read.

    A duck array: numpy converts it (``__array__``) wherever it goes, and the metric kernels
    (:func:`climbench.metrics._reduce.weighted_means_kernel`) index it by blocks of rows, so
    the truth and climatology of a forecast block are copied in cache-sized pieces next to
    the forecast values they meet, never as a whole block first.
    """

    def __init__(
        self,
        blocks: list[np.ndarray],
        rows: np.ndarray,
        bounds: np.ndarray,
        steps: np.ndarray | None = None,
    ) -> None:
        """``steps``: :func:`_even_steps` of ``rows`` in ``bounds`` when already known
        (:func:`gather_rows` finds them for every chunk at once, when it builds the graph)."""
        self.blocks, self.rows, self.bounds = blocks, rows, bounds
        self.shape = (*rows.shape, *blocks[0].shape[1:])
        self.dtype = blocks[0].dtype
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        self._steps = _even_steps(rows, bounds) if steps is None else steps

    def __getitem__(self, index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        lead = self.rows.ndim
        out = self._view(index[:lead])
        if out is None:
            out = self._take(self.rows[index[:lead]])
        rest = index[lead:]
        return out[(slice(None),) * (out.ndim - len(self.shape) + lead) + rest] if rest else out

    def _view(self, head: tuple) -> np.ndarray | None:
        """The rows of one leading index (one init: a slice of length 1 or an integer, the
        other row axes whole) as a read-only view of its source block, when they step evenly
        through one block: the valid times of one init at evenly spaced leads in a regular
        truth, or their climatology entries. The kernels read one init per block, so the
        common case copies nothing."""
        first = head[0] if head else slice(None)
        if any(h != slice(None) for h in head[1:]):
            return None
        if isinstance(first, slice):
            start, stop, step = first.indices(self.rows.shape[0])
            if stop - start != 1 or step != 1:
                return None
        elif isinstance(first, int | np.integer):
            start = int(first) % self.rows.shape[0]
        else:
            return None
        if self._steps.shape[0] == 0 or self._steps[start, 0] < 0:
            return None
        b, lo, step = (int(v) for v in self._steps[start])
        n = self.rows[0].size
        out = self.blocks[b][lo : lo + step * (n - 1) + 1 : step]
        shape = self.rows.shape[1:] if not isinstance(first, slice) else (1, *self.rows.shape[1:])
        out = out.reshape(*shape, *out.shape[1:])
        out.flags.writeable = False  # a view of the source chunk: never written through
        return out

    def _take(self, rows: np.ndarray) -> np.ndarray:
        if len(self.blocks) == 1:
            return np.take(self.blocks[0], rows - self.bounds[0], axis=0)
        out = np.empty((*rows.shape, *self.blocks[0].shape[1:]), dtype=self.dtype)
        for block, lo, hi in zip(self.blocks, self.bounds[:-1], self.bounds[1:], strict=True):
            inside = (rows >= lo) & (rows < hi)
            out[inside] = block[rows[inside] - lo]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self._take(self.rows)
        return out if dtype is None else out.astype(dtype, copy=False)


def _even_steps(rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """For each leading index of ``rows``, ``(block, first row in it, step)`` when its rows
    step evenly (step > 0) through one source block of ``bounds``, else ``(-1, -1, -1)``:
    an (n, 3) int array."""
    if rows.ndim < 1 or rows.size == 0:
        return np.full((0, 3), -1, dtype=np.int64)
    flat = rows.reshape(rows.shape[0], -1)
    if flat.shape[1] < 2:
        return np.full((flat.shape[0], 3), -1, dtype=np.int64)
    step = flat[:, 1] - flat[:, 0]
    even = (np.diff(flat, axis=1) == step[:, None]).all(axis=1) & (step > 0)
    block = np.searchsorted(bounds, flat[:, 0], side="right") - 1
    even &= flat[:, -1] < bounds[np.minimum(block + 1, bounds.size - 1)]
    out = np.stack([block, flat[:, 0] - bounds[block], step], axis=1).astype(np.int64)
    out[~even] = -1
    return out


def _align_array(truth: xr.DataArray, positions: np.ndarray, init_chunks: tuple[int, ...]):
    axis = truth.get_axis_num("time")
    moved = truth.transpose("time", *(d for d in truth.dims if d != "time"))
    data = gather_rows(moved.data, positions, init_chunks)
    dims = ("init_time", "lead_time", *moved.dims[1:])
    coords = {k: v for k, v in truth.coords.items() if "time" not in v.dims}
    out = xr.DataArray(data, dims=dims, coords=coords, name=truth.name, attrs=truth.attrs)
    order = (*truth.dims[:axis], "init_time", "lead_time", *truth.dims[axis + 1 :])
    return out.transpose(*order)


def _align_by_chunk(forecast, truth, vt: xr.DataArray):
    """Dask forecast: one task per forecast init_time chunk holding all lead times, gathered
    from the truth chunks of its window of valid times (:func:`gather_rows`), so scoring
    never splits or rechunks the forecast and the graph stays small (memory bounded by a
    few forecast chunks)."""
    positions = pd.Index(truth["time"].values).get_indexer(vt.values.ravel()).reshape(vt.shape)
    if isinstance(truth, xr.Dataset):
        return xr.Dataset(
            {k: _align_array(v, positions, _init_chunks(forecast, k)) for k, v in truth.items()},
            attrs=truth.attrs,
        )
    return _align_array(truth, positions, _init_chunks(forecast, truth.name))


def climatology_at(climatology: xr.DataArray | xr.Dataset, times: xr.DataArray):
    """The climatology at each of ``times`` (any dims), by ``dayofyear`` and ``hour``.

    A climatology without a ``dayofyear`` dim is returned unchanged (it is already aligned or
    broadcastable). ``dayofyear`` runs 1-366 as in ``time.dt.dayofyear``.
    """
    if "dayofyear" not in climatology.dims:
        return climatology
    index = {"dayofyear": times.dt.dayofyear}
    if "hour" in climatology.dims:
        index["hour"] = times.dt.hour
    return climatology.sel(index)


#: a climatology up to this size is gathered from one in-memory chunk; larger ones by rows
_CLIMATOLOGY_CHUNK_BYTES = 64 * 2**20


def climatology_for_forecast(climatology, forecast):
    """The climatology at the valid times of a dask-backed ``forecast``, chunked as the
    forecast (one task per init block, :func:`gather_rows`); other inputs go through
    :func:`climatology_at` (label selection at every valid time)."""
    if not _is_chunked(forecast) or "dayofyear" not in climatology.dims:
        return climatology_at(climatology, valid_time(forecast))
    if isinstance(climatology, xr.Dataset):
        return xr.Dataset(
            {
                k: climatology_for_forecast(v, _field_of(forecast, k))
                for k, v in climatology.items()
            },
            attrs=climatology.attrs,
        )
    import dask.array as dsa

    vt = pd.DatetimeIndex(valid_time(forecast).values.ravel())
    entry = vt.day_of_year.to_numpy() - 1
    clim = climatology.transpose("dayofyear", *(d for d in climatology.dims if d != "dayofyear"))
    per_day = 1
    if "hour" in clim.dims:
        clim = clim.transpose("dayofyear", "hour", ...)
        hours = clim["hour"].values
        hour = np.searchsorted(hours, vt.hour.to_numpy())
        if not np.array_equal(hours[np.clip(hour, 0, hours.size - 1)], vt.hour.to_numpy()):
            raise CoordinateError(
                "the climatology lacks an hour of the valid times",
                variable=str(climatology.name),
                expected=f"hours {sorted(set(vt.hour))}",
                found=f"hours {list(hours)}",
            )
        per_day = hours.size
        entry = entry * per_day + hour
    rest = clim.shape[1 + ("hour" in clim.dims) :]
    rows = (clim.sizes["dayofyear"] * per_day, *rest)
    data = clim.data if isinstance(clim.data, dsa.Array) else np.asarray(clim.data)
    if clim.nbytes > _CLIMATOLOGY_CHUNK_BYTES:
        data = dsa.asarray(data)
        days = max(1, _CLIMATOLOGY_CHUNK_BYTES // max(1, clim.nbytes // clim.sizes["dayofyear"]))
        data = data.rechunk({0: days, **{k: -1 for k in range(1, data.ndim)}}).reshape(rows)
    elif isinstance(data, dsa.Array):
        data = _joined_rows(data, rows)
    else:
        data = data.reshape(rows)
    gathered = gather_rows(
        data, entry.reshape(forecast["init_time"].size, -1), _init_chunks(forecast, clim.name)
    )
    dims = ("init_time", "lead_time", *clim.dims[1 + ("hour" in clim.dims) :])
    coords = {k: v for k, v in clim.coords.items() if set(v.dims) <= set(dims[2:])}
    return xr.DataArray(gathered, dims=dims, coords=coords, name=clim.name, attrs=clim.attrs)


def _joined_rows(data, rows: tuple[int, ...]):
    """A small dask array as one chunk of shape ``rows``: its blocks joined and reshaped in
    one task.

    A climatology stored one hour per chunk (``(366, 1, lat, lon)``, as
    :func:`climbench.tasks.climatology.write_climatology` writes it) and flattened to
    (day x hour) rows by dask's reshape is rechunked into row blocks that split the days
    (364, 364, 364, 184, 188 rows): the valid times of one init then often straddle two
    blocks and are copied row by row instead of viewed (:class:`GatheredRows`), the
    rechunk adds tasks, and it imports ``distributed`` (0.35 s).
    """
    import dask.array as dsa
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from dask.task_spec import Task

    name = "joined-rows-" + tokenize(data, rows)
    key = (name, *(0,) * len(rows))
    blocks = _task_refs(data.__dask_keys__())
    graph = {key: Task(key, _join_blocks, blocks, rows)}
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[data])
    return dsa.Array(layer, name, tuple((n,) for n in rows), dtype=data.dtype)


def _task_refs(keys):
    """A nested list of dask keys (``Array.__dask_keys__()``) as task-spec references, so
    the task holding it receives the nested list of their blocks."""
    from dask.task_spec import List, TaskRef

    return List(*(_task_refs(k) for k in keys)) if isinstance(keys, list) else TaskRef(keys)


def _join_blocks(blocks: list, rows: tuple[int, ...]) -> np.ndarray:
    return np.block(blocks).reshape(rows)


def _chunked_fields(forecast: xr.DataArray | xr.Dataset) -> list[xr.DataArray]:
    """The dask-backed fields of ``forecast`` with init times. ``Dataset.chunks`` would
    raise where fields are chunked differently along a dim, as ``xr.open_zarr(chunks=
    "auto")`` chunks a store of 2-D and 3-D fields."""
    fields = forecast.data_vars.values() if isinstance(forecast, xr.Dataset) else [forecast]
    return [v for v in fields if v.chunks and "init_time" in v.dims]


def _is_chunked(forecast: xr.DataArray | xr.Dataset) -> bool:
    """Whether the forecast's fields are dask-backed (see :func:`_chunked_fields`)."""
    return bool(_chunked_fields(forecast))


def _field_of(forecast, name):
    """The dask-backed forecast field ``name`` (the fields of a Dataset may be chunked
    differently), else the first dask-backed field."""
    fields = _chunked_fields(forecast)
    return next((v for v in fields if v.name == name), fields[0])


def _init_chunks(forecast, name=None) -> tuple[int, ...]:
    """The init_time chunks of the forecast field ``name`` (see :func:`_field_of`)."""
    return tuple(_field_of(forecast, name).chunksizes["init_time"])
