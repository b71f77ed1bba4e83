"""Torch datasets over tensor caches: forecast samples and same-time field pairs.

Both datasets read a :class:`~climbench.data.tensor_cache.TensorCache` (normalised float32
``(time, channel, lat, lon)`` memmap) and return dicts of tensors:

- ``x``: the input channels stacked as ``(history step, channel)`` then the constants,
  shape ``(len(history) * len(input_channels) + n_constants, lat, lon)``;
- ``y``: the target channels, ``(len(target_channels), lat, lon)``;
- ``lead_hours`` (forecasts): float32, hours from the initialisation to the target time;
- ``init_index`` (forecasts) / ``time_index`` (pairs): the time index in the cache.

A whole batch is read by :meth:`get_batch` with one fancy-indexing read (``np.take``) of the
memmap per tensor, which :func:`make_loader` uses through ``__getitems__``:
a DataLoader worker fetches whole batches, and there is no shuffle buffer, so the first batch
arrives as soon as one batch is read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    get_worker_info,
)

from climbench.data.tensor_cache import TensorCache


class ForecastSamples(Dataset):
    """One sample per (initialisation, lead step) pair, initialisation-major.

    Args:
        cache: the tensor cache to read.
        input_channels, target_channels: channel indices in ``cache.data``
            (``cache.channel_index("geopotential_500")``).
        init_indices: time indices of the initialisations.
        lead_steps: lead times in time steps of the cache (12 is 72 h for 6-hourly data).
        history: input time offsets in steps relative to the initialisation, oldest first:
            ``(-1, 0)`` gives the fields 6 h before and at the initialisation.
        include_constants: append the cache's constant channels to ``x``.

    ``lead_hours`` holds the hours from each initialisation to each lead, float32
    ``(init, lead)``, from the cache's times (so irregular time axes are right too).

    Raises ValueError when a channel index is not in the cache, or when an input or target
    time falls outside the cache (naming the first such sample).
    """

    def __init__(
        self,
        cache: TensorCache,
        input_channels: Sequence[int],
        target_channels: Sequence[int],
        init_indices: Sequence[int],
        lead_steps: Sequence[int],
        history: Sequence[int] = (0,),
        include_constants: bool = True,
    ) -> None:
        self.cache = cache
        self.input_channels = _channel_indices(cache, input_channels, "input_channels")
        self.target_channels = _channel_indices(cache, target_channels, "target_channels")
        self.init_indices = _index_array(init_indices, "init_indices")
        self.lead_steps = _index_array(lead_steps, "lead_steps")
        self.history = _index_array(history, "history")
        _check_times(cache, self.init_indices, self.history, "history offset")
        _check_times(cache, self.init_indices, self.lead_steps, "lead")
        self.constants = _constants(cache, include_constants)
        hours = cache.hours
        targets = self.init_indices[:, None] + self.lead_steps[None, :]
        self.lead_hours = (hours[targets] - hours[self.init_indices][:, None]).astype(np.float32)

    def __len__(self) -> int:
        return self.init_indices.size * self.lead_steps.size

    def __getitem__(self, index: int) -> dict:
        batch = self.get_batch([index])
        return {
            "x": batch["x"][0],
            "y": batch["y"][0],
            "lead_hours": batch["lead_hours"][0],
            "init_index": int(batch["init_index"][0]),
        }

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A batch for ``DataLoader(batch_sampler=...)``; pair with :func:`collate_batch`."""
        return self.get_batch(indices)

    def get_batch(self, indices: Sequence[int]) -> dict:
        """Samples ``indices`` as batched tensors: ``x`` (B, C_in, lat, lon), ``y``
        (B, C_out, lat, lon), ``lead_hours`` (B,) float32, ``init_index`` (B,) int64."""
        index = _sample_indices(indices, len(self))
        init_pos, lead_pos = np.divmod(index, self.lead_steps.size)
        init = self.init_indices[init_pos]
        x_times = init[:, None] + self.history[None, :]
        y_times = (init + self.lead_steps[lead_pos])[:, None]
        return {
            "x": _gather(self.cache.data, x_times, self.input_channels, self.constants),
            "y": _gather(self.cache.data, y_times, self.target_channels),
            "lead_hours": torch.from_numpy(self.lead_hours[init_pos, lead_pos]),
            "init_index": torch.from_numpy(init),
        }


class FieldPairSamples(Dataset):
    """Same-time pairs from two caches, for downscaling and emulation: ``x`` from ``inputs``
    at time ``t`` (plus its constants), ``y`` from ``targets`` at the same time.

    The caches may be on different grids (the model or the caller regrids); they must share
    the calendar. ``time_indices`` index ``inputs``; each time must also be in ``targets``.
    """

    def __init__(
        self,
        inputs: TensorCache,
        targets: TensorCache,
        input_channels: Sequence[int],
        target_channels: Sequence[int],
        time_indices: Sequence[int],
        include_constants: bool = True,
    ) -> None:
        if inputs.calendar != targets.calendar:
            raise ValueError(
                f"{inputs.path} uses the {inputs.calendar} calendar and {targets.path} the "
                f"{targets.calendar} calendar; prepare both with the same calendar"
            )
        self.inputs, self.targets = inputs, targets
        self.input_channels = _channel_indices(inputs, input_channels, "input_channels")
        self.target_channels = _channel_indices(targets, target_channels, "target_channels")
        self.time_indices = _index_array(time_indices, "time_indices")
        _check_indices(inputs, self.time_indices)
        self.target_indices = targets.indices_of(inputs.times[self.time_indices])
        self.constants = _constants(inputs, include_constants)

    def __len__(self) -> int:
        return self.time_indices.size

    def __getitem__(self, index: int) -> dict:
        batch = self.get_batch([index])
        return {
            "x": batch["x"][0],
            "y": batch["y"][0],
            "time_index": int(batch["time_index"][0]),
        }

    def __getitems__(self, indices: Sequence[int]) -> dict:
        """A batch for ``DataLoader(batch_sampler=...)``; pair with :func:`collate_batch`."""
        return self.get_batch(indices)

    def get_batch(self, indices: Sequence[int]) -> dict:
        """Samples ``indices`` as batched tensors: ``x``, ``y`` and ``time_index`` (B,) (the
        index in ``inputs``)."""
        index = _sample_indices(indices, len(self))
        times = self.time_indices[index]
        return {
            "x": _gather(self.inputs.data, times[:, None], self.input_channels, self.constants),
            "y": _gather(
                self.targets.data, self.target_indices[index][:, None], self.target_channels
            ),
            "time_index": torch.from_numpy(times),
        }


def collate_batch(batch: dict) -> dict:
    """The DataLoader ``collate_fn`` for ``__getitems__`` batches: they are already tensors
    stacked along the batch axis, so it passes them through."""
    return batch


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    seed: int = 0,
    pin_memory: bool | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader that reads whole batches through ``dataset.__getitems__`` (the datasets
    here, or any whose ``__getitems__`` returns a dict of batched tensors).

    Shuffling draws a new permutation each epoch from a ``torch.Generator`` seeded with
    ``seed``, so the order of every epoch is reproducible. Workers, when any, stay alive
    between epochs; on a cache in the page cache a batch is read faster than a worker can
    hand it over, so ``num_workers=0`` is usually fastest (``benchmarks/README.md``,
    "loader"). ``pin_memory`` defaults to whether CUDA is available.
    """
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(
        dataset,
        batch_sampler=BatchSampler(sampler, batch_size, drop_last),
        num_workers=num_workers,
        collate_fn=collate_batch,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        persistent_workers=num_workers > 0,
    )


def _gather(
    data: np.ndarray, times: np.ndarray, channels: np.ndarray, constants: np.ndarray | None = None
) -> torch.Tensor:
    """``data[times[b, k], channels[c]]`` as a float32 tensor ``(B, K * C [+ n_constants], lat,
    lon)``, the constants appended to every sample.

    The memmap is viewed as rows of ``(time, channel)`` fields, and one ``np.take`` copies
    the batch's rows in sample order straight into the output tensor (without constants) or
    into one temporary. Inside a DataLoader worker the output is allocated in shared memory,
    so it reaches the main process without another copy (as torch's ``default_collate``
    does). Sorting or de-duplicating the time steps first costs more than it saves on a
    cache in the page cache (measured in ``benchmarks/bench_loader.py``).
    """
    batch = times.shape[0]
    n_time, n_channel, *field = data.shape
    plane = math.prod(field)
    rows = (times[:, :, None] * n_channel + channels[None, None, :]).reshape(-1)
    n_constants = 0 if constants is None else constants.shape[0]
    out = torch.empty((batch, rows.size // batch + n_constants, *field))
    if get_worker_info() is not None:
        out.share_memory_()
    values = out.numpy().reshape(batch, -1, plane)
    source = data.reshape(n_time * n_channel, plane)
    if n_constants:
        values[:, :-n_constants] = np.take(source, rows, axis=0, mode="clip").reshape(
            batch, -1, plane
        )
        values[:, -n_constants:] = constants.reshape(n_constants, plane)
    else:  # indices are checked at construction: "clip" skips a buffered bounds check
        np.take(source, rows, axis=0, out=values.reshape(-1, plane), mode="clip")
    return out


def _constants(cache: TensorCache, include: bool) -> np.ndarray | None:
    return cache.constants if include and cache.constants is not None else None


def _channel_indices(cache: TensorCache, channels: Sequence[int], what: str) -> np.ndarray:
    index = _index_array(channels, what)
    bad = (index < 0) | (index >= len(cache.channels))
    if bad.any():
        raise ValueError(
            f"{what}: channel index {index[bad][0]} is not in {cache.path}, which has "
            f"{len(cache.channels)} channels {[c.name for c in cache.channels]}"
        )
    return index


def _index_array(values: Sequence[int], what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a non-empty sequence of integers, got {values!r}")
    return array.astype(np.int64)


def _sample_indices(indices: Sequence[int], length: int) -> np.ndarray:
    index = np.asarray(indices, dtype=np.int64).reshape(-1)
    bad = (index < 0) | (index >= length)
    if bad.any():
        raise IndexError(f"sample index {index[bad][0]} out of range for {length} samples")
    return index


def _check_times(cache: TensorCache, init: np.ndarray, offsets: np.ndarray, what: str) -> None:
    """ValueError naming the first ``init + offset`` outside the cache's time axis."""
    needed = init[:, None] + offsets[None, :]
    bad = (needed < 0) | (needed >= len(cache.times))
    if not bad.any():
        return
    i, j = np.argwhere(bad)[0]
    start = int(init[i])
    at = f" ({cache.times[start]})" if 0 <= start < len(cache.times) else ""
    raise ValueError(
        f"time index {start}{at} with {what} {int(offsets[j]):+d} steps needs time index "
        f"{int(needed[i, j])}, outside {_extent(cache)}; choose initialisations at least "
        f"{max(0, -int(offsets.min()))} steps after the first and {max(0, int(offsets.max()))} "
        "steps before the last time"
    )


def _check_indices(cache: TensorCache, indices: np.ndarray) -> None:
    bad = (indices < 0) | (indices >= len(cache.times))
    if bad.any():
        raise ValueError(f"time index {int(indices[bad][0])} is outside {_extent(cache)}")


def _extent(cache: TensorCache) -> str:
    return f"{cache.path} ({len(cache.times)} steps, {cache.times[0]} to {cache.times[-1]})"
