"""Progress of downloads: bytes, rate and ETA per file or per chunk set (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Reporter:
    """Shows one bar per transfer when ``enabled`` (the CLI); silent in the library."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None

    @contextmanager
    def session(self) -> Iterator[Reporter]:
        if not self.enabled:
            yield self
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=False) as progress:
            self._progress = progress
            try:
                yield self
            finally:
                self._progress = None

    def task(self, label: str, total: int | None = None) -> Bar:
        """A bar for one transfer (``total`` bytes when known)."""
        if self._progress is None:
            return Bar(None, None)
        return Bar(self._progress, self._progress.add_task(label, total=total))


class Bar:
    """Callbacks of one transfer's bar (no-ops when progress is off)."""

    def __init__(self, progress: Progress | None, task_id) -> None:  # noqa: ANN001
        self._progress = progress
        self._task = task_id

    def total(self, n: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=n)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)
