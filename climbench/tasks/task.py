"""A task bound to a data root: its prepared data, splits and truth.

``Task`` is what users and the scorer hold: the frozen :class:`TaskSpec` plus where its
data live (``$CLIMBENCH_DATA``, default ``./data``). Each task kind has one module that
builds its data and reads its splits (:mod:`climbench.tasks.forecast`,
:mod:`~climbench.tasks.downscaling`, :mod:`~climbench.tasks.emulation`).

Leakage rules, enforced here: normalisation statistics and climatologies are computed from
the training split only; ``load_split("test")`` returns inputs only, never targets; the
test targets are read by the scorer alone (:meth:`Task.truth`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from climbench.errors import StoreError, TaskError
from climbench.tasks.kinds import get_kind
from climbench.tasks.registry import get_spec
from climbench.tasks.spec import SPLITS, Field, TaskSpec
from climbench.version import json_sha256

#: the environment variable naming the data folder (``--data-root``, ``data_root=``)
DATA_ROOT_ENV = "CLIMBENCH_DATA"


def default_data_root() -> Path:
    """``$CLIMBENCH_DATA`` or ``./data``: where task data are built and cached. The same
    folder is ``data_root=`` in Python and ``--data-root`` on the command line."""
    return Path(os.environ.get(DATA_ROOT_ENV, "data"))


class Task:
    """A benchmark task (spec + data root). Build with :func:`get_task`."""

    def __init__(self, spec: TaskSpec, data_root: str | os.PathLike | None = None) -> None:
        self.spec = spec
        self.data_root = Path(data_root) if data_root is not None else default_data_root()

    def __repr__(self) -> str:
        return f"Task({self.spec.id!r}, data_root={str(self.data_root)!r})"

    # -- identity -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def targets(self) -> tuple[Field, ...]:
        return self.spec.targets

    def attrs(self) -> dict[str, Any]:
        """Attributes a predictions file for this task must carry."""
        return {"task": self.name, "task_version": self.version, "task_digest": self.spec.digest()}

    # -- data -----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """Folder of this task's prepared data, keyed by everything that shapes them.

        Tasks that share a dataset, grid, variables and training split share the folder.
        """
        s = self.spec
        key = {
            "dataset": s.dataset.id,
            "params": s.dataset.params,
            "grid": s.grid,
            "fields": sorted({f.name for f in (*s.targets, *s.inputs)}),
            "constants": sorted(s.constants),
            "train": s.splits.get("train"),
            "emulation": s.emulation,
            "downscaling_grids": None
            if s.downscaling is None
            else (s.downscaling.coarse_grid, s.downscaling.fine_grid),
            "window": s.climatology_window_days,
        }
        return self.data_root / "tasks" / f"{s.dataset.id}-{json_sha256(key)[:10]}"

    def _kind_module(self):
        """The data module of this task's kind (:mod:`climbench.tasks.kinds`)."""
        return get_kind(self.kind).data_module()

    def is_prepared(self) -> bool:
        return self._kind_module().is_prepared(self)

    def prepare_data(
        self,
        sources: Sequence[str | os.PathLike] | None = None,
        *,
        overwrite: bool = False,
        progress: bool = False,
    ) -> Path:
        """Build this task's data (generate synthetic data, or prepare ``sources``).

        Synthetic datasets need no sources. ``files`` datasets need the source files (see
        ``climbench tasks show NAME``). Statistics and climatologies use the train split only.
        Returns :attr:`data_dir`. Does nothing when the data exist (unless ``overwrite``).
        """
        if self.is_prepared() and not overwrite:
            return self.data_dir
        if self.spec.dataset.kind == "files" and not sources:
            raise StoreError(
                "this task's data are not prepared and need source files",
                path=self.data_dir,
                variable=self.name,
                expected=self.spec.dataset.description,
                found="no sources",
                hint=f"climbench tasks prepare {self.name} --source FILE [--source FILE ...]",
            )
        self._kind_module().build(self, sources, overwrite=overwrite, progress=progress)
        return self.data_dir

    def require_prepared(self) -> None:
        if not self.is_prepared():
            if self.spec.dataset.kind != "files":
                self.prepare_data(progress=False)
                return
            raise StoreError(
                "this task's data are not prepared",
                path=self.data_dir,
                variable=self.name,
                expected=self.spec.dataset.description,
                found="no prepared data",
                hint=f"climbench tasks prepare {self.name} --source FILE ...",
            )

    # -- splits ---------------------------------------------------------------------------
    def load_split(self, split: str) -> xr.Dataset:
        """The data of one split, lazily.

        ``train`` / ``validation``: inputs and targets. ``test``: inputs only (what a model
        may see at prediction time); the test targets are read by the scorer alone.
        """
        if split not in SPLITS:
            raise TaskError(
                "unknown split", variable=split, expected=", ".join(SPLITS), found=split
            )
        self.require_prepared()
        return self._kind_module().load_split(self, split)

    def truth(self) -> xr.Dataset:
        """The test targets, for the scorer (lazy)."""
        self.require_prepared()
        return self._kind_module().truth(self)

    def template(self) -> xr.Dataset:
        """The expected predictions' coordinates and attributes (no data variables)."""
        self.require_prepared()
        return self._kind_module().template(self)


def get_task(name: str, data_root: str | os.PathLike | None = None) -> Task:
    """The task ``name`` (``kind/name`` or ``kind/name@version``) with data under
    ``data_root`` (default :func:`default_data_root`)."""
    return Task(get_spec(name), data_root)
