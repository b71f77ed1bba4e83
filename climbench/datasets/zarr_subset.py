"""A subset of a remote Zarr store (WeatherBench 2, ARCO-ERA5, CMIP6 on the cloud), fetched
chunk by chunk in parallel and written as a canonical local store.

1. The store's metadata are read through fsspec (``gs://`` with gcsfs, anonymous unless an
   emulator or endpoint is set; ``https://``), and the coordinate arrays (time, level,
   latitude, longitude) are read in full (they are small).
2. For every selected variable the chunks (shards, for sharded Zarr v3 arrays) that cover
   the selection (its years' time indices, its levels, every latitude and longitude) are
   listed from the array's chunk grid; only those are fetched, ``jobs`` at a time. Each
   chunk is written atomically into a raw mirror of the store (``.chunks/`` in the download
   folder), so a rerun after an interruption fetches only the chunks it lacks. Chunks the
   provider omits (all fill value) are recorded as absent.
3. :func:`climbench.open_dataset` opens the mirror (canonical names, ``lat`` ascending,
   ``lon`` in [0, 360), dims ``time, level, lat, lon``), the exact selection is taken and
   written as ``<store>.zarr`` in the download folder, through
   :func:`climbench.io.atomic_directory`; then the mirror is removed.

The sha256 of every fetched chunk and metadata document is returned for the manifest
(the providers publish none).
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import xarray as xr
import zarr
from zarr.core.buffer import default_buffer_prototype

from climbench.datasets.card import Card
from climbench.datasets.selection import Selection
from climbench.errors import ConfigError, DataFileError, StoreError
from climbench.io import atomic_directory

#: environment variable with a GCS endpoint URL (a mirror or an emulator) for gs:// stores;
#: ``STORAGE_EMULATOR_HOST`` (gcsfs' own) works too
GCS_ENDPOINT_ENV = "CLIMBENCH_GCS_ENDPOINT"
MIRROR = ".chunks"

# WeatherBench 2, ARCO and CMIP6 buckets are flat: gcsfs' experimental zonal / hierarchical
# bucket detection (a gRPC lookup per bucket, retried while it fails) only slows anonymous
# reads and hangs against mirrors and emulators; a user who needs it sets the variable.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


@dataclass
class ArrayPlan:
    """The chunks of one array that cover the selection."""

    name: str
    dims: tuple[str, ...]
    keys: list[str]
    chunk_bytes: int  # uncompressed bytes of one chunk


@dataclass
class ZarrPlan:
    """What a Zarr subset fetches: metadata documents, then the covering chunks."""

    endpoint: str
    metadata: dict[str, bytes]
    arrays: list[ArrayPlan]
    data_vars: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def chunk_count(self) -> int:
        return sum(len(a.keys) for a in self.arrays)

    @property
    def uncompressed_bytes(self) -> int:
        return sum(len(a.keys) * a.chunk_bytes for a in self.arrays)


def storage_options(endpoint: str) -> dict[str, Any]:
    """fsspec options of a store URL: ``gs://`` anonymous, or at ``$CLIMBENCH_GCS_ENDPOINT``."""
    options: dict[str, Any] = {}
    if endpoint.startswith(("gs://", "gcs://")):
        options["token"] = "anon"
        if os.environ.get(GCS_ENDPOINT_ENV):
            options["endpoint_url"] = os.environ[GCS_ENDPOINT_ENV]
    return options


def filesystem(endpoint: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec file system and root path of a store URL."""
    try:
        fs, root = fsspec.core.url_to_fs(endpoint, **storage_options(endpoint))
    except ImportError as err:
        raise _missing_package(endpoint, err) from err
    return fs, root.rstrip("/")


def _missing_package(endpoint: str, err: ImportError) -> ConfigError:
    return ConfigError(
        "a package for this store is missing",
        path=endpoint,
        expected="gcsfs for gs:// stores",
        found=str(err),
        hint='pip install "climbench[download]"',
    )


def plan(card: Card, selection: Selection, endpoint: str) -> ZarrPlan:
    """Read the store's metadata and coordinates and list the chunks covering ``selection``."""
    try:
        if "://" in endpoint and not endpoint.startswith("file://"):
            store = zarr.storage.FsspecStore.from_url(
                endpoint, storage_options=storage_options(endpoint), read_only=True
            )
        else:
            store = zarr.storage.LocalStore(endpoint.removeprefix("file://"), read_only=True)
        group = zarr.open_group(store, mode="r")
    except ImportError as err:
        raise _missing_package(endpoint, err) from err
    except FileNotFoundError as err:
        raise DataFileError(
            "no Zarr store at the endpoint",
            path=endpoint,
            expected="a Zarr group (zarr.json, or .zgroup / .zmetadata)",
            found="nothing",
            hint="the card may be out of date; point it elsewhere with --endpoint or "
            f"${card.endpoint_env}",
        ) from err
    except Exception as err:  # noqa: BLE001 (network and auth errors of any fsspec backend)
        raise _remote_error(endpoint, err, card) from err
    arrays = {name: arr for name, arr in group.arrays()}
    native = [v.native for v in selection.variables]
    missing = [n for n in native if n not in arrays]
    if missing:
        raise DataFileError(
            "the store lacks variables of the card",
            path=endpoint,
            variable=missing[0],
            expected=f"arrays {native}",
            found=f"arrays {sorted(arrays)}",
            hint="the card may be out of date",
        )
    dims_of = {name: _dims(arr) for name, arr in arrays.items()}
    wanted_dims = {d for n in native for d in dims_of[n]}
    coords = [n for n, d in dims_of.items() if d == (n,) and n in wanted_dims]
    index = _selected_indices(card, selection, arrays, dict(group.attrs), endpoint)
    notes = index.pop("__notes__", [])
    metadata = {**_metadata_docs(group)}
    plans = []
    for name in coords + native:
        arr = arrays[name]
        metadata.update({f"{name}/{k}": v for k, v in _metadata_docs(arr).items()})
        ranges = [index.get(d) if name in native else None for d in dims_of[name]]
        plans.append(_array_plan(name, arr, dims_of[name], ranges))
    return ZarrPlan(endpoint, metadata, plans, native, notes)


def _dims(arr: zarr.Array) -> tuple[str, ...]:
    names = getattr(arr.metadata, "dimension_names", None)
    if names:
        return tuple(names)
    return tuple(arr.attrs.get("_ARRAY_DIMENSIONS", ()))


def _metadata_docs(node: zarr.Array | zarr.Group) -> dict[str, bytes]:
    """The node's own metadata documents (a group's without consolidated metadata: the
    mirror lists only the arrays it holds)."""
    meta = node.metadata
    if isinstance(node, zarr.Group) and getattr(meta, "consolidated_metadata", None):
        import dataclasses

        meta = dataclasses.replace(meta, consolidated_metadata=None)
    docs = meta.to_buffer_dict(default_buffer_prototype())
    return {k: v.to_bytes() for k, v in docs.items() if k != ".zmetadata"}


def _selected_indices(
    card: Card, selection: Selection, arrays: dict, group_attrs: dict, endpoint: str
) -> dict:
    """Index arrays per dimension for the selection (time by years, level by value)."""
    out: dict[str, Any] = {"__notes__": []}
    time_dim = card.options.get("time_dim", "time")
    level_dim = card.options.get("level_dim", "level")
    if selection.years is not None and time_dim in arrays:
        times = _decode_times(arrays[time_dim])
        years = np.array([t.year for t in times])
        keep = (years >= selection.years[0]) & (years <= selection.years[1])
        valid = _valid_range(card, group_attrs)
        if valid is not None:
            stamps = pd.DatetimeIndex(times)
            inside = (stamps >= valid[0]) & (stamps <= valid[1])
            if (keep & ~inside).any():
                out["__notes__"].append(
                    f"years clipped to the store's valid times {valid[0]} .. {valid[1]}"
                )
            keep &= inside
        positions = np.flatnonzero(keep)
        if positions.size == 0:
            raise ConfigError(
                "no times of the store fall in the years asked",
                path=endpoint,
                variable="years",
                expected=f"years within {years.min()}..{years.max()}",
                found=f"{selection.years[0]}-{selection.years[1]}",
            )
        out[time_dim] = positions
    if selection.levels and level_dim in arrays:
        # stores in Pa (CMIP6 plev) name the factor to hPa in the card
        values = np.asarray(arrays[level_dim][:], dtype=float) / float(
            card.options.get("level_scale", 1)
        )
        positions = []
        for level in selection.levels:
            hit = np.flatnonzero(np.isclose(values, level))
            if hit.size == 0:
                raise ConfigError(
                    "the store lacks a pressure level",
                    path=endpoint,
                    variable="levels",
                    expected=f"levels among {values.tolist()}",
                    found=str(level),
                )
            positions.append(int(hit[0]))
        out[level_dim] = np.array(sorted(positions))
    return out


def _valid_range(card: Card, attrs: dict) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """ARCO-ERA5's ``valid_time_start`` / ``valid_time_stop`` group attributes, when the card
    names them (the time axis runs past the data that exist)."""
    names = card.options.get("valid_time_attrs")
    if not names:
        return None
    try:
        return pd.Timestamp(attrs[names[0]]), pd.Timestamp(attrs[names[1]])
    except (KeyError, ValueError):
        return None


def _decode_times(arr: zarr.Array) -> list:
    """CF-decoded times of a time coordinate array (Timestamps, or cftime dates for the
    model calendars of CMIP6: noleap, 360_day, years 0101 ...)."""
    raw = xr.Variable(_dims(arr), arr[:], attrs=dict(arr.attrs))
    values = np.asarray(xr.conventions.decode_cf_variable("time", raw).values).ravel()
    if np.issubdtype(values.dtype, np.datetime64):
        return list(pd.DatetimeIndex(values))
    return list(values)


def _array_plan(name: str, arr: zarr.Array, dims: tuple[str, ...], ranges: list) -> ArrayPlan:
    """The storage keys of the chunks (or shards) that hold the ``ranges`` of each dim
    (None: the whole dim)."""
    chunks = arr.shards or arr.chunks
    per_dim = []
    for size, chunk, picked in zip(arr.shape, chunks, ranges, strict=True):
        if picked is None:
            per_dim.append(range(-(-size // chunk)))
        else:
            per_dim.append(sorted({int(i) // chunk for i in picked}))
    keys = [
        f"{name}/{arr.metadata.encode_chunk_key(coords)}" for coords in itertools.product(*per_dim)
    ]
    itemsize = np.dtype(arr.dtype).itemsize if arr.dtype.kind not in "OUS" else 8
    return ArrayPlan(name, dims, keys, int(np.prod(chunks)) * itemsize)


@dataclass
class FetchStats:
    """What a fetch transferred: chunk counts and bytes, for the manifest and benchmarks."""

    fetched: int = 0
    reused: int = 0
    absent: int = 0
    bytes: int = 0
    checksums: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def fetch_chunks(
    zplan: ZarrPlan,
    mirror: Path,
    *,
    jobs: int = 16,
    retries: int = 4,
    on_chunk: Callable[[int], None] | None = None,
) -> FetchStats:
    """Write the plan's metadata and fetch its missing chunks into ``mirror``, ``jobs`` at a
    time; chunks already in the mirror are kept (each was written atomically)."""
    fs, root = filesystem(zplan.endpoint)
    stats = FetchStats()
    for key, data in zplan.metadata.items():
        _keep(mirror / key, data)
        stats.checksums[key] = hashlib.sha256(data).hexdigest()
    absent_list = mirror.with_name(mirror.name + ".absent")  # beside it: not a Zarr node
    absent = set(absent_list.read_text().split()) if absent_list.exists() else set()

    def one(key: str) -> None:
        target = mirror / key
        if target.exists() or key in absent:
            with stats.lock:
                stats.reused += 1
                if target.exists():
                    stats.checksums[key] = _sha256_file(target)
            return
        data = _get(fs, f"{root}/{key}", retries)
        with stats.lock:
            if data is None:
                stats.absent += 1
                absent.add(key)
            else:
                stats.fetched += 1
                stats.bytes += len(data)
                stats.checksums[key] = hashlib.sha256(data).hexdigest()
        if data is not None:
            try:
                _write_atomic(target, data)
            except OSError as err:
                raise StoreError(
                    "cannot write a fetched chunk"
                    + (" (disk full)" if err.errno == errno.ENOSPC else ""),
                    path=target,
                    expected="a writable folder with free space",
                    found=f"{type(err).__name__}: {err}",
                    hint="free disk space or choose another --out; run again to resume",
                ) from err
        if on_chunk is not None:
            on_chunk(len(data or b""))

    keys = [k for a in zplan.arrays for k in a.keys]
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        for future in as_completed([pool.submit(one, key) for key in keys]):
            future.result()  # the first failure stops the fetch (the rest is not started)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _write_atomic(absent_list, "\n".join(sorted(absent)).encode())
    return stats


def _get(fs: fsspec.AbstractFileSystem, path: str, retries: int) -> bytes | None:
    """One chunk's bytes, None when the store has no such chunk (a fill-value chunk);
    transient errors are retried with backoff."""
    for attempt in range(retries + 1):
        try:
            return fs.cat_file(path)
        except FileNotFoundError:
            return None
        except Exception as err:  # noqa: BLE001 (aiohttp / gcsfs / OSError)
            status = getattr(err, "status", None) or getattr(err, "code", None)
            if status in (401, 403) or attempt == retries:
                raise _remote_error(path, err, None) from err
            time.sleep(0.2 * 2**attempt)
    return None


def _remote_error(where: str, err: BaseException, card: Card | None) -> DataFileError:
    status = getattr(err, "status", None) or getattr(err, "code", None)
    if status in (401, 403):
        return DataFileError(
            "access refused by the store",
            path=where,
            expected="a public (anonymous) store",
            found=f"HTTP {status}",
            hint="the store is read anonymously; a private mirror needs its own credentials "
            "(gcloud application-default credentials for gs://)",
        )
    return DataFileError(
        "cannot read the remote store",
        path=where,
        expected="a reachable Zarr store",
        found=f"{type(err).__name__}: {err}",
        hint="check the network; run again to resume"
        + (f", or point ${card.endpoint_env} at a mirror" if card else ""),
    )


def _keep(path: Path, data: bytes) -> None:
    """Write a fetched document or chunk into the mirror; a failed write (disk full) is a
    :class:`StoreError` naming the path."""
    try:
        _write_atomic(path, data)
    except OSError as err:
        full = " (disk full)" if err.errno == errno.ENOSPC else ""
        raise StoreError(
            "cannot write what was fetched" + full,
            path=path,
            expected="a writable folder with free space",
            found=f"{type(err).__name__}: {err}",
            hint="free disk space or choose another --out; run again to resume",
        ) from err


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_subset(
    mirror: Path, out_store: Path, card: Card, selection: Selection, *, overwrite: bool = False
) -> Path:
    """Open the mirror as the canonical dataset, take the exact selection and write it to
    ``out_store`` atomically (a Zarr store climbench.open_dataset and tasks prepare read)."""
    from climbench.data.open import open_dataset

    zarr.consolidate_metadata(str(mirror))
    ds = open_dataset(mirror, allow_missing_chunks=True, chunks={})
    ds = ds[[v.canonical for v in selection.variables]]
    if selection.time_range is not None and "time" in ds.dims:
        ds = ds.sel(time=slice(*selection.time_range))
    if selection.levels and "level" in ds.dims:
        ds = ds.sel(level=list(selection.levels))
    time_chunk = min(ds.sizes.get("time", 1), 64)
    ds = ds.chunk({d: (time_chunk if d == "time" else -1) for d in ds.dims})
    for var in ds.variables.values():
        var.encoding = {}
    ds.attrs.update(
        climbench_dataset=card.name,
        climbench_dataset_version=card.version,
        source_endpoint=card.endpoint,
    )
    for key in ("climbench_path", "climbench_format"):
        ds.attrs.pop(key, None)
    with atomic_directory(out_store, "dataset-subset", overwrite=overwrite) as tmp:
        ds.to_zarr(tmp, mode="w-", consolidated=True)
    return out_store


def remove_mirror(mirror: Path) -> None:
    """Remove the raw chunk mirror (and its list of absent chunks) once the subset is written."""
    shutil.rmtree(mirror, ignore_errors=True)
    mirror.with_name(mirror.name + ".absent").unlink(missing_ok=True)
