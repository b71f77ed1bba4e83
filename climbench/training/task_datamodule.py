"""The part every task datamodule shares: the task-kind check, loader options, loaders, the
column order a network sees (:func:`lon_order`), the normalisation statistics of a prepared
store, and :func:`datamodule_for`, which picks the datamodule of a task's kind."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from lightning import LightningDataModule
from torch.utils.data import DataLoader

from climbench.data.grids import contiguous_lon_order
from climbench.data.prepare import read_manifest
from climbench.data.samples import make_loader
from climbench.errors import TaskError
from climbench.tasks import Task
from climbench.tasks.kinds import get_kind
from climbench.tasks.spec import Field


class TaskDataModule(LightningDataModule):
    """A LightningDataModule of one task kind (``kind``), whose ``setup`` builds
    ``train_set``, ``val_set`` and ``predict_set`` (datasets with ``__getitems__``).

    Loaders come from :func:`~climbench.data.samples.make_loader`: whole batches, shuffled
    (seeded) for training only. The data live beside the task's data and are shared by the
    nodes' processes, so ``prepare_data`` runs once (global rank 0).
    """

    #: the task kind served
    kind = ""

    def __init__(self, task: Task, batch_size: int, num_workers: int, seed: int) -> None:
        super().__init__()
        if task.kind != self.kind:
            raise TaskError(
                f"{type(self).__name__} needs a task of kind {self.kind}",
                variable=task.name,
                expected=f"kind {self.kind}",
                found=f"kind {task.kind}",
            )
        self.prepare_data_per_node = False
        self.task = task
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        return make_loader(self.train_set, self.batch_size, True, self.num_workers, self.seed)

    def val_dataloader(self) -> DataLoader:
        return make_loader(self.val_set, self.batch_size, False, self.num_workers, self.seed)

    def predict_dataloader(self) -> DataLoader:
        return make_loader(self.predict_set, self.batch_size, False, self.num_workers, self.seed)


def lon_order(lon: np.ndarray) -> list[int] | None:
    """:func:`~climbench.data.grids.contiguous_lon_order` as plain data (the module's
    ``lon_order`` hyperparameter): None for a global or already contiguous grid."""
    order = contiguous_lon_order(lon)
    return None if order is None else order.tolist()


def datamodule_for(task: Task, **kwargs) -> TaskDataModule:
    """The datamodule registered with ``task``'s kind (:mod:`climbench.tasks.kinds`), built
    with ``kwargs``: the forecast, downscaling or emulation datamodule."""
    return get_kind(task.kind).datamodule_class()(task, **kwargs)


def store_statistics(store: Path, fields: Sequence[Field]) -> tuple[dict, dict]:
    """Per field name, the prepared store's training mean and std (a std of 0 becomes 1, as
    in the tensor caches)."""
    manifest = read_manifest(store)
    mean, std = {}, {}
    for f in fields:
        stats = manifest["stats"][f.variable]
        m, s = stats["mean"], stats["std"]
        if f.level is not None:
            levels = manifest["variables"][f.variable]["levels"]
            k = int(np.flatnonzero(np.isclose(levels, f.level))[0])
            m, s = m[k], s[k]
        mean[f.name] = float(m)
        std[f.name] = float(s) if s else 1.0
    return mean, std


def times_within(times: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Whether each of ``times`` lies in ``[start, end]``."""
    t = pd.DatetimeIndex(times)
    return np.asarray((t >= start) & (t <= end))


def iso_time(time: pd.Timestamp) -> str:
    """A timestamp as ISO text (for tensor cache time ranges)."""
    return time.isoformat()
