"""``check``: every committed entry is valid (what CI runs).

Refused, each with the file and what was expected and found:

- a file over :data:`~climbench.leaderboard.schema.MAX_ENTRY_BYTES`, not JSON, or not of
  the entry schema (types, keys, card rules, string lengths, results columns);
- an entry whose content does not match its digest (edited after submission);
- a file name that is not the entry id, or a folder that is not its task and version;
- an unknown task, task version or protocol digest;
- a duplicate: two entries of one task version with the same model name and revision, or
  the same predictions digest;
- a ``supersedes`` that names no entry of the same task version;
- in a git checkout: an entry of the base revision (``HEAD``, or the branch a pull request
  merges into) changed or deleted, since landed entries are never edited, only superseded
  or retracted; a maintainer's migration of the entry format is the one deliberate
  exception, checked against the revision after it;
- a retraction of an unknown entry, or without a reason.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from pathlib import Path

from climbench.errors import ClimbenchError, ConfigError, SchemaError, TaskError
from climbench.leaderboard import store
from climbench.leaderboard.schema import MAX_ENTRY_BYTES, validate_entry
from climbench.tasks.registry import get_spec


def problems(
    root: str | os.PathLike | None = None, git: bool = True, base: str = "HEAD"
) -> list[ClimbenchError]:
    """Every problem of the entries under ``root`` (empty when all are valid).

    With ``git``, entries that exist at revision ``base`` must be unchanged in the work
    tree: ``HEAD`` catches an edit not yet committed; a pull request is checked against the
    branch it merges into (``base="origin/main"``), so that nothing landed is edited.
    """
    root = Path(root) if root is not None else store.default_root()
    found: list[ClimbenchError] = []
    valid: list[tuple[Path, dict]] = []
    for path in store.entry_files(root):
        try:
            valid.append((path, _check_file(root, path)))
        except ClimbenchError as err:
            found.append(err)
    found += _duplicates(valid)
    found += _retractions(root, {e["id"] for _, e in valid})
    if git:
        found += _git_history(root, base)
    return found


def check(root: str | os.PathLike | None = None, git: bool = True, base: str = "HEAD") -> int:
    """Raise the first problem of :func:`problems`; returns the number of valid entries."""
    found = problems(root, git, base)
    if found:
        raise found[0]
    return len(store.entry_files(Path(root) if root is not None else store.default_root()))


def _check_file(root: Path, path: Path) -> dict:
    size = path.stat().st_size
    if size > MAX_ENTRY_BYTES:
        raise SchemaError(
            "entry over the size limit",
            path=path,
            expected=f"at most {MAX_ENTRY_BYTES} bytes",
            found=f"{size} bytes",
        )
    entry = validate_entry(store.read_entry(path).data, path)
    if path.stem != entry["id"]:
        raise SchemaError(
            "entry file name is not its id",
            path=path,
            variable="id",
            expected=f"{entry['id']}.json",
            found=path.name,
        )
    task = entry["task"]
    expected = store.entry_path(root, task["name"], task["version"], entry["id"])
    if path.resolve() != expected.resolve():
        raise SchemaError(
            "entry is not in its task's folder",
            path=path,
            variable="task",
            expected=str(expected),
            found=str(path),
        )
    try:
        spec = get_spec(f"{task['name']}@{task['version']}")
    except TaskError as err:
        raise TaskError(
            "entry names an unknown task or task version: " + err.message,
            path=path,
            variable="task",
            expected=err.expected,
            found=f"{task['name']}@{task['version']}",
        ) from None
    if spec.version != task["version"] or spec.digest() != task["digest"]:
        raise TaskError(
            "entry's task digest is not the protocol's",
            path=path,
            variable="task.digest",
            expected=f"{spec.id} digest {spec.digest()}",
            found=f"{task['name']}@{task['version']} digest {task['digest']}",
            hint="the task's spec changed without a new version, or the entry was edited",
        )
    return entry


def _duplicates(valid: list[tuple[Path, dict]]) -> list[ClimbenchError]:
    found: list[ClimbenchError] = []
    by_task: dict[tuple, list[tuple[Path, dict]]] = defaultdict(list)
    for path, e in valid:
        by_task[(e["task"]["name"], e["task"]["version"])].append((path, e))
    for (name, version), items in by_task.items():
        seen: dict[tuple, Path] = {}
        ids = {e["id"] for _, e in items}
        for path, e in items:
            model = ("model", e["model"]["name"], e["model"]["revision"])
            sha = ("predictions", e["provenance"]["predictions_sha256"])
            for key, what in ((model, "model name and revision"), (sha, "predictions digest")):
                if key in seen:
                    found.append(
                        SchemaError(
                            f"duplicate entry: the same {what} as another entry",
                            path=path,
                            variable="model" if key is model else "predictions_sha256",
                            expected=f"one entry per {what} on {name}@{version}",
                            found=f"also in {seen[key]}",
                            hint="a change is a new revision that supersedes the old entry",
                        )
                    )
                seen.setdefault(key, path)
            if e["supersedes"] is not None and e["supersedes"] not in ids:
                found.append(
                    SchemaError(
                        "entry supersedes no entry of its task version",
                        path=path,
                        variable="supersedes",
                        expected=f"the id of an entry of {name}@{version}",
                        found=repr(e["supersedes"]),
                    )
                )
    return found


def _retractions(root: Path, ids: set[str]) -> list[ClimbenchError]:
    found: list[ClimbenchError] = []
    try:
        records = store.retractions(root)
    except ClimbenchError as err:
        return [err]
    for eid, record in records.items():
        path = Path(root) / "retractions" / f"{eid}.json"
        if eid not in ids:
            found.append(
                SchemaError(
                    "retraction of an unknown entry",
                    path=path,
                    variable="id",
                    expected="the id of a committed entry",
                    found=eid,
                )
            )
        elif not isinstance(record, dict) or not str(record.get("reason", "")).strip():
            found.append(
                SchemaError(
                    "retraction without a reason",
                    path=path,
                    variable="reason",
                    expected="a non-empty reason",
                    found=repr(record)[:100],
                )
            )
    return found


def _git(root: Path, *args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def _git_history(root: Path, base: str) -> list[ClimbenchError]:
    """Entries of revision ``base`` changed or deleted since, committed or in the work tree
    (nothing when ``root`` is not in a git checkout)."""
    root = Path(root)
    if not (root / "entries").is_dir() or _git(root, "rev-parse", "--git-dir") is None:
        return []
    if _git(root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}") is None:
        if base == "HEAD":
            return []  # a repository without commits: nothing has landed
        raise ConfigError(
            "unknown git revision for the entry check",
            path=root,
            variable="base",
            expected="a commit of this repository (the branch entries land on)",
            found=base,
        )
    found: list[ClimbenchError] = []
    changes = _git(root, "diff", "--name-status", "--no-renames", base, "--", "entries") or ""
    for line in changes.splitlines():
        status, _, name = line.partition("\t")
        if status in ("M", "D"):
            found.append(_edited(root, name, "deleted" if status == "D" else "changed", base))
    return found


def _edited(root: Path, name: str, how: str, base: str) -> SchemaError:
    top = _git(root, "rev-parse", "--show-toplevel") or ""
    return SchemaError(
        f"a committed entry was {how}",
        path=Path(top.strip()) / name,
        expected="entries never edited or deleted once they have landed",
        found=f"{how} since {base}",
        hint="restore it; submit a new entry with --supersedes ID, or retract it",
    )
