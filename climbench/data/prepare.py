"""Prepared stores: sources -> one regridded, float32, time-chunked Zarr store + manifest.

``prepare`` opens each source as a canonical dataset, regrids it to the target grid,
combines them (files split by time are concatenated, files of different variables merged),
selects variables, levels and times, and streams the result to Zarr with dask, so stores
larger than memory are fine. Then it computes per-variable normalisation statistics over
the requested period only, from the written store, and writes a manifest. The whole store
is written to a hidden partial directory and renamed into place at the end
(:func:`climbench.io.atomic_directory`): an interrupted prepare leaves nothing that looks
complete.

Layout (Zarr v3): each variable is chunked one time step per chunk (a training sample reads
exactly what it needs), grouped into shards of about ``SHARD_BYTES`` so that a 40-year
6-hourly store is a few hundred files, not a hundred thousand. ``time_chunk`` changes the
inner chunk. See ``benchmarks/bench_prepare.py`` for the measurements behind the choice.

Manifest (``climbench_manifest.json`` in the store, also ``read_manifest``): the sources with
their sha256, the grid, method, variables with units and levels, time range, statistics and
their period, the climbench version and the library versions.

Statistics are plain (not area-weighted) means and standard deviations over time, member,
lat and lon per variable and level, the convention of WeatherBench and ClimaX
normalisation; ``diff_std`` is the standard deviation of one-step differences, used to
normalise residual (tendency) targets.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from climbench.data import layouts, plausibility, schema
from climbench.data.formats import harmless_warnings_silenced, is_url, reading
from climbench.data.grids import Grid
from climbench.data.open import combine, open_dataset, select_variables
from climbench.data.progress import progress_bar
from climbench.data.regrid import regrid, resolve_grid
from climbench.data.remote import sha256_file
from climbench.data.shard_reader import in_time_range, lazy_shards, read_steps
from climbench.errors import (
    ConfigError,
    CoordinateError,
    DataValueError,
    RegridError,
    StoreError,
)
from climbench.io import atomic_directory, check_output_path, write_json_atomic
from climbench.version import __version__

MANIFEST = "climbench_manifest.json"
SHARD_BYTES = 32 * 2**20
STATS_BLOCK_BYTES = 8 * 2**20
PathLike = str | os.PathLike


def prepare(
    sources: Sequence[PathLike | xr.Dataset] | PathLike | xr.Dataset,
    out: PathLike,
    *,
    grid: str | float | None = None,
    method: str = "conservative",
    variables: Sequence[str] | None = None,
    levels: Sequence[float] | None = None,
    time_range: tuple[str | None, str | None] | None = None,
    stats_period: tuple[str | None, str | None] | None = None,
    time_chunk: int | None = None,
    source: str | None = None,
    units: Mapping[str, str] | None = None,
    valid_ranges: Mapping[str, tuple[float, float]] | None = None,
    allow_missing_chunks: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a training-ready Zarr store from raw sources; returns its path.

    Args:
        sources: paths, URLs, globs or canonical datasets (e.g. from
            :mod:`climbench.data.synthetic`).
        out: the store to create (refused if it exists, unless ``overwrite``).
        grid: target grid (see :func:`climbench.data.regrid.regrid`); None keeps the
            sources' grid, which must then be shared.
        method: ``"conservative"`` or ``"bilinear"``.
        variables: canonical names or aliases to keep (default: all).
        levels: pressure levels (hPa) to keep (default: all).
        time_range: ``(start, end)`` of the times to keep, inclusive.
        stats_period: ``(start, end)`` of the times the normalisation statistics are
            computed over: pass the training split so no test data leaks (default: all
            kept times).
        time_chunk: time steps per Zarr chunk (default 1).
        source, units, allow_missing_chunks: passed to :func:`climbench.open_dataset`.
        valid_ranges: ``{variable: (low, high)}`` in canonical units, replacing the
            plausible range of a variable. Every variable with a range is checked in the
            same pass as the statistics (each written value is read once); a value
            outside refuses the whole store (see ``open_dataset(check_values=True)``).
        overwrite: replace an existing store atomically.
        progress: show a progress bar.
    """
    out = Path(out)
    items = [sources] if isinstance(sources, (str, os.PathLike, xr.Dataset)) else list(sources)
    inputs = _local_inputs(items)
    # before any work, not after minutes of it
    check_output_path(out, "prepared-store", overwrite=overwrite, inputs=inputs)
    target = resolve_grid(grid) if grid is not None else None
    parts, provenance = [], []
    for item in items:
        ds = _open_source(
            item, source=source, units=units, allow_missing_chunks=allow_missing_chunks
        )
        provenance.append(_provenance(item, ds))
        _check_layout(ds, target)
        if time_range is not None and "time" in ds.dims:
            ds = ds.sel(time=slice(*time_range))  # before combining: spans may differ
        if target is not None:
            ds = regrid(ds, target, method=method)
        parts.append(ds)
    _check_same_grid(parts)
    ds = parts[0] if len(parts) == 1 else combine(parts, [p["path"] for p in provenance])
    if variables:
        ds = select_variables(ds, variables, name=str(out))
    ds = _select(ds, levels, time_range, name=str(out))
    ds = _as_float32(ds)
    encoding = _encoding(ds, time_chunk or 1)
    ds = _chunk_for_writing(ds, encoding)
    with (
        atomic_directory(out, "prepared-store", overwrite=overwrite, inputs=inputs) as tmp,
        harmless_warnings_silenced(),
    ):
        write = ds.to_zarr(
            tmp,
            mode="w",
            encoding=encoding,
            compute=False,
            consolidated=True,
            zarr_format=3,
            write_empty_chunks=True,  # a missing chunk then always means damage
        )
        with (
            progress_bar(f"writing {out.name}", enabled=progress),
            reading(_sources_text(provenance), "the sources"),
        ):
            dask.compute(write)
        # Statistics read ~STATS_BLOCK_BYTES per block: float64 temporaries of several
        # reductions (std, one-step differences) per block on every core must stay small.
        written = xr.open_zarr(
            tmp,
            consolidated=True,
            chunks={"time": _stats_steps(ds, time_chunk or 1)} if "time" in ds.dims else {},
        )
        with progress_bar("statistics", enabled=progress):
            stats, period = _statistics(
                written, stats_period, str(out), _sources_text(provenance), valid_ranges
            )
        manifest = {
            "format": "climbench prepared store",
            "format_version": 1,
            "climbench_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sources": provenance,
            "grid": (
                target.to_dict()
                if target is not None
                else {"name": "source", **_grid_dict(written)}
            ),
            "method": method if target is not None else None,
            "variables": {
                str(n): {
                    "units": v.attrs.get("units", ""),
                    "dims": list(map(str, v.dims)),
                    "levels": [float(x) for x in written["level"].values]
                    if "level" in v.dims
                    else None,
                }
                for n, v in written.data_vars.items()
            },
            "time": _time_dict(written),
            "chunks": {str(n): list(enc["chunks"]) for n, enc in encoding.items()},
            "stats_period": period,
            "stats": stats,
            "libraries": _library_versions(),
        }
        write_json_atomic(Path(tmp) / MANIFEST, manifest)
    return out


def read_manifest(store: PathLike) -> dict | None:
    """The manifest of a prepared store, or None when ``store`` is not one."""
    path = Path(store) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def open_prepared(store: PathLike, time_range: tuple[object, object] | None = None) -> xr.Dataset:
    """Open a prepared store lazily, over ``time_range`` (inclusive) when given; refuses a
    directory without a manifest (incomplete).

    Variables are dask arrays of about 8 MB chunks within a shard, each read by the shard
    reader (:func:`~climbench.data.shard_reader.lazy_shards`): through zarr and dask a
    one-step chunk costs about 5 ms (7 s for a year of 6-hourly steps of one variable), the
    same year read by shards 0.08 s. Pass ``time_range`` rather than selecting the times
    afterwards: the chunks then start at the range's first step, so nothing outside it is
    read.
    """
    _require_complete(store)
    with harmless_warnings_silenced():
        ds = xr.open_zarr(store, consolidated=True, chunks=None)
    return lazy_shards(store, ds, time_range)


def load_prepared(
    store: PathLike,
    variables: Sequence[str],
    time_range: tuple[object, object] | None = None,
) -> xr.Dataset:
    """``variables`` of a prepared store over ``time_range`` (inclusive), read into memory.

    The same values as ``open_prepared(store)[variables].sel(time=slice(*time_range))
    .load()``, for selections that fit in memory (such as the scorer's truth), read much
    faster. Through dask, each one-step chunk of a prepared store is a task and a zarr call
    (about 5 ms: 7 s for a year of 6-hourly steps of one variable); one zarr call for the
    whole range still pays about 0.25 ms of zarr's per-chunk machinery a step (0.4 s).
    Arrays in the layout :func:`prepare` writes (time-sharded, zstd inner chunks, index at
    the end) are therefore read shard by shard: one file read for the needed byte range,
    the shard index checked against its CRC32C, each inner chunk decoded with numcodecs
    (0.08 s). Other arrays go through zarr.
    """
    _require_complete(store)
    with harmless_warnings_silenced():
        ds = xr.open_zarr(store, consolidated=True, chunks=None)[list(variables)]
    ds, start = in_time_range(ds, time_range)
    stop = start + ds.sizes.get("time", 0)
    data = {}
    for name, da in ds.data_vars.items():
        fast = read_steps(store, da, start, stop) if da.dims[:1] == ("time",) else None
        data[name] = da.copy(data=fast) if fast is not None else da.load()
    return ds.assign(data).load()


def _require_complete(store: PathLike) -> None:
    if read_manifest(store) is None:
        raise StoreError(
            "not a complete prepared store",
            path=store,
            expected=f"a Zarr store with {MANIFEST}",
            found="no manifest",
            hint="run `climbench data prepare` again",
        )


def _local_inputs(items: list) -> list[Path]:
    """The local files and stores among ``items`` (globs expanded), which the output may
    not replace or lie inside."""
    out = []
    for item in items:
        if isinstance(item, xr.Dataset) or is_url(str(item)):
            continue
        text = str(item)
        out.extend(Path(p) for p in (glob.glob(text) if glob.has_magic(text) else [text]))
    return out


def _open_source(
    item: PathLike | xr.Dataset,
    source: str | None,
    units: Mapping[str, str] | None,
    allow_missing_chunks: bool,
) -> xr.Dataset:
    if isinstance(item, xr.Dataset):
        schema.validate(item, name=item.attrs.get("climbench_path", "dataset"))
        return item
    return open_dataset(
        item, source=source, units=units, chunks={}, allow_missing_chunks=allow_missing_chunks
    )


def _sources_text(provenance: list[dict]) -> str:
    """The sources of a store for messages: up to three paths, then a count."""
    paths = [str(p["path"]) for p in provenance]
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return ", ".join(paths[:3]) + more


def _provenance(item: PathLike | xr.Dataset, ds: xr.Dataset) -> dict:
    meta = {
        k: str(v)
        for k, v in ds.attrs.items()
        if k.startswith("climbench_") or k in ("seed", "generator_version")
    }
    if isinstance(item, xr.Dataset):
        return {"path": meta.get("climbench_path", "<in-memory dataset>"), **meta}
    path = Path(str(item))
    entry = {"path": str(item), **meta}
    if path.is_file():
        entry.update(sha256=sha256_file(path), size_bytes=path.stat().st_size)
    elif path.is_dir():
        entry.update(listing_sha256=_listing_hash(path))
    return entry


def _listing_hash(path: Path) -> str:
    """sha256 over a store's file names and sizes and its metadata files' contents."""
    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        digest.update(f"{rel}:{f.stat().st_size}\n".encode())
        if f.name in ("zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"):
            digest.update(f.read_bytes())
    return digest.hexdigest()


def _check_layout(ds: xr.Dataset, target: Grid | None) -> None:
    """Prepared stores are regular grids: a curvilinear source needs ``grid``; station
    and index data have no grid to prepare (they are scored as they are)."""
    layout = layouts.layout_of(ds)
    if layout == "regular" or (layout == "curvilinear" and target is not None):
        return
    raise ConfigError(
        f"a {layout} source cannot be prepared"
        + (" without a target grid" if layout == "curvilinear" else ""),
        path=ds.attrs.get("climbench_path"),
        expected="a regular latitude-longitude grid"
        + (", or --grid to regrid to one" if layout == "curvilinear" else ""),
        found=f"{layout} data with dims {dict(ds.sizes)}",
        hint="pass --grid (e.g. --grid 0.25, or 'lat=S:N:D,lon=W:E:D') and --method"
        if layout == "curvilinear"
        else "open it with climbench.open_dataset; score gridded forecasts at stations with "
        "climbench.evaluation.stations.score_stations",
    )


def _check_same_grid(parts: list[xr.Dataset]) -> None:
    first = parts[0]
    for ds in parts[1:]:
        if (
            ds.sizes["lat"] != first.sizes["lat"]
            or ds.sizes["lon"] != first.sizes["lon"]
            or not (np.allclose(ds["lat"], first["lat"]) and np.allclose(ds["lon"], first["lon"]))
        ):
            raise RegridError(
                "sources are on different grids",
                path=ds.attrs.get("climbench_path"),
                expected=f"the grid of {first.attrs.get('climbench_path')} "
                f"({first.sizes['lat']} x {first.sizes['lon']})",
                found=f"{ds.sizes['lat']} x {ds.sizes['lon']}",
                hint="pass --grid to regrid all sources to one grid",
            )


def _select(
    ds: xr.Dataset,
    levels: Sequence[float] | None,
    time_range: tuple[str | None, str | None] | None,
    name: str,
) -> xr.Dataset:
    if levels:
        if "level" not in ds.dims:
            raise CoordinateError(
                "levels requested but the data has no pressure levels",
                path=name,
                expected="a 'level' dimension",
                found=f"dims {list(ds.dims)}",
            )
        missing = [lv for lv in levels if not np.isclose(ds["level"].values, lv).any()]
        if missing:
            raise CoordinateError(
                "requested pressure levels are missing",
                path=name,
                expected=f"levels among {ds['level'].values.tolist()}",
                found=f"{missing}",
            )
        ds = ds.sel(level=[float(lv) for lv in levels])
    if time_range is not None and "time" in ds.dims:
        ds = ds.sel(time=slice(*time_range))
        if ds.sizes["time"] == 0:
            raise CoordinateError(
                "no time step in the requested range",
                path=name,
                expected=f"times within {time_range}",
                found="none",
                hint="check --start / --end",
            )
    return ds


def _as_float32(ds: xr.Dataset) -> xr.Dataset:
    return ds.map(lambda da: da.astype(np.float32) if da.dtype.kind == "f" else da, keep_attrs=True)


def _encoding(ds: xr.Dataset, time_chunk: int) -> dict:
    encoding = {}
    for name, da in ds.data_vars.items():
        chunks = tuple(time_chunk if d == "time" else da.sizes[d] for d in da.dims)
        enc = {"chunks": chunks}
        if "time" in da.dims:
            field_bytes = da.dtype.itemsize * math.prod(da.sizes[d] for d in da.dims if d != "time")
            per_shard = max(1, SHARD_BYTES // max(field_bytes * time_chunk, 1)) * time_chunk
            per_shard = min(per_shard, math.ceil(da.sizes["time"] / time_chunk) * time_chunk)
            enc["shards"] = tuple(per_shard if d == "time" else da.sizes[d] for d in da.dims)
        # drop encodings inherited from the source files
        da.encoding = {}
        encoding[str(name)] = enc
    for name in ds.coords:
        ds[name].encoding = {}
    return encoding


def _stats_steps(ds: xr.Dataset, time_chunk: int) -> int:
    """Time steps per statistics block: about STATS_BLOCK_BYTES of the largest variable."""
    step_bytes = max(
        (
            da.dtype.itemsize * math.prod(da.sizes[d] for d in da.dims if d != "time")
            for da in ds.data_vars.values()
            if "time" in da.dims
        ),
        default=1,
    )
    steps = max(1, STATS_BLOCK_BYTES // step_bytes)
    return max(time_chunk, steps // time_chunk * time_chunk)


def _chunk_for_writing(ds: xr.Dataset, encoding: dict) -> xr.Dataset:
    """Dask chunks equal to shards (writes never share a shard) and whole fields."""
    out = {}
    for name, da in ds.data_vars.items():
        block = encoding[str(name)].get("shards", encoding[str(name)]["chunks"])
        out[name] = da.chunk(dict(zip(da.dims, block, strict=True)))
    return ds.assign(out)


def _statistics(
    ds: xr.Dataset,
    period: tuple[str | None, str | None] | None,
    name: str,
    sources: str,
    valid_ranges: Mapping[str, tuple[float, float]] | None,
) -> tuple[dict, dict]:
    """Normalisation statistics of the written store ``ds`` over ``period``; in the same
    dask computation (each chunk read once), the extremes of every variable with a
    plausible range over all times, refused if outside it (naming ``sources``)."""
    sub = ds.sel(time=slice(*period)) if (period and "time" in ds.dims) else ds
    if "time" in ds.dims and sub.sizes["time"] == 0:
        raise CoordinateError(
            "statistics period selects no time step",
            path=name,
            expected=f"times within {period}",
            found="none",
        )
    results = {}
    for vname, da in sub.data_vars.items():
        if da.dtype.kind != "f":
            continue
        dims = [
            d for d in da.dims if d not in ("level",) and d in ("time", "member", "lat", "lon")
        ] + [d for d in da.dims if d not in schema.CANONICAL_ORDER]
        x = da.astype(np.float64)
        todo = {
            "count": x.notnull().sum(dims),
            "mean": x.mean(dims),
            "std": x.std(dims),
            "min": x.min(dims),
            "max": x.max(dims),
        }
        if "time" in da.dims and da.sizes["time"] > 1:
            todo["diff_std"] = x.diff("time").std(dims)
        results[str(vname)] = todo
    ranges = plausibility.plausible_ranges(ds, valid_ranges)
    extremes = {v: plausibility.value_extremes(ds[v]) for v in ranges}
    with plausibility.all_nan_warnings_silenced():
        computed, extremes = dask.compute(results, extremes)
    stats = {}
    for vname, values in computed.items():
        if int(np.sum(values["count"].values)) == 0:
            raise DataValueError(
                "variable is entirely NaN",
                path=name,
                variable=vname,
                expected="at least one finite value",
                found="only NaN",
                hint="check the source's _FillValue, the region and the "
                "time range; nothing was written",
            )
        stats[vname] = {k: (np.asarray(v.values).tolist()) for k, v in values.items()}
        if "level" in ds[vname].dims:
            stats[vname]["level"] = [float(v) for v in ds["level"].values]
    plausibility.check_value_ranges(
        ds, extremes, ranges, f"{sources} (nothing was written to {name})"
    )
    if "time" in ds.dims:
        times = sub["time"].values
        period_out = {"start": str(times[0]), "end": str(times[-1]), "steps": int(times.size)}
    else:
        period_out = {"start": None, "end": None, "steps": 0}
    return stats, period_out


def _grid_dict(ds: xr.Dataset) -> dict:
    return {
        "nlat": int(ds.sizes["lat"]),
        "nlon": int(ds.sizes["lon"]),
        "lat_first": float(ds["lat"][0]),
        "lat_last": float(ds["lat"][-1]),
        "lon_first": float(ds["lon"][0]),
        "lon_last": float(ds["lon"][-1]),
    }


def _time_dict(ds: xr.Dataset) -> dict | None:
    if "time" not in ds.dims:
        return None
    times = ds["time"].values
    step = schema.time_step(ds)
    return {
        "start": str(times[0]),
        "end": str(times[-1]),
        "steps": int(times.size),
        "step": str(step) if step is not None else "irregular",
        "calendar": getattr(times[0], "calendar", "standard"),
    }


def _library_versions() -> dict:
    import dask as dask_mod
    import zarr

    return {
        "xarray": xr.__version__,
        "zarr": zarr.__version__,
        "dask": dask_mod.__version__,
        "numpy": np.__version__,
    }
