"""File formats: detect GRIB / netCDF / Zarr from the bytes, check integrity, open raw.

Detection reads magic numbers, not file names, so a mislabelled file still opens and a
corrupt one is refused with a clear :class:`DataFileError` instead of an engine traceback.
Truncation is caught up front where the format says how long it should be: HDF5 (netCDF4)
stores its end-of-file address in the superblock; every GRIB message states its length and
ends with ``7777``; a netCDF-3 header gives each variable's offset and size (the
netCDF library itself does not check them on open and reads a cut file as zeros).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

from climbench.errors import ClimbenchError, DataFileError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NETCDF3_MAGICS = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray", ".zmetadata")


def detect_format(path: str | Path) -> str:
    """``"grib"``, ``"netcdf4"``, ``"netcdf3"`` or ``"zarr"`` for a local path.

    Refuses with :class:`DataFileError` a missing, empty, unreadable (permission denied) or
    unknown file, a directory that is not a Zarr store, and a Zarr *array* folder given
    where a store is expected (``store.zarr/t2m`` instead of ``store.zarr``).
    """
    path = Path(path)
    try:
        return _detect(path)
    except PermissionError as err:
        raise permission_denied(path, err) from err


def _detect(path: Path) -> str:
    if not path.exists():
        raise DataFileError(
            "file not found",
            path=path,
            expected="an existing file or store",
            found="nothing at this path",
            hint="check the path (relative paths start at the current directory)",
        )
    if path.is_dir():
        if any((path / marker).exists() for marker in ZARR_MARKERS):
            _refuse_zarr_array(path)
            return "zarr"
        raise DataFileError(
            "directory is not a Zarr store",
            path=path,
            expected=f"one of {list(ZARR_MARKERS)} inside",
            found=f"{sorted(p.name for p in path.iterdir())[:5]}",
        )
    size = path.stat().st_size
    if size == 0:
        raise DataFileError(
            "file is empty",
            path=path,
            expected="GRIB, netCDF or Zarr data",
            found="0 bytes",
            hint="download the file again",
        )
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"GRIB"):
        return "grib"
    if head == HDF5_MAGIC:
        return "netcdf4"
    if head[:4] in NETCDF3_MAGICS:
        return "netcdf3"
    raise DataFileError(
        "unknown or corrupt file format",
        path=path,
        expected="GRIB ('GRIB'), netCDF-4/HDF5 or netCDF-3 ('CDF') magic bytes",
        found=f"{head!r}",
        hint="check that the file is not an HTML error page or a partial download",
    )


def permission_denied(path: str | Path, err: OSError) -> DataFileError:
    """The :class:`DataFileError` for a file or store the current user may not read."""
    path = Path(path)
    try:
        mode = stat.filemode(path.stat().st_mode)
    except OSError:
        mode = "unknown (the folder above cannot be searched)"
    denied = err.filename if err.filename is not None else path
    return DataFileError(
        "permission denied",
        path=path,
        expected="a file or store the current user can read",
        found=f"permission denied reading {denied} (mode {mode})",
        hint="ask the owner for read access, or grant it with `chmod u+r FILE` "
        "(`chmod -R u+rX STORE` for a directory or Zarr store)",
    )


def _zarr_node_type(folder: Path) -> str | None:
    """``"array"``, ``"group"`` or None (no Zarr metadata) for a folder of a store."""
    meta = folder / "zarr.json"
    if meta.is_file():
        try:
            return str(json.loads(meta.read_text()).get("node_type", "group"))
        except (ValueError, AttributeError) as err:
            raise DataFileError(
                "Zarr metadata cannot be parsed",
                path=meta,
                expected="a JSON object with 'node_type'",
                found=f"{type(err).__name__}: {err}",
                hint="the store is damaged; copy or download it again",
            ) from err
    if (folder / ".zarray").is_file():
        return "array"
    if (folder / ".zgroup").is_file() or (folder / ".zmetadata").is_file():
        return "group"
    return None


def _refuse_zarr_array(path: Path) -> None:
    """A Zarr array folder (one variable of a store) is not a dataset: say which store
    to open instead."""
    if _zarr_node_type(path) != "array":
        return
    parent = path.parent
    raise DataFileError(
        "this is one Zarr array (a variable inside a store), not a store",
        path=path,
        expected="a Zarr store: a group whose zarr.json (or .zgroup) lists arrays",
        found=f"the metadata of array '{path.name}'"
        + (f" inside the store {parent}" if _zarr_node_type(parent) == "group" else ""),
        hint=f"open the store that holds it ({parent}) and select the variable with "
        f"variables=['{path.name}'] (CLI: --variable {path.name})",
    )


def check_zarr_metadata(store: str | Path) -> None:
    """Refuse a local Zarr store with a folder that holds data but no Zarr metadata.

    An array whose ``zarr.json`` (or ``.zarray``) was lost is invisible to zarr: without
    consolidated metadata the variable silently disappears from the dataset; with it, the
    store opens but is damaged. One listing per group, nothing read.
    """
    store = Path(store)
    try:
        orphan = _folder_without_metadata(store)
    except PermissionError as err:
        raise permission_denied(store, err) from err
    if orphan is not None:
        raise DataFileError(
            "a folder of the Zarr store has data but no Zarr metadata (its array's "
            "metadata is missing)",
            path=store,
            variable=orphan.name,
            expected=f"zarr.json (or .zarray) in {orphan}",
            found=f"only {sorted(p.name for p in orphan.iterdir())[:5]}",
            hint="the store is damaged or partially copied; copy or download it again",
        )


def _folder_without_metadata(store: Path) -> Path | None:
    """The first non-empty folder of ``store``'s groups that is neither array nor group."""
    pending = [store]
    while pending:
        group = pending.pop()
        for folder in sorted(p for p in group.iterdir() if p.is_dir()):
            if folder.name.startswith("."):
                continue
            kind = _zarr_node_type(folder)
            if kind == "group":
                pending.append(folder)
            elif kind is None and any(folder.iterdir()):
                return folder
    return None


def check_integrity(path: str | Path, fmt: str) -> None:
    """Refuse a truncated GRIB or HDF5 file before an engine half-reads it, and a Zarr
    store with an array folder that lost its metadata (:func:`check_zarr_metadata`)."""
    path = Path(path)
    size = path.stat().st_size
    if fmt == "netcdf4":
        with open(path, "rb") as f:
            sb = f.read(64)
        version = sb[8] if len(sb) > 8 else -1
        if version in (0, 1):
            offset = 40 if version == 0 else 44
        elif version in (2, 3):
            offset = 28
        else:
            return
        if len(sb) >= offset + 8:
            (eof,) = struct.unpack("<Q", sb[offset : offset + 8])
            if eof > size:
                raise DataFileError(
                    "file is truncated",
                    path=path,
                    expected=f"{eof} bytes (HDF5 end-of-file address)",
                    found=f"{size} bytes",
                    hint="download the file again",
                )
    elif fmt == "grib":
        _check_grib(path, size)
    elif fmt == "zarr":
        check_zarr_metadata(path)
    elif fmt == "netcdf3":
        expected = _netcdf3_data_end(path)
        if expected is not None and expected > size:
            raise DataFileError(
                "file is truncated",
                path=path,
                expected=f"at least {expected} bytes (netCDF-3 header)",
                found=f"{size} bytes",
                hint="download the file again",
            )


_NC3_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}


def _netcdf3_data_end(path: Path) -> int | None:
    """Smallest file size that holds all data a netCDF-3 header declares (None if the
    header cannot be parsed: the engine then reports the problem)."""
    with open(path, "rb") as f:
        buf = f.read(1 << 22)
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(buf):
            raise ValueError("header ends early")
        pos += n
        return buf[pos - n : pos]

    try:
        version = buf[3]
        isz = 8 if version == 5 else 4  # NON_NEG / dim ids are 64-bit in CDF-5
        osz = 4 if version == 1 else 8  # OFFSET: 32-bit in CDF-1 only

        def num(n: int = isz) -> int:
            return int.from_bytes(take(n), "big")

        def name() -> None:
            n = num()
            take(n + (-n % 4))

        def skip_atts() -> None:
            tag, count = num(4), num()
            for _ in range(count if tag == 0x0C else 0):
                name()
                nc_type = num(4)
                n = num() * _NC3_TYPE_SIZES[nc_type]
                take(n + (-n % 4))

        pos = 4
        numrecs = num()
        if numrecs in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
            return None  # streaming: record count unknown
        tag, ndims = num(4), num()
        dims = []
        for _ in range(ndims if tag == 0x0A else 0):
            name()
            dims.append(num())
        skip_atts()
        tag, nvars = num(4), num()
        variables = []
        for _ in range(nvars if tag == 0x0B else 0):
            name()
            dimids = [num() for _ in range(num())]
            skip_atts()
            nc_type, vsize, begin = num(4), num(), num(osz)
            is_record = bool(dimids) and dims[dimids[0]] == 0
            count = 1
            for d in dimids[1:] if is_record else dimids:
                count *= dims[d]
            variables.append((is_record, begin, vsize, count * _NC3_TYPE_SIZES[nc_type]))
    except (ValueError, KeyError, IndexError):
        return None
    record_vars = [v for v in variables if v[0]]
    recsize = record_vars[0][3] if len(record_vars) == 1 else sum(v[2] for v in record_vars)
    end = 0
    for is_record, begin, _, nbytes in variables:
        if is_record:
            end = max(end, begin + (numrecs - 1) * recsize + nbytes if numrecs else 0)
        else:
            end = max(end, begin + nbytes)
    return end


def _check_grib(path: Path, size: int) -> None:
    offset, count = 0, 0
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            head = f.read(16)
            if head.startswith(b"GRIB") and len(head) < 16:
                raise DataFileError(
                    "file is truncated",
                    path=path,
                    expected=f"a complete GRIB message {count + 1} at byte {offset}",
                    found=f"{size} bytes (the file ends inside the message header)",
                    hint="download the file again",
                )
            if not head.startswith(b"GRIB"):
                # writers may pad between messages; skip padding up to the next message
                f.seek(offset)
                window = f.read(1 << 20)
                nxt = window.find(b"GRIB")
                if nxt < 0 and window.strip(b"\x00") == b"" and offset + len(window) >= size:
                    return  # zero padding after the last message
                if nxt < 0 or window[:nxt].strip(b"\x00"):
                    raise DataFileError(
                        "corrupt GRIB file",
                        path=path,
                        expected=f"a GRIB message at byte {offset}",
                        found=f"{head[:8]!r} (after {count} messages)",
                    )
                offset += nxt
                continue
            edition = head[7]
            if edition == 1:
                length = int.from_bytes(head[4:7], "big")
                if length & 0x800000:  # GRIB1 large-message encoding: cannot check cheaply
                    return
            elif edition == 2:
                length = int.from_bytes(head[8:16], "big")
            else:
                raise DataFileError(
                    "unsupported GRIB edition", path=path, expected="1 or 2", found=str(edition)
                )
            if offset + length > size:
                raise DataFileError(
                    "file is truncated",
                    path=path,
                    expected=f"GRIB message {count + 1} to end at byte {offset + length}",
                    found=f"{size} bytes",
                    hint="download the file again",
                )
            f.seek(offset + length - 4)
            if f.read(4) != b"7777":
                raise DataFileError(
                    "corrupt GRIB message",
                    path=path,
                    expected=f"'7777' at the end of message {count + 1}",
                    found="other bytes",
                )
            offset += length
            count += 1


def open_raw(path: str | Path, fmt: str, chunks: dict | str | None) -> xr.Dataset:
    """Open with the engine for ``fmt``, lazily; engine errors become DataFileError."""
    with harmless_warnings_silenced():
        return _open_engine(Path(path), fmt, chunks)


@contextmanager
def harmless_warnings_silenced() -> Iterator[None]:
    """Silence library warnings that are expected and not actionable for our users.

    We keep cftime on purpose (DESIGN.md: calendars are never converted); a NaN
    ``_FillValue`` on float data is harmless; consolidated metadata (one request to open a
    store over HTTP) is not yet in the Zarr v3 spec, which zarr-python warns about.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to decode time axis")
        warnings.filterwarnings("ignore", message=".*non-conforming '_FillValue'")
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        yield


def _open_engine(path: Path, fmt: str, chunks: dict | str | None) -> xr.Dataset:
    try:
        if fmt == "zarr":
            return xr.open_zarr(path, chunks=chunks, consolidated=None)
        if fmt == "grib":
            # indexpath="" stops cfgrib writing .idx files next to (possibly read-only) data
            return xr.open_dataset(
                path, engine="cfgrib", chunks=chunks, backend_kwargs={"indexpath": ""}
            )
        engine = "netcdf4" if fmt in ("netcdf4", "netcdf3") else None
        return xr.open_dataset(path, engine=engine, chunks=chunks)
    except DataFileError:
        raise
    except PermissionError as err:
        raise permission_denied(path, err) from err
    except Exception as err:  # engines raise OSError, ValueError, KeyError, RuntimeError...
        raise DataFileError(
            f"cannot be read as {fmt}",
            path=path,
            expected=f"a valid {fmt} file",
            found=f"{type(err).__name__}: {err}",
            hint="the file may be corrupt or truncated; download it again",
        ) from err


def is_url(text: str | os.PathLike) -> bool:
    """True for ``scheme://...`` strings other than ``file://``."""
    text = str(text)
    return "://" in text and not text.startswith("file://")


def missing_zarr_chunks(path: str | Path) -> dict[str, tuple[int, int]]:
    """``{array: (chunks present, chunks expected)}`` of the arrays of a local Zarr store
    that lack chunk (or shard) files.

    A chunk that was never written reads as the array's fill value: with a fill value of 0,
    a lost chunk of a predictions file would be scored as zeros, and a lost step of a
    source as NaN. climbench writes every chunk (``write_empty_chunks=True``), so any gap in
    its own stores is damage. Listing is cheap: one directory walk, no chunk is read.
    """
    import zarr

    with harmless_warnings_silenced():
        try:
            group = zarr.open_group(str(path), mode="r")
        except Exception as err:
            raise DataFileError(
                "cannot be read as a Zarr group",
                path=path,
                expected="a Zarr store (a group with arrays)",
                found=f"{type(err).__name__}: {err}",
            ) from err
        gaps = {}
        for name, array in group.arrays():
            present, expected = array.nchunks_initialized, array.nchunks
            if present < expected:
                gaps[str(name)] = (int(present), int(expected))
    return gaps


def refuse_missing_chunks(store: str | Path, what: str, override: str | None = None) -> None:
    """Raise :class:`DataFileError` when the local Zarr ``store`` (``what`` it is, for the
    message) lacks chunk files, listing every damaged array; ``override`` names the option
    that accepts gaps left on purpose, where there is one."""
    gaps = missing_zarr_chunks(store)
    if not gaps:
        return
    hint = "the store is damaged or partly copied: write, copy or download it again"
    if override:
        hint += (
            "; a store written with zarr's default write_empty_chunks=False leaves out "
            f"chunks that are all fill value on purpose: pass {override}"
        )
    raise DataFileError(
        f"the {what} lacks chunks (a missing chunk would read as the fill value)",
        path=store,
        variable=next(iter(gaps)),
        expected="a chunk file for every chunk of every array",
        found="; ".join(
            f"'{a}': {p} of {n} chunks present, {n - p} missing" for a, (p, n) in gaps.items()
        ),
        hint=hint,
    )


@contextmanager
def reading(path: str, what: str) -> Iterator[None]:
    """Report a failure while reading ``path`` (a corrupt chunk, an HDF5 error, a bad
    checksum) as a :class:`DataFileError` naming it, instead of an engine traceback."""
    try:
        yield
    except ClimbenchError:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except OSError as err:
        if err.errno in _FULL:  # the destination of a write is full: not a bad input
            raise
        raise _read_failure(path, what, err) from err
    except Exception as err:
        raise _read_failure(path, what, err) from err


#: errno values of a full or read-only destination (reported by the writer, not here)
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}


def _read_failure(path: str, what: str, err: BaseException) -> DataFileError:
    return DataFileError(
        f"reading {what} failed",
        path=path,
        expected="readable, uncorrupted data",
        found=f"{type(err).__name__}: {err}",
        hint="the file is damaged: write or download it again",
    )
