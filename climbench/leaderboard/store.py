"""The entries folder: where entries and retractions live, and reading them back.

Layout under the leaderboard root (``$CLIMBENCH_LEADERBOARD``, else ``./leaderboard``)::

    entries/<task kind>/<task name>/<version>/<entry id>.json   one file per submission
    retractions/<entry id>.json                                 {id, reason, retracted}

Entries are never edited or deleted: a correction is a new entry whose ``supersedes``
names the old one, and a withdrawal is a retraction file. Files are written atomically.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from climbench.errors import SchemaError

LEADERBOARD_ENV = "CLIMBENCH_LEADERBOARD"
_SLUG = re.compile(r"[^a-z0-9.]+")


def default_root() -> Path:
    """``$CLIMBENCH_LEADERBOARD`` or ``./leaderboard`` (the repository's committed one
    when run from the repository root)."""
    return Path(os.environ.get(LEADERBOARD_ENV, "leaderboard"))


def slug(text: str, limit: int = 40) -> str:
    """Lower-case letters, digits, dots and single dashes: safe in a file name and URL."""
    return _SLUG.sub("-", text.lower()).strip("-.")[:limit].strip("-.") or "x"


def entry_id(name: str, revision: str, sha256: str) -> str:
    """``<model slug>-<revision slug>-<first 8 hex of the predictions sha256>``."""
    return f"{slug(name)}-{slug(revision, 24)}-{sha256[:8]}"


def entry_path(root: Path, task: str, version: int, eid: str) -> Path:
    return Path(root) / "entries" / task / str(version) / f"{eid}.json"


def entry_text(entry: dict) -> str:
    """An entry as JSON text: one line per top-level section and per results series, each
    compact, so a pull request's diff shows which sections and scores an entry has and
    files stay small."""

    def compact(value) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    lines = []
    for key, value in entry.items():
        if key.startswith("_"):
            continue
        if key == "results" and isinstance(value, list):
            lines.append('"results": [\n' + ",\n".join(map(compact, value)) + "\n]")
        else:
            lines.append(f"{json.dumps(key)}: {compact(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_entry(path: Path, entry: dict) -> None:
    """Write ``entry`` to a new file at ``path`` atomically (a temporary sibling, then a
    rename); an existing file is never replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(entry_text(entry), encoding="utf-8")
        os.link(tmp, path)  # fails if path exists: never replaces an entry
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class StoredEntry:
    """An entry file and its parsed content (``data`` None when it is not JSON)."""

    path: Path
    data: dict | None
    size: int


def entry_files(root: Path) -> list[Path]:
    """Every ``*.json`` under ``entries/``, sorted."""
    folder = Path(root) / "entries"
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def read_entry(path: Path) -> StoredEntry:
    """Parse one entry file; a file that is not a JSON object is a :class:`SchemaError`."""
    raw = Path(path).read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise SchemaError(
            "entry is not JSON", path=path, expected="a UTF-8 JSON object",
            found=f"{type(err).__name__}: {err}"[:200],
        ) from None  # fmt: skip
    if not isinstance(data, dict):
        raise SchemaError(
            "entry is not a JSON object",
            path=path,
            expected="a JSON object",
            found=type(data).__name__,
        )
    return StoredEntry(Path(path), data, len(raw))


def load_entries(root: Path) -> list[dict]:
    """Every entry under ``root`` (parsed, not checked: ``check`` does that)."""
    return [read_entry(p).data for p in entry_files(root)]


def retractions(root: Path) -> dict[str, dict]:
    """Retraction records by entry id."""
    folder = Path(root) / "retractions"
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise SchemaError(
                "retraction is not JSON", path=path, expected="a JSON object",
                found=f"{type(err).__name__}: {err}"[:200],
            ) from None  # fmt: skip
        out[path.stem] = data
    return out


def find_entry(root: Path, ref: str | os.PathLike) -> Path:
    """The entry file named by ``ref``: a path to it, or an entry id."""
    candidate = Path(ref)
    if candidate.suffix == ".json" and candidate.is_file():
        return candidate
    matches = [p for p in entry_files(root) if p.stem == str(ref)]
    if len(matches) != 1:
        raise SchemaError(
            "no such leaderboard entry" if not matches else "entry id is ambiguous",
            path=Path(root) / "entries",
            variable=str(ref),
            expected="an entry id or the path of an entry file",
            found=f"{len(matches)} entries with this id",
            hint="`climbench leaderboard check` lists the entries",
        )
    return matches[0]
