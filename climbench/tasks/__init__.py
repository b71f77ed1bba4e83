"""Benchmark tasks: frozen, versioned protocols for forecasting, downscaling and emulation.

``get_task("forecast/synthetic-5.625")`` returns a :class:`Task`; ``task_names()`` lists
them. Specs are YAML files under ``climbench/tasks/specs`` (see :mod:`climbench.tasks.spec`).
"""

from climbench.tasks.registry import get_spec, task_names
from climbench.tasks.spec import Field, Period, TaskSpec
from climbench.tasks.task import Task, get_task

__all__ = ["Field", "Period", "Task", "TaskSpec", "get_spec", "get_task", "task_names"]
