"""Safe outputs: nothing climbench writes is seen half-written, and nothing it did not write
is ever replaced.

Every output folder (a results folder, a predictions or prepared Zarr store, a task's data
stores, a tensor cache) is written by :func:`atomic_directory`:

- Before any work, the path is checked (:func:`check_output_path`): it may not be the
  current folder or one of its parents, may not be, contain or lie inside an input of the
  command (the predictions being scored, the task's data), and, when it exists, it must be
  a climbench output *of the same kind* (recognised by the marker file
  :data:`OUTPUT_MARKER` that every output carries) and ``overwrite`` must be given. A
  user's folder, a file, or another kind of output is never replaced, with or without
  ``overwrite``.
- The output is built in a hidden sibling ``.<name>.partial-<pid>-<id>`` and published when
  complete. A new path is published with one rename that refuses to replace anything
  (``RENAME_NOREPLACE``). An existing output is replaced by an atomic exchange of the two
  directories (Linux ``renameat2(RENAME_EXCHANGE)``, macOS ``renamex_np(RENAME_SWAP)``), so
  a crash at any instant leaves either the old or the new output at the path, never
  neither; the old one, now in the hidden sibling, is then deleted. On file systems that
  cannot exchange, two renames are used (old -> ``.<name>.old-<pid>-<id>``, new -> path)
  and :func:`recover_interrupted` puts the old output back if a crash fell between them.
- A failure removes the partial directory. Leftovers of killed processes (their pid is in
  the name) are listed and removed by :func:`leftovers` / :func:`clean`
  (``climbench data clean``), and a new write of the same output removes its own.

Single files go through a temporary sibling and ``os.replace``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import glob
import json
import math
import numbers
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from climbench.errors import StoreError
from climbench.version import __version__

#: file in the top folder of every climbench output, naming its kind
OUTPUT_MARKER = ".climbench-output.json"
#: kinds of output (with what they are called in messages); a path holding one kind is
#: never replaced by another
KINDS = {
    "results": "results folder",
    "predictions": "predictions store",
    "prepared-store": "prepared store",
    "synthetic-store": "synthetic data store",
    "climatology": "climatology store",
    "station-store": "station observations store",
    "emulation-store": "emulation store",
    "tensor-cache": "tensor cache",
    "leaderboard-site": "leaderboard site",
    "dataset-download": "dataset download folder",
    "dataset-subset": "downloaded dataset subset",
}
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<what>partial|old)-(?:(?P<pid>\d+)-)?[0-9a-f]{8}$")
_TMP_FILE = re.compile(r"^\.(?P<name>.+)\.tmp-(?:(?P<pid>\d+)-)?[0-9a-f]{8}$")


def output_kind(path: str | os.PathLike) -> str | None:
    """The kind of climbench output at ``path``, or None when it is not one."""
    marker = Path(path) / OUTPUT_MARKER
    try:
        return str(json.loads(marker.read_text())["kind"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_output_path(
    out: str | os.PathLike,
    kind: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Refuse an output path that could destroy data (see the module docstring).

    Args:
        out: the output folder to write.
        kind: its kind (one of :data:`KINDS`).
        overwrite: allow replacing an earlier output of the same kind.
        inputs: paths the command reads; the output may not be, contain or lie inside one.

    Raises :class:`StoreError` naming the path, what it is, and what to do.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}")  # a programming error
    label = KINDS[kind]
    out = Path(out)
    where = out.resolve()
    cwd = Path.cwd().resolve()
    if where == cwd or where in cwd.parents:
        raise StoreError(
            f"the {label} would replace the current folder",
            path=out,
            expected=f"a new folder for the {label}",
            found="the current folder" if where == cwd else f"a parent of the current folder {cwd}",
            hint=f"name a new folder, e.g. --out ./{kind}-1 (inside the current one)",
        )
    for item in inputs:
        source = Path(item).resolve()
        relation = (
            "is"
            if where == source
            else "is inside"
            if source in where.parents
            else "contains"
            if where in source.parents
            else None
        )
        if relation is not None:
            raise StoreError(
                f"the {label} {relation} an input of this command",
                path=out,
                expected="a path outside every input",
                found=f"it {relation} {item}",
                hint="choose an --out outside the inputs and the task data folder",
            )
    if out.exists() or out.is_symlink():
        have = output_kind(out)
        if have != kind:
            what = (
                f"a climbench {KINDS.get(have, have)}"
                if have is not None
                else "a file"
                if not out.is_dir()
                else "a folder climbench did not write"
            )
            raise StoreError(
                f"the path exists and is not a climbench {label}",
                path=out,
                expected=f"a new path, or an earlier climbench {label} (with {OUTPUT_MARKER})",
                found=what,
                hint="choose another path; climbench never replaces what it did not write",
            )
        if not overwrite:
            raise StoreError(
                "output already exists",
                path=out,
                expected="a new path",
                found=f"an earlier climbench {label}",
                hint="pass --overwrite (overwrite=True) to replace it, or choose another path",
            )
    return out


@contextmanager
def atomic_directory(
    out: str | os.PathLike,
    kind: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Iterator[Path]:
    """Yield a temporary path (not yet created) that becomes the output ``out`` when the
    block succeeds.

    The path is checked first (:func:`check_output_path`, before any work is done); the
    block must create a directory at the yielded path. On success the marker naming
    ``kind`` is added and the directory is published atomically (module docstring). On
    failure the partial directory is removed and :class:`StoreError` reports an
    ``OSError`` (disk full, permission) with the path.
    """
    out = Path(out)
    inputs = list(inputs)
    recover_interrupted(out)
    check_output_path(out, kind, overwrite=overwrite, inputs=inputs)
    _remove_own_leftovers(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        yield partial
        if not partial.is_dir():
            raise StoreError(
                "the writer produced no folder", path=out, expected="a folder", found="nothing"
            )
        _write_marker(partial, kind)
        check_output_path(out, kind, overwrite=overwrite, inputs=inputs)  # still ours?
        _publish(partial, out)
    except BaseException as err:
        _remove_partial(partial)
        if _is_write_failure(err):
            raise StoreError(
                "writing failed; nothing was published",
                path=out,
                expected="a writable destination with free space",
                found=f"{type(err).__name__}: {err}",
                hint="free disk space or choose another path, then run again",
            ) from err
        raise


def _is_write_failure(err: BaseException) -> bool:
    """Whether ``err`` reports a failed write (disk full, file too large, permission)
    rather than a bug: an ``OSError``, or the ``RuntimeError("NetCDF: HDF error")`` that
    the netCDF-C library raises for the same causes."""
    if isinstance(err, OSError):
        return True
    return isinstance(err, RuntimeError) and str(err).startswith("NetCDF:")


def _remove_partial(partial: Path, attempts: int = 10, pause_s: float = 0.1) -> None:
    """Remove a failed write's partial folder. Zarr's writer tasks still in flight after
    the first failure may recreate folders in it for a moment, so removal is repeated
    until the folder stays gone (or ``attempts`` are used up: ``climbench data clean``
    removes what is left)."""
    for _ in range(attempts):
        shutil.rmtree(partial, ignore_errors=True)
        time.sleep(pause_s)
        if not partial.exists():
            return


def mark_output(folder: Path, kind: str) -> None:
    """Mark ``folder`` as climbench's output of ``kind`` (one of :data:`KINDS`), for a
    folder filled in place (a download fills its folder file by file, each file atomic)
    rather than published whole by :func:`atomic_directory`."""
    _write_marker(folder, kind)


def _write_marker(folder: Path, kind: str) -> None:
    data = {
        "kind": kind,
        "climbench_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (folder / OUTPUT_MARKER).write_text(json.dumps(data) + "\n")


def _publish(partial: Path, out: Path) -> None:
    """Move the finished ``partial`` to ``out``: a no-replace rename for a new path, an
    atomic exchange for an existing output (then the old one is deleted)."""
    if not (out.exists() or out.is_symlink()):
        if _rename_noreplace(partial, out):
            return
        os.rename(partial, out)  # no RENAME_NOREPLACE here: re-checked just before
        return
    if _exchange(partial, out):
        shutil.rmtree(partial, ignore_errors=True)  # holds the old output now
        return
    trash = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _rename_pair(out, trash, partial)
    shutil.rmtree(trash, ignore_errors=True)


def _rename_pair(out: Path, trash: Path, partial: Path) -> None:
    """The fallback replacement: the old output aside, then the new one into place."""
    os.replace(out, trash)
    os.replace(partial, out)


# renameat2 / renamex_np flags
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2  # Linux
_RENAME_SWAP, _RENAME_EXCL = 2, 4  # macOS
_AT_FDCWD = -100
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def _libc_rename(src: Path, dst: Path, linux_flag: int, mac_flag: int) -> bool:
    """One flagged rename through libc; False when the system or file system lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    a, b = os.fsencode(src), os.fsencode(dst)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(_AT_FDCWD, a, _AT_FDCWD, b, ctypes.c_uint(linux_flag))
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(a, b, ctypes.c_uint(mac_flag))
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(src), None, str(dst))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False when the file system cannot."""
    return _libc_rename(a, b, _RENAME_EXCHANGE, _RENAME_SWAP)


def _rename_noreplace(src: Path, dst: Path) -> bool:
    """Rename, failing with ``FileExistsError`` if ``dst`` appeared meanwhile; False when
    the file system cannot."""
    return _libc_rename(src, dst, _RENAME_NOREPLACE, _RENAME_EXCL)


def recover_interrupted(out: str | os.PathLike) -> Path | None:
    """Put back the old output of an ``--overwrite`` that crashed between its two renames
    (the fallback path without an atomic exchange); returns the restored path or None."""
    out = Path(out)
    if out.exists() or not out.parent.is_dir():
        return None
    for item in sorted(out.parent.glob(f".{glob.escape(out.name)}.old-*")):
        if _classify(item) == (out, "restore") and output_kind(item) is not None:
            os.replace(item, out)
            return out
    return None


def _alive(pid: str | None) -> bool:
    """Whether the writer ``pid`` (on this machine) still runs; unknown pids are dead."""
    if pid is None:
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _remove_own_leftovers(out: Path) -> None:
    """Delete dead partial copies of ``out`` left by killed writers."""
    for item in out.parent.glob(f".{glob.escape(out.name)}.*"):
        if _classify(item) == (out, "remove"):
            _remove(item)


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically.

    The JSON is standard (RFC 8259): a NaN or infinite number, which Python would write as
    ``NaN`` / ``Infinity`` and other readers refuse, is written as ``null``.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    text = json.dumps(_finite(data), indent=2, default=str, allow_nan=False) + "\n"
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _finite(value: object) -> object:
    """``value`` with every non-finite number (NaN, +-inf) replaced by None and numpy
    scalars made Python numbers, recursively."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@dataclass(frozen=True)
class Leftover:
    """A hidden file or folder left by an interrupted write.

    ``action``: ``"remove"`` (its writer is gone), ``"restore"`` (the old output of an
    interrupted replacement whose path is empty) or ``"in use"`` (its writer still runs).
    """

    path: Path
    target: Path
    size: int
    action: str


def leftovers(root: str | os.PathLike, recursive: bool = True) -> list[Leftover]:
    """Leftovers of interrupted writes under ``root`` (hidden folders and Zarr stores are
    not descended)."""
    root = Path(root)
    found: list[Leftover] = []
    for folder, dirs, files in os.walk(root) if root.is_dir() else []:
        here = Path(folder)
        for name in [*dirs, *files]:
            kind = _classify(here / name)
            if kind is not None:
                found.append(Leftover(here / name, kind[0], _size(here / name), kind[1]))
        dirs[:] = [d for d in dirs if recursive and _searched(here / d)]
    return sorted(found, key=lambda item: str(item.path))


def _classify(path: Path) -> tuple[Path, str] | None:
    """``(target, action)`` of a leftover at ``path`` (see :class:`Leftover`), or None when
    ``path`` is not one."""
    match = _LEFTOVER.match(path.name) or _TMP_FILE.match(path.name)
    if match is None:
        return None
    target = path.parent / match["name"]
    if _alive(match["pid"]):
        return target, "in use"
    if match.groupdict().get("what") == "old" and not target.exists():
        return target, "restore"
    return target, "remove"


def _searched(folder: Path) -> bool:
    """Whether :func:`leftovers` looks inside ``folder``: not inside hidden folders (a
    leftover itself, ``.git``, ``.venv``) nor Zarr stores (leftovers are siblings of
    outputs, never inside a store), which keeps a walk of a data folder short."""
    if folder.name.startswith("."):
        return False
    return not any((folder / marker).exists() for marker in ("zarr.json", ".zgroup"))


def clean(root: str | os.PathLike, dry_run: bool = False) -> list[Leftover]:
    """Remove (or restore) the leftovers under ``root``; returns what was found."""
    found = leftovers(root)
    if dry_run:
        return found
    for item in found:
        if item.action == "remove":
            _remove(item.path)
        elif item.action == "restore":
            os.replace(item.path, item.target)
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _size(path: Path) -> int:
    if not path.is_dir():
        return path.lstat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total
