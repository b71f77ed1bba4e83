"""The regions a task is scored over, resolved to names or boxes the metrics understand."""

from __future__ import annotations

from climbench.errors import TaskError
from climbench.metrics.weights import REGIONS, Region
from climbench.tasks.spec import TaskSpec


def task_regions(spec: TaskSpec) -> list[str | Region]:
    """``spec.regions`` as metric regions: named regions (``climbench.metrics.REGIONS``,
    ``extratropics``) or the task's own boxes (e.g. the out-of-region test regions)."""
    boxes: dict[str, Region] = {}
    if spec.downscaling is not None:
        boxes = {
            b.name: b for b in (*spec.downscaling.train_regions, *spec.downscaling.test_regions)
        }
    out: list[str | Region] = []
    for name in spec.regions:
        if name in boxes:
            out.append(boxes[name])
        elif name in REGIONS or name == "extratropics":
            out.append(name)
        else:
            raise TaskError(
                "unknown region in task",
                variable=name,
                expected="a name in climbench.metrics.REGIONS or a task box",
                found=name,
            )
    return out
