"""A rich progress bar for dask computations (``with progress_bar("writing"): ...``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dask.callbacks import Callback
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn


class _RichDaskCallback(Callback):
    """Advances a rich task as dask finishes graph tasks."""

    def __init__(self, progress: Progress, label: str) -> None:
        super().__init__()
        self._progress = progress
        self._label = label
        self._task = None

    def _start_state(self, dsk, state) -> None:  # noqa: ANN001 (dask's callback signature)
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self._task = self._progress.add_task(self._label, total=max(total, 1))

    def _posttask(self, key, result, dsk, state, worker_id) -> None:  # noqa: ANN001
        if self._task is not None:
            self._progress.advance(self._task)

    def _finish(self, dsk, state, errored) -> None:  # noqa: ANN001
        if self._task is not None and not errored:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[None]:
    """Show progress of every dask computation inside the block (local schedulers)."""
    if not enabled:
        yield
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress, _RichDaskCallback(progress, label):
        yield
