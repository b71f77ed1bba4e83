"""The download manifest: what was fetched, from where, with which checksums, and when.

A download folder holds the climbench output marker (written first, so that a rerun knows
the folder is its own), the fetched files, and ``manifest.json``, written last and
atomically: its presence is what "complete" means. :func:`verify` re-reads every file the
manifest lists and compares its size and sha256.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from climbench.datasets.card import Card
from climbench.datasets.http import file_digest
from climbench.datasets.zarr_subset import MIRROR
from climbench.errors import DataFileError, StoreError
from climbench.io import OUTPUT_MARKER, mark_output, output_kind, write_json_atomic
from climbench.version import __version__

MANIFEST = "manifest.json"
#: the request a download folder is busy with (what a rerun may resume)
IN_PROGRESS = ".climbench-request.json"
#: the io output kind of a download folder
KIND = "dataset-download"


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of a complete download, or None when there is none (incomplete)."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise DataFileError(
            "unreadable download manifest",
            path=Path(folder) / MANIFEST,
            expected="JSON",
            found=str(err),
            hint="download again (the folder counts as incomplete)",
        ) from err


def claim_folder(
    out: Path, request: dict[str, Any], overwrite: bool, resume_key: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Make ``out`` a download folder for ``request``; returns the manifest when the same
    request is already complete there. ``resume_key`` (the request and its endpoint) says
    which partial data a rerun may resume.

    A new or empty folder is marked as ours; an earlier download folder of another request
    needs ``overwrite`` (its manifest is removed first, so it is incomplete until the new
    one finishes); any other folder or file is refused.
    """
    if out.exists() and not out.is_dir():
        raise StoreError(
            "the download folder is a file", path=out, expected="a folder", found="a file"
        )
    if out.is_dir() and any(out.iterdir()) and output_kind(out) != KIND:
        raise StoreError(
            "the folder exists and is not a climbench download",
            path=out,
            expected=f"a new or empty folder, or an earlier download (with {OUTPUT_MARKER})",
            found="a folder climbench did not write"
            if output_kind(out) is None
            else "another output",
            hint="choose another --out; climbench never writes into folders it did not make",
        )
    manifest = read_manifest(out) if out.is_dir() else None
    if manifest is not None:
        if manifest.get("request") == request:
            return manifest
        if not overwrite:
            raise StoreError(
                "the folder holds another download",
                path=out,
                expected=f"the request {request}",
                found=f"a complete download of {manifest.get('request')}",
                hint="choose another --out, or pass --overwrite to replace it",
            )
        (out / MANIFEST).unlink()
    out.mkdir(parents=True, exist_ok=True)
    if output_kind(out) != KIND:
        mark_output(out, KIND)
    _forget_other_partials(out, resume_key or request)
    return None


def _forget_other_partials(out: Path, request: dict[str, Any]) -> None:
    """Resume only what the same request left: the request being downloaded is kept in
    :data:`IN_PROGRESS`; partial files and fetched chunks of another one (other years, an
    other endpoint) are removed before this one starts."""
    state = out / IN_PROGRESS
    try:
        previous = json.loads(state.read_text())
    except (OSError, ValueError):
        previous = None
    if previous is not None and previous != request:
        shutil.rmtree(out / MIRROR, ignore_errors=True)
        for path in [*out.glob("*.part"), *out.glob(f"{MIRROR}.absent")]:
            path.unlink(missing_ok=True)
    write_json_atomic(state, request)


def write_manifest(
    out: Path, card: Card, request: dict[str, Any], files: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """Write the manifest last (atomically): the download is complete from then on."""
    manifest = {
        "climbench_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "card": {"name": card.name, "version": card.version, "method": card.method},
        "licence": card.licence,
        "citation": card.citation["doi"],
        "request": request,
        "files": files,
        **extra,
    }
    write_json_atomic(out / MANIFEST, manifest)
    (out / IN_PROGRESS).unlink(missing_ok=True)
    return manifest


def file_entry(folder: Path, path: Path, sha256: str | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest entry for ``path`` (relative name, size, sha256: computed unless the
    download just computed it)."""
    return {
        "path": path.relative_to(folder).as_posix(),
        "size": path.stat().st_size,
        "sha256": sha256 or file_digest(path),
        **extra,
    }


@dataclass(frozen=True)
class Problem:
    """A file of the manifest that is missing or changed."""

    path: str
    expected: str
    found: str


def verify(folder: str | os.PathLike) -> tuple[dict[str, Any], list[Problem]]:
    """Re-check the size and sha256 of every file the manifest lists.

    Returns the manifest and the problems (empty when everything matches). A folder
    without a manifest is refused: it is an incomplete download.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise StoreError(
            "no complete download here",
            path=folder,
            expected=f"a download folder with {MANIFEST}",
            found="no manifest (the download did not finish)"
            if output_kind(folder) == KIND
            else "not a climbench download",
            hint="run climbench datasets download again to finish it",
        )
    problems = []
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.is_file():
            problems.append(Problem(entry["path"], f"{entry['size']} bytes", "missing"))
            continue
        size = path.stat().st_size
        if size != entry["size"]:
            problems.append(Problem(entry["path"], f"{entry['size']} bytes", f"{size} bytes"))
            continue
        digest = file_digest(path)
        if digest != entry["sha256"]:
            problems.append(Problem(entry["path"], f"sha256 {entry['sha256']}", f"sha256 {digest}"))
    return manifest, problems
