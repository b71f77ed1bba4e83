"""Tensor caches: a prepared store's channels decoded once into one float32 ``.npy`` memmap.

Why: a prepared store keeps one time step per Zarr chunk, and a random single-step read
costs about a millisecond of Zarr overhead per variable, so a loader that reads the store
directly gets a few hundred samples per second. Training reads the same fields every epoch,
so we decode them once, normalised, into a plain array on disk that the operating system
pages in: a random batch is then one NumPy fancy-indexing read (``climbench.data.samples``).

A cache is a directory:

- ``data.npy``: float32 ``(time, channel, lat, lon)``, the time-varying channels in the
  order requested, ``(x - mean) / std`` with the store's per-channel statistics when
  ``normalise`` (the statistics of the store's ``stats_period``: the training split);
- ``constants.npy``: float32 ``(channel, lat, lon)``, the requested fields without a time
  axis (``land_sea_mask``, ``geopotential_at_surface``), normalised by their own mean and
  std; absent when none was requested;
- ``cache.json``: the sidecar: a key (sha256 of the store's manifest, the channels, the time
  range and ``normalise``), the channels with their units, mean and std, the times as ISO
  strings with their calendar, ``lat`` and ``lon``, the store's path and its manifest's
  creation time and sources hash.

A standard deviation of 0 (a field constant in the statistics period) is replaced by 1, so
such a channel becomes ``x - mean``; the sidecar records the std actually used. NaN in the
store stays NaN. The whole directory is written under a temporary name and renamed into
place when complete (:func:`climbench.io.atomic_directory`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from climbench.data.formats import harmless_warnings_silenced
from climbench.data.prepare import MANIFEST, read_manifest
from climbench.data.shard_reader import read_steps
from climbench.data.times import calendar_of, iso_strings, parse_time
from climbench.errors import ClimbenchError, CoordinateError, StoreError, VariableNotFoundError
from climbench.io import atomic_directory, check_output_path, write_json_atomic
from climbench.version import json_sha256

PathLike = str | os.PathLike
TimeRange = tuple[str | None, str | None] | None
FORMAT = "climbench tensor cache"
FORMAT_VERSION = 1
DATA_FILE = "data.npy"
CONSTANTS_FILE = "constants.npy"
SIDECAR = "cache.json"
# Decoding reads this many bytes of the largest variable per block (all its levels), and at
# most MAX_BLOCK_STEPS steps: memory stays bounded whatever the grid.
BLOCK_BYTES = 64 * 2**20
MAX_BLOCK_STEPS = 256
# zarr-python decodes the chunks of a read in batches of this many (default 1): with the
# store's one-step chunks, batching halves the per-chunk overhead on coarse grids.
ZARR_DECODE_BATCH = 64


@dataclass(frozen=True)
class Channel:
    """One 2-D field of a prepared store: a variable, at a pressure level (hPa) or not."""

    variable: str
    level: float | None = None

    @property
    def name(self) -> str:
        """``geopotential_500`` for a level, the variable name (``2m_temperature``) otherwise."""
        return self.variable if self.level is None else f"{self.variable}_{self.level:g}"


@dataclass(frozen=True)
class _Source:
    """Where a requested channel lives in the store, and its statistics."""

    channel: Channel
    level_index: int | None
    constant: bool
    units: str
    mean: float
    std: float


# --------------------------------------------------------------------------------------
# building


def build_tensor_cache(
    store: PathLike,
    channels: Sequence[Channel],
    out: PathLike,
    *,
    time_range: TimeRange = None,
    normalise: bool = True,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Decode ``channels`` of a prepared ``store`` into a tensor cache directory ``out``.

    Args:
        store: a prepared store (:func:`climbench.prepare`).
        channels: the fields to decode; time-varying ones go to ``data.npy`` in this order,
            constant ones (no time axis) to ``constants.npy`` in this order.
        out: the cache directory to create (refused if it exists, unless ``overwrite``).
        time_range: ``(start, end)`` of the times to keep, inclusive (default: all).
        normalise: store ``(x - mean) / std`` with the store's statistics (default) or raw
            values in the store's units.
        overwrite: replace an existing cache atomically.
        progress: show a progress bar.

    Reads blocks of up to 256 time steps (about 64 MiB of the largest variable at most), so
    memory stays bounded; returns ``out``.
    """
    store, out = Path(store), Path(out)
    check_output_path(out, "tensor-cache", overwrite=overwrite, inputs=[store])
    manifest = _manifest(store)
    sources = _resolve(store, manifest, channels)
    varying = [s for s in sources if not s.constant]
    constant = [s for s in sources if s.constant]
    with harmless_warnings_silenced():
        ds = xr.open_zarr(store, consolidated=True, chunks=None)
    window = _time_window(ds, time_range, store)
    times = ds["time"].values[window]
    shape = (len(times), len(varying), ds.sizes["lat"], ds.sizes["lon"])
    sidecar = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "key": _cache_key(manifest, channels, time_range, normalise),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "store": {
            "path": str(store.resolve()),
            "manifest_created": manifest.get("created"),
            "sources_sha256": json_sha256(manifest.get("sources")),
        },
        "time_range": list(time_range) if time_range is not None else None,
        "normalised": normalise,
        "shape": list(shape),
        "channels": [_channel_entry(s) for s in varying],
        "constant_channels": [_channel_entry(s) for s in constant],
        "calendar": calendar_of(times),
        "times": iso_strings(times),
        "lat": ds["lat"].values.tolist(),
        "lon": ds["lon"].values.tolist(),
    }
    with atomic_directory(out, "tensor-cache", overwrite=overwrite, inputs=[store]) as tmp:
        tmp.mkdir(parents=True)
        data = np.lib.format.open_memmap(tmp / DATA_FILE, mode="w+", dtype=np.float32, shape=shape)
        _decode(ds, store, varying, window, data, normalise, progress)
        data.flush()
        del data
        if constant:
            np.save(tmp / CONSTANTS_FILE, _constants(ds, constant, normalise))
        write_json_atomic(tmp / SIDECAR, sidecar)
    return out


def ensure_tensor_cache(
    store: PathLike,
    channels: Sequence[Channel],
    cache_dir: PathLike,
    *,
    time_range: TimeRange = None,
    normalise: bool = True,
    progress: bool = False,
) -> TensorCache:
    """Open the cache of these ``channels`` of ``store`` under ``cache_dir``, building it first
    when it is missing, stale or damaged.

    Caches are named ``<store name>-<key>`` with the key of :func:`build_tensor_cache`'s
    sidecar, so caches of several time ranges (train, validation) or channel sets live side
    by side, and a re-prepared store (a new manifest) gets a new cache. Several processes
    (distributed ranks) should let one of them call this first: the others would build the
    same cache again.
    """
    manifest = _manifest(Path(store))
    key = _cache_key(manifest, channels, time_range, normalise)
    path = Path(cache_dir) / f"{Path(store).name.removesuffix('.zarr')}-{key[:16]}"
    if path.exists():
        try:
            cache = TensorCache.open(path)
        except StoreError as err:
            warnings.warn(f"rebuilding a damaged tensor cache: {err}", stacklevel=2)
        else:
            if cache.key == key:
                return cache
    build_tensor_cache(
        store,
        channels,
        path,
        time_range=time_range,
        normalise=normalise,
        overwrite=True,
        progress=progress,
    )
    return TensorCache.open(path)


def _manifest(store: Path) -> dict:
    manifest = read_manifest(store)
    if manifest is None:
        raise StoreError(
            "not a complete prepared store",
            path=store,
            expected=f"a Zarr store with {MANIFEST}",
            found="no manifest",
            hint="run `climbench data prepare` first",
        )
    return manifest


def _resolve(store: Path, manifest: dict, channels: Sequence[Channel]) -> list[_Source]:
    """Check every channel against the manifest; its level position, units and statistics."""
    names = [c.name for c in channels]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ClimbenchError(
            "channels requested more than once",
            path=store,
            expected="each channel once",
            found=", ".join(duplicates),
        )
    variables = manifest["variables"]
    sources = []
    for channel in channels:
        meta = variables.get(channel.variable)
        if meta is None:
            raise VariableNotFoundError(
                "variable not in the prepared store",
                path=store,
                variable=channel.variable,
                expected=f"one of {sorted(variables)}",
                found="no such variable",
            )
        dims = set(meta["dims"])
        if not dims <= {"time", "level", "lat", "lon"}:
            raise CoordinateError(
                "cannot cache this variable",
                path=store,
                variable=channel.variable,
                expected="dims within (time, level, lat, lon)",
                found=f"dims {meta['dims']}",
            )
        level_index = _level_index(store, channel, meta.get("levels"))
        stats = manifest["stats"][channel.variable]
        mean, std = (
            (stats["mean"], stats["std"])
            if level_index is None
            else (stats["mean"][level_index], stats["std"][level_index])
        )
        sources.append(
            _Source(
                channel=channel,
                level_index=level_index,
                constant="time" not in dims,
                units=meta.get("units", ""),
                mean=float(mean),
                std=float(std) if std else 1.0,  # a constant field: x - mean
            )
        )
    if all(s.constant for s in sources):
        raise ClimbenchError(
            "no time-varying channel requested",
            path=store,
            expected="at least one channel of a variable with a time axis",
            found=", ".join(names) or "no channel",
        )
    return sources


def _level_index(store: Path, channel: Channel, levels: list[float] | None) -> int | None:
    if levels is None:
        if channel.level is not None:
            raise CoordinateError(
                "level requested for a variable without levels",
                path=store,
                variable=channel.variable,
                expected=f"Channel('{channel.variable}')",
                found=f"level {channel.level:g}",
            )
        return None
    if channel.level is None:
        raise CoordinateError(
            "a variable on pressure levels needs a level",
            path=store,
            variable=channel.variable,
            expected=f"one of the levels {levels} (hPa)",
            found="no level",
            hint=f"use Channel('{channel.variable}', {levels[0]:g})",
        )
    matches = np.flatnonzero(np.isclose(levels, channel.level))
    if matches.size == 0:
        raise CoordinateError(
            "pressure level not in the prepared store",
            path=store,
            variable=channel.variable,
            expected=f"one of the levels {levels} (hPa)",
            found=f"{channel.level:g}",
        )
    return int(matches[0])


def _time_window(ds: xr.Dataset, time_range: TimeRange, store: Path) -> slice:
    """The positions of ``time_range`` (inclusive) on the store's time axis."""
    if time_range is None:
        return slice(0, ds.sizes["time"])
    window = ds.indexes["time"].slice_indexer(*time_range)
    if window.stop <= window.start:
        raise CoordinateError(
            "no time step in the requested range",
            path=store,
            expected=f"times within {tuple(time_range)}",
            found=f"the store covers {ds['time'].values[0]} to {ds['time'].values[-1]}",
        )
    return slice(window.start, window.stop)


def _decode(
    ds: xr.Dataset,
    store: Path,
    sources: list[_Source],
    window: slice,
    data: np.ndarray,
    normalise: bool,
    progress: bool,
) -> None:
    """Fill ``data`` block by block: each variable is read once per block, all its levels.

    Arrays in the layout :func:`climbench.data.prepare.prepare` writes are read shard by
    shard with the prepared-store reader (no per-chunk zarr overhead); others through zarr.
    """
    by_variable: dict[str, list[tuple[int, _Source]]] = {}
    for position, source in enumerate(sources):
        by_variable.setdefault(source.channel.variable, []).append((position, source))
    step_bytes = max(4 * math.prod(ds[v].shape[1:]) for v in by_variable)  # all its levels
    steps = max(1, min(MAX_BLOCK_STEPS, BLOCK_BYTES // step_bytes))
    starts = range(window.start, window.stop, steps)
    columns = (
        TextColumn("tensor cache"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} blocks"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with (
        Progress(*columns, disable=not progress) as bar,
        zarr.config.set({"codec_pipeline.batch_size": ZARR_DECODE_BATCH}),
    ):
        task = bar.add_task("decode", total=len(starts))
        for start in starts:
            stop = min(start + steps, window.stop)
            rows = slice(start - window.start, stop - window.start)
            for variable, members in by_variable.items():
                block = read_steps(store, ds[variable], start, stop)
                if block is None:
                    block = ds[variable].variable[start:stop].values
                for position, source in members:
                    field = block if source.level_index is None else block[:, source.level_index]
                    data[rows, position] = _normalised(field, source) if normalise else field
            bar.advance(task)


def _constants(ds: xr.Dataset, sources: list[_Source], normalise: bool) -> np.ndarray:
    fields = []
    for source in sources:
        field = ds[source.channel.variable].values
        if source.level_index is not None:
            field = field[source.level_index]
        fields.append(_normalised(field, source) if normalise else field)
    return np.stack(fields).astype(np.float32)


def _normalised(field: np.ndarray, source: _Source) -> np.ndarray:
    """``(x - mean) / std`` in float64 (a float32 mean of geopotential is off by 1e-3)."""
    return (field - np.float64(source.mean)) / np.float64(source.std)


def _channel_entry(source: _Source) -> dict:
    c = source.channel
    return {
        "name": c.name,
        "variable": c.variable,
        "level": c.level,
        "units": source.units,
        "mean": source.mean,
        "std": source.std,
    }


def _cache_key(
    manifest: dict, channels: Sequence[Channel], time_range: TimeRange, normalise: bool
) -> str:
    return json_sha256(
        {
            "format_version": FORMAT_VERSION,
            "manifest": manifest,
            "channels": [[c.variable, c.level] for c in channels],
            "time_range": list(time_range) if time_range is not None else None,
            "normalise": normalise,
        }
    )


# --------------------------------------------------------------------------------------
# reading


@dataclass(eq=False)
class TensorCache:
    """An open tensor cache (see the module docstring); open with :meth:`TensorCache.open`.

    Attributes:
        path: the cache directory.
        data: read-only float32 memmap ``(time, channel, lat, lon)``.
        constants: float32 ``(constant channel, lat, lon)``, or None.
        channels, constant_channels: the :class:`Channel` of each index.
        times: ``datetime64[ns]`` (standard calendar) or cftime objects (others).
        calendar: the calendar of ``times``.
        lat, lon: degrees, ascending.
        mean, std: float64 per channel: the statistics used (or, when ``normalised`` is
            False, available) to normalise; ``x_physical = x * std + mean``.
        constant_mean, constant_std: the same for the constant channels.
        normalised: whether ``data`` and ``constants`` hold normalised values.
        key: the cache key (see :func:`build_tensor_cache`).
        sidecar: the whole ``cache.json``.

    Pickling keeps only the path (a worker process reopens the memmap rather than receiving
    a copy of the data).
    """

    path: Path
    data: np.memmap
    constants: np.ndarray | None
    channels: tuple[Channel, ...]
    constant_channels: tuple[Channel, ...]
    times: np.ndarray
    calendar: str
    lat: np.ndarray
    lon: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    constant_mean: np.ndarray
    constant_std: np.ndarray
    normalised: bool
    key: str
    sidecar: dict

    @classmethod
    def open(cls, path: PathLike) -> TensorCache:
        """Open a cache directory; :class:`StoreError` naming the file when the sidecar is
        missing or unreadable or an array does not match it (truncated, wrong shape)."""
        path = Path(path)
        sidecar = _read_sidecar(path / SIDECAR)
        shape = tuple(sidecar["shape"])
        data = _open_npy(path / DATA_FILE, shape)
        constant_entries = sidecar["constant_channels"]
        constants = None
        if constant_entries:
            constants = np.array(
                _open_npy(path / CONSTANTS_FILE, (len(constant_entries), *shape[2:]))
            )
        calendar = sidecar["calendar"]
        times = (
            np.array(sidecar["times"], dtype="datetime64[ns]")
            if calendar == "standard"
            else np.array([parse_time(t, calendar) for t in sidecar["times"]], dtype=object)
        )
        entries = sidecar["channels"]
        return cls(
            path=path,
            data=data,
            constants=constants,
            channels=tuple(Channel(e["variable"], e["level"]) for e in entries),
            constant_channels=tuple(Channel(e["variable"], e["level"]) for e in constant_entries),
            times=times,
            calendar=calendar,
            lat=np.asarray(sidecar["lat"], dtype=np.float64),
            lon=np.asarray(sidecar["lon"], dtype=np.float64),
            mean=np.array([e["mean"] for e in entries], dtype=np.float64),
            std=np.array([e["std"] for e in entries], dtype=np.float64),
            constant_mean=np.array([e["mean"] for e in constant_entries], dtype=np.float64),
            constant_std=np.array([e["std"] for e in constant_entries], dtype=np.float64),
            normalised=bool(sidecar["normalised"]),
            key=sidecar["key"],
            sidecar=sidecar,
        )

    def __reduce__(self) -> tuple:
        return (TensorCache.open, (self.path,))

    def __repr__(self) -> str:
        return (
            f"TensorCache({str(self.path)!r}, {len(self.times)} times from {self.times[0]} "
            f"to {self.times[-1]}, channels {[c.name for c in self.channels]}, constants "
            f"{[c.name for c in self.constant_channels]}, normalised={self.normalised})"
        )

    @property
    def hours(self) -> np.ndarray:
        """Hours since the first time step (float64), in the cache's calendar."""
        if self.calendar == "standard":
            return (self.times - self.times[0]) / np.timedelta64(1, "h")
        return np.array([(t - self.times[0]).total_seconds() / 3600 for t in self.times])

    def channel_index(self, name: str) -> int:
        """The index in ``data`` of the channel called ``name`` (``geopotential_500``)."""
        names = [c.name for c in self.channels]
        if name in names:
            return names.index(name)
        constant = name in [c.name for c in self.constant_channels]
        raise VariableNotFoundError(
            "channel not in the tensor cache",
            path=self.path,
            variable=name,
            expected=f"one of {names}",
            found="a constant channel (see .constant_channels)" if constant else "no such channel",
        )

    def index_of(self, time: object) -> int:
        """The index of ``time`` (ISO string, datetime64, datetime or cftime) on ``times``."""
        wanted = parse_time(time, self.calendar) if isinstance(time, str) else time
        if self.calendar == "standard":
            wanted = np.datetime64(wanted, "ns")
        return int(self.indices_of(np.array([wanted], dtype=self.times.dtype))[0])

    def indices_of(self, times: np.ndarray) -> np.ndarray:
        """Indices on ``times`` of each of ``times`` (same calendar); every one must exist."""
        positions = np.searchsorted(self.times, times).clip(max=len(self.times) - 1)
        missing = self.times[positions] != times
        if missing.any():
            raise CoordinateError(
                "time not in the tensor cache",
                path=self.path,
                expected=f"one of {len(self.times)} times from {self.times[0]} to {self.times[-1]}",
                found=str(times[np.argmax(missing)]),
            )
        return positions.astype(np.int64)


def _read_sidecar(file: Path) -> dict:
    if not file.is_file():
        raise StoreError(
            "not a tensor cache",
            path=file,
            expected=f"a {SIDECAR} sidecar",
            found="no such file",
            hint="build it with climbench.data.tensor_cache.ensure_tensor_cache",
        )
    try:
        sidecar = json.loads(file.read_text())
    except (OSError, ValueError) as err:
        raise StoreError(
            "unreadable tensor cache sidecar",
            path=file,
            found=f"{type(err).__name__}: {err}",
            hint="delete the cache directory; ensure_tensor_cache rebuilds it",
        ) from err
    found = (sidecar.get("format"), sidecar.get("format_version"))
    if found != (FORMAT, FORMAT_VERSION):
        raise StoreError(
            "not a tensor cache of this version",
            path=file,
            expected=f"format {FORMAT!r} version {FORMAT_VERSION}",
            found=f"format {found[0]!r} version {found[1]}",
            hint="delete the cache directory; ensure_tensor_cache rebuilds it",
        )
    return sidecar


def _open_npy(file: Path, shape: tuple[int, ...]) -> np.memmap:
    """Memory-map a float32 ``.npy`` file, checking its header and size against ``shape``."""
    hint = "delete the cache directory; ensure_tensor_cache rebuilds it"
    try:
        with open(file, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            found_shape, fortran, dtype = read_header(f)
            offset = f.tell()
    except (OSError, ValueError) as err:
        raise StoreError(
            "unreadable tensor cache array",
            path=file,
            expected=f"a .npy file of shape {shape}",
            found=f"{type(err).__name__}: {err}",
            hint=hint,
        ) from err
    if found_shape != shape or fortran or dtype != np.dtype("<f4"):
        raise StoreError(
            "tensor cache array does not match its sidecar",
            path=file,
            expected=f"float32 {shape}",
            found=f"{dtype} {found_shape}{' (Fortran order)' if fortran else ''}",
            hint=hint,
        )
    size = file.stat().st_size
    expected = offset + 4 * math.prod(shape)
    if size < expected:
        raise StoreError(
            "tensor cache array is truncated",
            path=file,
            expected=f"{expected} bytes",
            found=f"{size} bytes",
            hint=hint,
        )
    return np.memmap(file, dtype=np.float32, mode="r", shape=shape, offset=offset)
