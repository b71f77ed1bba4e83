"""The task registry: every YAML spec under ``climbench/tasks/specs`` is a task.

Adding a task is one new YAML file; a change to a spec must bump its ``version`` (the spec
digest is recorded with every result, so silent edits are caught by the scorer). The
earlier version stays beside it as ``<name>@<version>.yaml``, frozen, so predictions made
for it can still be scored: ``get_spec("forecast/synthetic-5.625@1")``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from climbench.errors import TaskError
from climbench.tasks.spec import TaskSpec

SPEC_DIR = Path(__file__).parent / "specs"


@cache
def _all_versions() -> dict[str, dict[int, TaskSpec]]:
    """``{name: {version: spec}}`` of every spec file (current and earlier versions)."""
    versions: dict[str, dict[int, TaskSpec]] = {}
    for path in sorted(SPEC_DIR.rglob("*.yaml")):
        spec = TaskSpec.from_dict(yaml.safe_load(path.read_text()), source=str(path))
        stem = path.relative_to(SPEC_DIR).with_suffix("").as_posix()
        name, _, version = stem.partition("@")
        if spec.name != name or (version and version != str(spec.version)):
            raise TaskError(
                "task name or version does not match its file",
                path=path,
                expected=stem,
                found=spec.id if version else spec.name,
            )
        if spec.version in versions.get(name, {}):
            raise TaskError("task version defined twice", path=path, found=spec.id)
        versions.setdefault(name, {})[spec.version] = spec
    return versions


@cache
def _specs() -> dict[str, TaskSpec]:
    """The current (highest) version of every task."""
    return {name: v[max(v)] for name, v in _all_versions().items()}


def task_names() -> list[str]:
    """All registered task names (``kind/name``), sorted."""
    return sorted(_specs())


def task_versions(name: str) -> list[int]:
    """The versions of task ``name`` that can be scored, oldest first."""
    return sorted(_all_versions().get(name.partition("@")[0], {}))


def get_spec(name: str) -> TaskSpec:
    """The spec for ``name`` or ``name@version`` (a version must match the registered one)."""
    base, _, version = name.partition("@")
    specs = _specs()
    if base not in specs:
        raise TaskError(
            "unknown task",
            variable=base,
            expected="one of " + ", ".join(specs),
            found=base,
            hint="`climbench tasks list` shows the tasks",
        )
    if not version:
        return specs[base]
    versions = _all_versions()[base]
    number = version.lstrip("v")
    if not number.isdigit() or int(number) not in versions:
        raise TaskError(
            "task version not available",
            variable=base,
            expected="version " + " or ".join(str(v) for v in sorted(versions)),
            found=f"version {version}",
            hint="results are only comparable within one task version",
        )
    return versions[int(number)]
