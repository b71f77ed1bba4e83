"""Atomic writes: nothing climbench writes is ever seen half-written.

A store (a directory, e.g. Zarr) is written into a hidden sibling ``.<name>.partial-<id>``
and renamed into place only when complete; a failure removes the partial directory and
leaves any previous store untouched. Single files go through a temporary sibling and
``os.replace``. Renames within one directory are atomic on POSIX file systems.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from climbench.errors import StoreError


@contextmanager
def atomic_directory(out: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``out`` when the block succeeds.

    Raises :class:`StoreError` when ``out`` exists and ``overwrite`` is False (before any
    work is done), or when writing fails (the partial directory is removed).
    """
    out = Path(out)
    refuse_existing(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        yield partial
        if out.exists():
            trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, trash)
            os.replace(partial, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(partial, out)
    except BaseException as err:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(err, OSError):
            raise StoreError(
                "writing failed; nothing was published",
                path=out,
                expected="a writable destination with free space",
                found=f"{type(err).__name__}: {err}",
                hint="free disk space or choose another --out, then run again",
            ) from err
        raise


def refuse_existing(out: str | os.PathLike, overwrite: bool) -> None:
    """Raise :class:`StoreError` when ``out`` exists and may not be replaced."""
    if Path(out).exists() and not overwrite:
        raise StoreError(
            "output already exists",
            path=out,
            expected="a new path",
            found="an existing file or store",
            hint="pass --overwrite to replace it, or choose another --out",
        )


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def stale_partials(out: str | os.PathLike) -> list[Path]:
    """Partial directories left by interrupted writes of ``out`` (safe to delete)."""
    out = Path(out)
    if not out.parent.exists():
        return []
    return sorted(out.parent.glob(f".{out.name}.partial-*"))
