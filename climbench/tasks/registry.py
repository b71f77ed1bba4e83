"""The task registry: every YAML spec under ``climbench/tasks/specs`` is a task.

Adding a task is one new YAML file; a change to a spec must bump its ``version`` (the spec
digest is recorded with every result, so silent edits are caught by the scorer).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from climbench.errors import TaskError
from climbench.tasks.spec import TaskSpec

SPEC_DIR = Path(__file__).parent / "specs"


@cache
def _specs() -> dict[str, TaskSpec]:
    specs: dict[str, TaskSpec] = {}
    for path in sorted(SPEC_DIR.rglob("*.yaml")):
        spec = TaskSpec.from_dict(yaml.safe_load(path.read_text()), source=str(path))
        expected = path.relative_to(SPEC_DIR).with_suffix("").as_posix()
        if spec.name != expected:
            raise TaskError(
                "task name does not match its file", path=path, expected=expected, found=spec.name
            )
        specs[spec.name] = spec
    return specs


def task_names() -> list[str]:
    """All registered task names (``kind/name``), sorted."""
    return sorted(_specs())


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
    spec = specs[base]
    if version and version.lstrip("v") != str(spec.version):
        raise TaskError(
            "task version not available",
            variable=base,
            expected=f"version {spec.version}",
            found=f"version {version}",
            hint="results are only comparable within one task version",
        )
    return spec
