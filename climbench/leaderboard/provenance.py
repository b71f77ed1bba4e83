"""Provenance of an entry: what was scored, by which code, when.

- ``predictions_sha256``: sha256 of the predictions file, or for a Zarr store (a folder)
  of the sorted list of ``<relative path> <sha256 of its bytes>`` lines of its files,
  leaving out climbench's output marker (it records when the store was written, not what
  it holds): the same predictions written twice have the same digest;
- ``git_commit``: the commit of the climbench checkout the scorer ran from (None for an
  installed wheel), with ``+dirty`` when its tracked files had changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np

from climbench.io import OUTPUT_MARKER

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def predictions_sha256(path: str | os.PathLike) -> str:
    """The content digest of a predictions file or store (see the module docstring)."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    lines = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            item = Path(folder) / name
            rel = item.relative_to(path).as_posix()
            if rel == OUTPUT_MARKER:
                continue
            lines.append(f"{rel} {file_sha256(item)}")
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def dataset_sha256(ds) -> str:
    """A content digest of an in-memory predictions dataset (a local run's model, never
    written to a file): names, dtypes, shapes and bytes of every variable and coordinate."""
    digest = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        values = np.ascontiguousarray(ds[name].values)
        digest.update(f"{name} {values.dtype} {values.shape}\n".encode())
        digest.update(values.tobytes() if values.dtype != object else str(values.tolist()).encode())
    return digest.hexdigest()


def git_commit() -> str | None:
    """The commit of the checkout holding this package, or None outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", str(here.parent)],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")
