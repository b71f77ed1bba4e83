"""The LightningDataModule of forecasting tasks, reading tensor caches of the prepared data.

:class:`ForecastDataModule` serves a forecasting task:

- ``fit`` cache: every input and target channel (and the constants) from the start of the
  training split to the end of the validation split, normalised with the prepared store's
  training statistics (:func:`climbench.data.tensor_cache.ensure_tensor_cache`);
- ``predict`` cache: the input channels only, from the first to the last test input time;
  targets that are not inputs are never read, and the predict samples read only the times
  ``init + history`` (:class:`InputSamples`), so no test target reaches a model;
- training samples: every time step of the training split whose history and leads lie
  inside it, crossed with the training leads (uniform over leads when shuffled);
- validation samples: the protocol's validation inits whose leads end inside the
  validation split (the test period is never read for model selection);
- predict samples: the protocol's test inits, each with all the task's leads.

For autoregressive training (``rollout_steps = K``) a sample holds the inputs and the next
K steps of every input channel (:class:`RolloutSamples`).

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
from climbench.data.samples import ForecastSamples
from climbench.data.tensor_cache import Channel, TensorCache, ensure_tensor_cache
from climbench.errors import ConfigError, SchemaError, TaskError
from climbench.tasks import Task
from climbench.tasks.forecast import PREPARED, init_times, open_store
from climbench.tasks.spec import Field
from climbench.training.task_datamodule import (
    TaskDataModule,
    iso_time,
    lon_order,
    store_statistics,
    times_within,
)


class RolloutSamples(Dataset):
    """Rollout samples: ``x`` at an init and ``y`` (K, C, lat, lon), the next K steps.

    Wraps a :class:`ForecastSamples` whose targets are the inputs' channels and whose lead
    steps are ``1..K``: sample ``i`` is init ``i`` with all its K leads.
    """

    def __init__(self, samples: ForecastSamples) -> None:
        self.samples = samples
        self.steps = samples.lead_steps.size

    def __len__(self) -> int:
        return self.samples.init_indices.size

    def __getitems__(self, indices: Sequence[int]) -> dict:
        return self.get_batch(indices)

    def get_batch(self, indices: Sequence[int]) -> dict:
        """``x`` (B, C_in, lat, lon), ``y`` (B, K, C, lat, lon), ``init_index`` (B,)."""
        inner = (np.asarray(indices, dtype=np.int64)[:, None] * self.steps) + np.arange(self.steps)
        batch = self.samples.get_batch(inner.reshape(-1))
        return {
            "x": batch["x"][:: self.steps],
            "y": batch["y"].view(len(inner), self.steps, *batch["y"].shape[1:]),
            "init_index": batch["init_index"][:: self.steps],
        }


class InputSamples(Dataset):
    """Prediction samples: the inputs of one init and the leads to forecast; no target.

    Wraps a :class:`ForecastSamples` with lead step 0 (it reads only ``init + history``).
    A batch is ``x`` (B, C_in, lat, lon), ``lead_hours`` (B, L) and ``init_index`` (B,).
    """

    def __init__(self, samples: ForecastSamples, lead_hours: Sequence[float]) -> None:
        if samples.lead_steps.tolist() != [0]:
            raise ValueError("InputSamples needs ForecastSamples with lead_steps (0,)")
        self.samples = samples
        self.lead_hours = torch.tensor(list(lead_hours), dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitems__(self, indices: Sequence[int]) -> dict:
        return self.get_batch(indices)

    def get_batch(self, indices: Sequence[int]) -> dict:
        batch = self.samples.get_batch(indices)
        return {
            "x": batch["x"],
            "lead_hours": self.lead_hours.expand(len(batch["x"]), -1).clone(),
            "init_index": batch["init_index"],
        }


class ForecastDataModule(TaskDataModule):
    """Train, validation and predict loaders of a forecasting task (module docstring).

    Args:
        task: a forecasting :class:`~climbench.tasks.Task`.
        batch_size: samples per batch (inits per batch for predict).
        num_workers: DataLoader worker processes.
        train_leads: lead times (hours) to train on, drawn uniformly; default all the
            task's leads. Also the validation leads.
        seed: seed of the shuffling order.
        cache_dir: where tensor caches live (default ``<task data>/tensor_cache``).
        rollout_steps: 0 for direct forecasts; K for K-step rollout samples.
    """

    kind = "forecast"
    #: the network is conditioned on the lead time
    lead_conditioned = True

    def __init__(
        self,
        task: Task,
        batch_size: int = 32,
        num_workers: int = 0,
        train_leads: Sequence[int] | None = None,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        rollout_steps: int = 0,
    ) -> None:
        super().__init__(task, batch_size, num_workers, seed)
        self.cache_dir = Path(cache_dir) if cache_dir else task.data_dir / "tensor_cache"
        self.rollout_steps = rollout_steps
        proto = task.spec.forecast
        self.step_hours = proto.time_step_hours
        self.history = _steps(proto.history_hours, self.step_hours, "forecast.history_hours")
        if rollout_steps:
            self.lead_steps = list(range(1, rollout_steps + 1))
        else:
            leads = proto.lead_hours if train_leads is None else tuple(train_leads)
            self.lead_steps = _steps(leads, self.step_hours, "data.train_leads")
            if min(self.lead_steps) < 1:
                raise ConfigError(
                    "bad training lead",
                    variable="data.train_leads",
                    expected="positive lead times in hours",
                    found=str(list(leads)),
                )
        self.fit_cache: TensorCache | None = None
        self.predict_cache: TensorCache | None = None

    # -- layout ---------------------------------------------------------------------------
    @property
    def inputs(self) -> tuple[Field, ...]:
        return self.task.spec.inputs

    @property
    def fit_channels(self) -> list[Channel]:
        """Inputs, then targets that are not inputs, then constants."""
        fields = list(dict.fromkeys((*self.inputs, *self.task.spec.targets)))
        constants = [Channel(c) for c in self.task.spec.constants]
        return [Channel(f.variable, f.level) for f in fields] + constants

    @property
    def predict_channels(self) -> list[Channel]:
        """Inputs and constants only."""
        constants = [Channel(c) for c in self.task.spec.constants]
        return [Channel(f.variable, f.level) for f in self.inputs] + constants

    def module_args(self) -> dict:
        """The data-dependent arguments of :class:`ClimbenchModule`, as plain data."""
        self.task.require_prepared()
        spec = self.task.spec
        fields = list(dict.fromkeys((*self.inputs, *spec.targets)))
        mean, std = store_statistics(self.task.data_dir / PREPARED, fields)
        store = open_store(self.task)
        return {
            "lat": [float(v) for v in store["lat"].values],
            "input_names": [f.name for f in self.inputs],
            "target_names": [f.name for f in spec.targets],
            "mean": mean,
            "std": std,
            "history_steps": len(self.history),
            "constant_names": list(spec.constants),
            "step_hours": float(self.step_hours),
            "lon_order": lon_order(store["lon"].values),
        }

    def periodic_lon(self) -> bool:
        """Whether the grid is global in longitude (convolutions wrap around)."""
        return is_periodic(open_store(self.task)["lon"].values)

    def in_channels(self) -> int:
        """Channels of ``x``: history steps x inputs, plus the constants."""
        return len(self.history) * len(self.inputs) + len(self.task.spec.constants)

    def grid_shape(self) -> tuple[int, int]:
        store = open_store(self.task)
        return int(store.sizes["lat"]), int(store.sizes["lon"])

    # -- caches ---------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Build the task's data and both tensor caches when missing (rank 0 only)."""
        self.task.require_prepared()
        self._open_fit_cache()
        self._open_predict_cache()

    def _open_fit_cache(self) -> TensorCache:
        splits = self.task.spec.splits
        span = (iso_time(splits["train"].bounds()[0]), iso_time(splits["validation"].bounds()[1]))
        return ensure_tensor_cache(
            self.task.data_dir / PREPARED, self.fit_channels, self.cache_dir, time_range=span
        )

    def _open_predict_cache(self) -> TensorCache:
        inits = self.predict_inits
        first = inits[0] + pd.Timedelta(hours=min(self.history) * self.step_hours)
        return ensure_tensor_cache(
            self.task.data_dir / PREPARED,
            self.predict_channels,
            self.cache_dir,
            time_range=(iso_time(first), iso_time(inits[-1])),
        )

    # -- datasets -------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit", "validate"):
            self.fit_cache = self._open_fit_cache()
            _check_step(self.fit_cache, self.step_hours)
            self.train_set = self._samples(self.fit_cache, self._train_inits())
            self.val_set = self._samples(self.fit_cache, self._validation_inits())
        if stage in (None, "predict"):
            self.predict_cache = self._open_predict_cache()
            _check_step(self.predict_cache, self.step_hours)
            cache = self.predict_cache
            inputs = [cache.channel_index(f.name) for f in self.inputs]
            samples = ForecastSamples(
                cache,
                inputs,
                inputs[:1],  # read at the init time: an input, never a target
                cache.indices_of(self.predict_inits.values.astype("datetime64[ns]")),
                [0],
                self.history,
            )
            self.predict_set = InputSamples(samples, self.task.spec.forecast.lead_hours)

    def _samples(self, cache: TensorCache, inits: np.ndarray) -> Dataset:
        inputs = [cache.channel_index(f.name) for f in self.inputs]
        if self.rollout_steps:
            return RolloutSamples(
                ForecastSamples(cache, inputs, inputs, inits, self.lead_steps, self.history)
            )
        targets = [cache.channel_index(f.name) for f in self.task.spec.targets]
        return ForecastSamples(cache, inputs, targets, inits, self.lead_steps, self.history)

    def _train_inits(self) -> np.ndarray:
        """Every step whose history and longest lead lie in the training split."""
        start, end = self.task.spec.splits["train"].bounds()
        inside = np.flatnonzero(times_within(self.fit_cache.times, start, end))
        inits = np.arange(inside[0] - min(self.history), inside[-1] - max(self.lead_steps) + 1)
        if inits.size == 0:
            raise TaskError(
                "no training sample",
                variable=self.task.name,
                expected="a training split longer than the history plus the longest lead",
                found=f"{inside.size} steps",
            )
        return inits

    def _validation_inits(self) -> np.ndarray:
        """The protocol's validation inits whose longest lead ends inside the split."""
        spec = self.task.spec
        _, end = spec.splits["validation"].bounds()
        longest = pd.Timedelta(hours=max(self.lead_steps) * self.step_hours)
        inits = init_times(spec, "validation")
        inits = inits[inits + longest <= end]
        if inits.size == 0:
            raise TaskError(
                "no validation sample",
                variable=self.task.name,
                expected=f"validation inits at least {longest} before the split's end",
                found="none",
            )
        return self.fit_cache.indices_of(inits.values.astype("datetime64[ns]"))

    @property
    def predict_inits(self) -> pd.DatetimeIndex:
        """The protocol's test inits (the predictions' ``init_time``)."""
        return init_times(self.task.spec, "test")


def _steps(hours: Sequence[int], step: int, key: str) -> list[int]:
    """Hours as time steps; SchemaError naming ``key`` when one is not a whole step."""
    bad = [h for h in hours if h % step]
    if bad:
        raise TaskError(
            "time offsets that are not whole time steps",
            variable=key,
            expected=f"multiples of {step} h",
            found=str(bad),
        )
    return [int(h // step) for h in hours]


def _check_step(cache: TensorCache, step_hours: int) -> None:
    steps = np.unique(np.diff(cache.hours))
    if steps.size > 1 or (steps.size and steps[0] != step_hours):
        raise SchemaError(
            "irregular or unexpected time step in the prepared data",
            path=cache.path,
            expected=f"every {step_hours} h",
            found=f"steps of {sorted(steps.tolist())} h",
        )
