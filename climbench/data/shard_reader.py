"""Reading time steps of a prepared store shard by shard, without zarr's per-chunk cost.

Arrays in the layout :func:`climbench.prepare` writes (time-sharded, zstd inner chunks,
index at the end, every chunk written) are read one shard at a time: one file read for the
needed byte range, the shard index checked against its CRC32C, each inner chunk decoded
with numcodecs. Through dask each one-step chunk is a task and a zarr call (about 5 ms: 7 s
for a year of 6-hourly steps of one variable); this reads the same year in 0.08 s. A
missing shard or chunk is damage (the writer writes them all) and is refused, never read as
the fill value. Arrays in any other layout return None, for zarr's reader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dask.array as dsa
import google_crc32c
import numpy as np
import xarray as xr
from dask.base import tokenize
from numcodecs import Zstd

from climbench.errors import StoreError

PathLike = str | os.PathLike
#: about this many bytes per dask chunk of :func:`lazy_shards` (a whole number of inner
#: chunks, at most a shard): a time selection reads little beyond what it needs
DASK_CHUNK_BYTES = 8 * 2**20


def read_steps(store: PathLike, da: xr.DataArray, start: int, stop: int) -> np.ndarray | None:
    """Time steps ``start:stop`` of ``da`` (a variable of the prepared ``store``, opened with
    xarray) read shard by shard, or None when its layout or encoding needs zarr's reader."""
    if not _stored_values_are_decoded(da):
        return None
    return _read_time_steps(Path(store) / str(da.name), start, stop)


def lazy_shards(
    store: PathLike, ds: xr.Dataset, time_range: tuple[object, object] | None = None
) -> xr.Dataset:
    """``ds`` (a prepared store opened with ``chunks=None``) with every variable in the
    prepared layout as a dask array read by the shard reader; over ``time_range``
    (inclusive) only, when given.

    The lazy counterpart of :func:`read_steps`: dask and xarray users get the same values
    as zarr's reader gives, in chunks of whole inner chunks of about ``DASK_CHUNK_BYTES``
    within a shard, each one byte-range read. The chunks start at the first step of
    ``time_range``: selecting the range afterwards would read the whole chunks it cuts
    (the scorer's year of truth from a store of several years: twice the steps it needs)
    and copy the part kept. Other variables keep xarray's lazy backend arrays (read by
    zarr when computed).
    """
    ds, start = in_time_range(ds, time_range)
    out = {}
    for name, da in ds.data_vars.items():
        if da.dims[:1] != ("time",) or not _stored_values_are_decoded(da):
            continue
        array = Path(store) / str(name)
        layout = _shard_layout(json.loads((array / "zarr.json").read_text()))
        if layout is None or da.shape[0] == 0:  # (an empty range has nothing to read)
            continue
        shard_steps, chunk_steps, dtype = layout
        step_bytes = dtype.itemsize * int(np.prod(da.shape[1:]))
        steps = min(
            shard_steps, max(1, DASK_CHUNK_BYTES // (step_bytes * chunk_steps)) * chunk_steps
        )
        n = da.shape[0]
        key = "prepared-shards-" + tokenize(os.fspath(array), start, n, steps)
        zeros = (0,) * (da.ndim - 1)
        graph = {
            (key, i, *zeros): (_read_time_steps, array, start + a, start + min(a + steps, n))
            for i, a in enumerate(range(0, n, steps))
        }
        chunks = (
            tuple(min(steps, n - a) for a in range(0, n, steps)),
            *((k,) for k in da.shape[1:]),
        )
        out[name] = da.copy(data=dsa.Array(graph, key, chunks, dtype=da.dtype))
    return ds.assign(out)


def in_time_range(
    ds: xr.Dataset, time_range: tuple[object, object] | None
) -> tuple[xr.Dataset, int]:
    """``ds`` over ``time_range`` (inclusive labels), with the position of its first step
    along the store's time axis; ``ds`` whole (offset 0) when None or without a time dim."""
    if time_range is None or "time" not in ds.dims:
        return ds, 0
    start, stop, _ = ds.indexes["time"].slice_indexer(*time_range).indices(ds.sizes["time"])
    return ds.isel(time=slice(start, stop)), start


def _stored_values_are_decoded(da: xr.DataArray) -> bool:
    """Whether xarray's decoding leaves the stored values as they are (no scale, offset or
    fill value other than NaN), so raw chunks can stand in for ``da.values``."""
    fill = da.encoding.get("_FillValue", da.encoding.get("missing_value"))
    plain = not {"scale_factor", "add_offset"} & set(da.encoding)
    return plain and (fill is None or bool(np.isnan(fill)))


def _read_time_steps(array: Path, start: int, stop: int) -> np.ndarray | None:
    """Steps ``start:stop`` of a time-sharded array of a prepared store (see
    :func:`load_prepared`), or None when the array is not in that layout."""
    meta = json.loads((array / "zarr.json").read_text())
    layout = _shard_layout(meta)
    if layout is None:
        return None
    shard_steps, chunk_steps, dtype = layout
    shape = tuple(meta["shape"])
    out = np.empty((stop - start, *shape[1:]), dtype=dtype.newbyteorder("="))
    per_shard = shard_steps // chunk_steps
    index_bytes = 16 * per_shard + 4
    rest = "/".join(["0"] * (len(shape) - 1))
    decoder = Zstd()
    for shard in range(start // shard_steps, -(-stop // shard_steps)):
        first = shard * shard_steps
        lo = (max(start, first) - first) // chunk_steps
        hi = -(-(min(stop, first + shard_steps) - first) // chunk_steps)
        path = array / "c" / str(shard) / rest
        if not path.is_file():
            raise StoreError(
                "a shard of the prepared store is missing",
                path=path,
                variable=array.name,
                expected=f"the shard of steps {first}..{first + shard_steps - 1}",
                found="no file",
                hint="the store is damaged: prepare it again (--overwrite)",
            )
        with open(path, "rb") as f:
            f.seek(-index_bytes, os.SEEK_END)
            raw_index = f.read(index_bytes)
            if google_crc32c.value(raw_index[:-4]) != int.from_bytes(raw_index[-4:], "little"):
                raise StoreError(
                    "shard index fails its checksum",
                    path=path,
                    expected="the CRC32C stored with the index",
                    found="a different checksum",
                    hint="the store is corrupt: run `climbench data prepare` again",
                )
            index = np.frombuffer(raw_index[:-4], dtype="<u8").reshape(per_shard, 2)[lo:hi]
            present = index[:, 0] != np.iinfo(np.uint64).max
            begin, raw = 0, b""
            if present.any():
                begin = int(index[present, 0].min())
                f.seek(begin)
                raw = f.read(int((index[present, 0] + index[present, 1]).max()) - begin)
        for k, (offset, size) in enumerate(index, start=lo):
            step = first + k * chunk_steps
            a, b = max(start, step), min(stop, step + chunk_steps)
            if offset == np.iinfo(np.uint64).max:  # every chunk is written: this is damage
                raise StoreError(
                    "a chunk of the prepared store is missing",
                    path=path,
                    variable=array.name,
                    expected=f"a chunk for steps {step}..{step + chunk_steps - 1}",
                    found="an empty entry in the shard index",
                    hint="the store is damaged: prepare it again (--overwrite)",
                )
            chunk = np.frombuffer(
                decoder.decode(raw[offset - begin : offset - begin + size]), dtype
            )
            out[a - start : b - start] = chunk.reshape(chunk_steps, *shape[1:])[a - step : b - step]
    return out


def _shard_layout(meta: dict) -> tuple[int, int, np.dtype] | None:
    """(steps per shard, steps per inner chunk, stored dtype) of an array written by
    :func:`prepare` (sharded along time only; little-endian, zstd inner chunks; default
    chunk keys), or None for any other layout."""
    codecs = meta.get("codecs", [])
    if len(codecs) != 1 or codecs[0].get("name") != "sharding_indexed":
        return None
    config = codecs[0]["configuration"]
    inner = [(c["name"], c.get("configuration", {})) for c in config["codecs"]]
    index = [(c["name"], c.get("configuration", {})) for c in config["index_codecs"]]
    shard = meta["chunk_grid"]["configuration"]["chunk_shape"]
    chunk = config["chunk_shape"]
    keys = meta["chunk_key_encoding"]
    if (
        inner[:1] != [("bytes", {"endian": "little"})]
        or [name for name, _ in inner[1:]] != ["zstd"]
        or index != [("bytes", {"endian": "little"}), ("crc32c", {})]
        or config.get("index_location", "end") != "end"
        or keys != {"name": "default", "configuration": {"separator": "/"}}
        or shard[1:] != meta["shape"][1:]
        or chunk[1:] != meta["shape"][1:]
        or shard[0] % chunk[0]
        or meta["data_type"] not in ("float32", "float64")
    ):
        return None
    dtype = np.dtype(meta["data_type"]).newbyteorder("<")
    return shard[0], chunk[0], dtype
