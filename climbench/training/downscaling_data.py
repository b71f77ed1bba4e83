"""The LightningDataModule of downscaling tasks.

:class:`DownscalingDataModule` serves a downscaling task: same-time pairs of the inputs
interpolated to the fine grid (the task's ``coarse-bilinear`` store) and the fine targets,
with the fine grid's constants appended to the inputs and the task's crop applied
(:class:`FieldSamples`); train and validation batches carry the task's loss ``mask`` (the
training regions of an out-of-region split). Predict samples read the test inputs only.

The caches are built in ``prepare_data`` (once, on global rank 0; other ranks open them in
``setup``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from climbench.data.grids import is_periodic
from climbench.data.samples import FieldPairSamples, ForecastSamples
from climbench.data.tensor_cache import Channel, TensorCache, ensure_tensor_cache
from climbench.tasks import Task
from climbench.tasks import downscaling as ds_task
from climbench.tasks.spec import Field, Period
from climbench.training.task_datamodule import (
    TaskDataModule,
    iso_time,
    lon_order,
    store_statistics,
    times_within,
)


class FieldSamples(Dataset):
    """Downscaling samples from :class:`FieldPairSamples` (or, to predict, inputs-only
    :class:`ForecastSamples` with lead step 0): ``x`` gets the fine grid's ``constants``
    appended; inputs that are also targets are re-normalised with the target statistics
    (``x * scale + offset``), so a residual prediction adds like to like; ``x``, ``y`` are
    cropped to ``rows`` x ``cols``; ``mask`` (the loss mask, already cropped) is added
    when given. ``y`` is dropped when ``targets`` is False.
    """

    def __init__(
        self,
        samples: FieldPairSamples | ForecastSamples,
        constants: np.ndarray | None,
        scale: Sequence[float],
        offset: Sequence[float],
        rows: np.ndarray,
        cols: np.ndarray,
        mask: np.ndarray | None = None,
        targets: bool = True,
    ) -> None:
        self.samples = samples
        self.constants = None if constants is None else torch.from_numpy(constants)
        self.scale = torch.tensor(scale, dtype=torch.float32)[:, None, None]
        self.offset = torch.tensor(offset, dtype=torch.float32)[:, None, None]
        self.rows, self.cols = torch.from_numpy(rows), torch.from_numpy(cols)
        self.mask = None if mask is None else torch.from_numpy(mask)
        self.targets = targets

    def __len__(self) -> int:
        return len(self.samples)

    def __getitems__(self, indices: Sequence[int]) -> dict:
        return self.get_batch(indices)

    def get_batch(self, indices: Sequence[int]) -> dict:
        """``x`` (B, C_in + n_constants, lat, lon), ``y``, ``time_index`` and ``mask``."""
        batch = self.samples.get_batch(indices)
        x = batch["x"] * self.scale + self.offset
        if self.constants is not None:
            x = torch.cat([x, self.constants.expand(len(x), -1, -1, -1)], dim=1)
        out = {
            "x": self._crop(x),
            "time_index": batch.get("time_index", batch.get("init_index")),
        }
        if self.targets:
            out["y"] = self._crop(batch["y"])
        if self.mask is not None:
            out["mask"] = self.mask
        return out

    def _crop(self, t: torch.Tensor) -> torch.Tensor:
        return t.index_select(-2, self.rows).index_select(-1, self.cols)


class DownscalingDataModule(TaskDataModule):
    """Train, validation and predict loaders of a downscaling task (module docstring).

    Args:
        task: a downscaling :class:`~climbench.tasks.Task`.
        batch_size, num_workers, seed: loader options.
        cache_dir: where tensor caches live (default ``<task data>/tensor_cache``).
    """

    kind = "downscaling"
    #: the network is not conditioned on a lead time
    lead_conditioned = False

    def __init__(
        self,
        task: Task,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(task, batch_size, num_workers, seed)
        self.cache_dir = Path(cache_dir) if cache_dir else task.data_dir / "tensor_cache"

    # -- layout ---------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[Field, ...]:
        return self.task.spec.inputs

    def _channels(self, fields: Sequence[Field], constants: bool = False) -> list[Channel]:
        extra = [Channel(c) for c in self.task.spec.constants] if constants else []
        return [Channel(f.variable, f.level) for f in fields] + extra

    def module_args(self) -> dict:
        """The data-dependent arguments of :class:`ClimbenchModule`, as plain data."""
        self.task.require_prepared()
        spec = self.task.spec
        mean, std = store_statistics(self.task.data_dir / ds_task.FINE, spec.targets)
        fine = ds_task.fine(self.task)  # cropped
        return {
            "lat": [float(v) for v in fine["lat"].values],
            "input_names": [f.name for f in self.inputs],
            "target_names": [f.name for f in spec.targets],
            "mean": mean,
            "std": std,
            "history_steps": 1,
            "constant_names": list(spec.constants),
            "lon_order": lon_order(fine["lon"].values),
        }

    def periodic_lon(self) -> bool:
        """Whether the (cropped) fine grid is global in longitude."""
        return is_periodic(ds_task.fine(self.task)["lon"].values)

    def in_channels(self) -> int:
        return len(self.inputs) + len(self.task.spec.constants)

    def grid_shape(self) -> tuple[int, int]:
        fine = ds_task.fine(self.task)
        return int(fine.sizes["lat"]), int(fine.sizes["lon"])

    # -- caches ---------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Build the task's data and the tensor caches when missing (rank 0 only)."""
        self.task.require_prepared()
        self._caches("fit")
        self._caches("predict")

    def _caches(self, stage: str) -> tuple[TensorCache, TensorCache]:
        """(inputs, targets-and-constants) caches over the fit span, or (test inputs,
        targets-and-constants over the fit span: read for the constants only)."""
        splits = self.task.spec.splits
        fit = _span(splits["train"], splits["validation"])
        data = self.task.data_dir
        targets = ensure_tensor_cache(
            data / ds_task.FINE,
            self._channels(self.task.spec.targets, constants=True),
            self.cache_dir,
            time_range=fit,
        )
        span = fit if stage == "fit" else _span(splits["test"])
        inputs = ensure_tensor_cache(
            data / ds_task.BILINEAR, self._channels(self.inputs), self.cache_dir, time_range=span
        )
        return inputs, targets

    # -- datasets -------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        spec = self.task.spec
        if stage in (None, "fit", "validate"):
            inputs, targets = self._caches("fit")
            in_idx = [inputs.channel_index(f.name) for f in self.inputs]
            out_idx = [targets.channel_index(f.name) for f in spec.targets]
            mask = ds_task.loss_mask(self.task)
            for split in ("train", "validation"):
                times = _indices_within(inputs, spec.splits[split])
                pairs = FieldPairSamples(inputs, targets, in_idx, out_idx, times, False)
                dataset = self._wrap(pairs, inputs, targets, mask, targets_too=True)
                setattr(self, "train_set" if split == "train" else "val_set", dataset)
        if stage in (None, "predict"):
            inputs, targets = self._caches("predict")
            in_idx = [inputs.channel_index(f.name) for f in self.inputs]
            times = np.arange(len(inputs.times))
            samples = ForecastSamples(inputs, in_idx, in_idx[:1], times, [0], [0], False)
            self.predict_times = pd.DatetimeIndex(inputs.times, name="time")
            self.predict_set = self._wrap(samples, inputs, targets, None, targets_too=False)

    def _wrap(
        self,
        samples: FieldPairSamples | ForecastSamples,
        inputs: TensorCache,
        targets: TensorCache,
        mask: np.ndarray | None,
        targets_too: bool,
    ) -> FieldSamples:
        """Samples with the fine constants, the crop, and inputs in target units."""
        scale, offset = [], []
        for k, f in enumerate(self.inputs):
            try:
                j = targets.channel_index(f.name)
            except KeyError:
                scale.append(1.0)
                offset.append(0.0)
                continue
            scale.append(inputs.std[k] / targets.std[j])
            offset.append((inputs.mean[k] - targets.mean[j]) / targets.std[j])
        index = ds_task.crop_index(self.task.spec, targets.lat, targets.lon)
        rows, cols = index["lat"], index["lon"]
        if mask is not None:
            mask = np.ascontiguousarray(mask, dtype=np.float32)
        return FieldSamples(
            samples, targets.constants, scale, offset, rows, cols, mask, targets=targets_too
        )


def _span(*periods: Period) -> tuple[str, str]:
    """(first start, last end) of ``periods`` as ISO times."""
    bounds = [p.bounds() for p in periods]
    return iso_time(min(b[0] for b in bounds)), iso_time(max(b[1] for b in bounds))


def _indices_within(cache: TensorCache, period: Period) -> np.ndarray:
    start, end = period.bounds()
    return np.flatnonzero(times_within(cache.times, start, end))
