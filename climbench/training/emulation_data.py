"""LightningDataModule of an emulation task: windows of past forcing years -> a year's climate.

An emulation task's data are small (scenario x year annual maps: tens of MB), so
:class:`EmulationDataModule` holds them in memory as two normalised float32 arrays:

- inputs ``(scenario, year, C_in, lat, lon)``: the task's ``inputs`` (ClimateBench: CO2
  and CH4 as global values, broadcast to maps; SO2 and BC maps), each normalised with its
  training mean and std (:func:`climbench.tasks.emulation.statistics`);
- targets ``(scenario, year, C_out, lat, lon)``: the task's targets (anomalies where the
  task defines a reference), normalised the same way.

A sample is one (scenario, year): ``x`` the inputs of the ``history_years`` years ending
with it, oldest first, ``(T, C_in, lat, lon)``, and ``y`` its targets ``(C_out, lat, lon)``
(ClimateBench's CNN-LSTM windows). A scenario's years before its first year with finite
inputs repeat that year's inputs, so every year has a full window (as the closed-form ridge
does, :mod:`climbench.training.closed_form`); a window never crosses scenarios.

Splits follow the task: training rows are the training scenarios minus any held-out
years; validation rows the validation scenarios (or the held-out years); predict rows the
test scenarios' years in the test period, whose windows read earlier test-scenario
forcings but never a test target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch.utils.data import Dataset

from climbench.data.grids import is_periodic
from climbench.errors import SchemaError, TaskError
from climbench.tasks import Task
from climbench.tasks import emulation as em_task
from climbench.training.task_datamodule import TaskDataModule, lon_order


class WindowSamples(Dataset):
    """(scenario, year) rows of in-memory arrays as windows of ``history`` years.

    Args:
        inputs: ``(scenario, year, C_in, lat, lon)`` normalised inputs, windows filled.
        targets: ``(scenario, year, C_out, lat, lon)`` normalised targets, or None (predict).
        rows: ``(n, 2)`` scenario and year indices of the samples.
        history: years per window (the sample's year last).
    """

    def __init__(
        self,
        inputs: np.ndarray,
        targets: np.ndarray | None,
        rows: np.ndarray,
        history: int,
    ) -> None:
        self.inputs = torch.from_numpy(inputs)
        self.targets = None if targets is None else torch.from_numpy(targets)
        self.rows = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        self.offsets = np.arange(1 - history, 1)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitems__(self, indices: Sequence[int]) -> dict:
        return self.get_batch(indices)

    def get_batch(self, indices: Sequence[int]) -> dict:
        """``x`` (B, T, C_in, lat, lon), ``y`` (B, C_out, lat, lon), ``row`` (B, 2)."""
        rows = self.rows[np.asarray(indices, dtype=np.int64)]
        years = np.maximum(rows[:, 1:2] + self.offsets, 0)  # windows start at year 0 at most
        x = self.inputs[torch.from_numpy(rows[:, :1]), torch.from_numpy(years)]
        out = {"x": x, "row": torch.from_numpy(rows)}
        if self.targets is not None:
            out["y"] = self.targets[rows[:, 0], rows[:, 1]]
        return out


class EmulationDataModule(TaskDataModule):
    """Train, validation and predict loaders of an emulation task (module docstring).

    Args:
        task: an emulation :class:`~climbench.tasks.Task`.
        batch_size, num_workers, seed: loader options.
        cache_dir: unused (the data are held in memory); accepted so every datamodule
            takes the same options.
    """

    kind = "emulation"
    #: the network is not conditioned on a lead time
    lead_conditioned = False

    def __init__(
        self,
        task: Task,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__(task, batch_size, num_workers, seed)
        self.history = task.spec.emulation.history_years
        self._arrays: tuple[xr.Dataset, np.ndarray, np.ndarray] | None = None

    # -- layout ---------------------------------------------------------------------------
    @property
    def inputs(self):
        return self.task.spec.inputs

    def module_args(self) -> dict:
        """The data-dependent arguments of :class:`ClimbenchModule`, as plain data."""
        self.task.require_prepared()
        spec, stats = self.task.spec, em_task.statistics(self.task)
        targets = [f.variable for f in spec.targets]
        return {
            "lat": [float(v) for v in self._load()[0]["lat"].values],
            "input_names": [f.name for f in self.inputs],
            "target_names": [f.name for f in spec.targets],
            "mean": {f.name: stats[v]["mean"] for f, v in zip(spec.targets, targets, strict=True)},
            "std": {f.name: stats[v]["std"] for f, v in zip(spec.targets, targets, strict=True)},
            "history_steps": self.history,
            "constant_names": [],
            "lon_order": lon_order(self._load()[0]["lon"].values),
        }

    def periodic_lon(self) -> bool:
        """Whether the grid is global in longitude."""
        return is_periodic(self._load()[0]["lon"].values)

    def in_channels(self) -> int:
        """Forcing maps per year (the network sees ``history_years`` of them)."""
        return len(self.inputs)

    def grid_shape(self) -> tuple[int, int]:
        store = self._load()[0]
        return int(store.sizes["lat"]), int(store.sizes["lon"])

    # -- data -----------------------------------------------------------------------------
    def prepare_data(self) -> None:
        self.task.require_prepared()

    def _load(self) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
        """(store, normalised inputs with filled windows, normalised targets), read once:
        the layout queries (grid, latitudes) use the same in-memory store."""
        if self._arrays is None:
            store = em_task.open_store(self.task)
            stats = em_task.statistics(self.task)
            inputs = _fill_leading_years(_stack(store, [f.variable for f in self.inputs], stats))
            targets = _stack(store, [f.variable for f in self.task.spec.targets], stats)
            self._arrays = (store, inputs, targets)
        return self._arrays

    def setup(self, stage: str | None = None) -> None:
        store, inputs, targets = self._load()
        if stage in (None, "fit", "validate"):
            self.train_set = self._samples(store, inputs, targets, "train")
            self.val_set = self._samples(store, inputs, targets, "validation")
        if stage in (None, "predict"):
            tmpl = em_task.template(self.task)
            rows = _row_indices(store, tmpl["scenario"].values, tmpl["year"].values)
            if not np.isfinite(inputs[rows[:, 0], rows[:, 1]]).all():
                raise SchemaError(
                    "missing forcings in a test year",
                    path=self.task.data_dir,
                    variable=", ".join(f.variable for f in self.inputs),
                    expected="finite forcings in every test year",
                    found="NaN",
                )
            self.predict_rows = pd.MultiIndex.from_product(
                [tmpl["scenario"].values, tmpl["year"].values], names=["scenario", "year"]
            )
            self.predict_set = WindowSamples(inputs, None, rows, self.history)

    def _samples(
        self, store: xr.Dataset, inputs: np.ndarray, targets: np.ndarray, split: str
    ) -> WindowSamples:
        """The rows of ``split`` whose inputs and targets are all finite."""
        part = em_task.split_rows(self.task, split)
        rows = _row_indices(store, part["scenario"].values, part["year"].values)
        finite = np.isfinite(targets[rows[:, 0], rows[:, 1]]).all((1, 2, 3))
        finite &= np.isfinite(inputs[rows[:, 0], rows[:, 1]]).all((1, 2, 3))
        rows = rows[finite]
        if rows.size == 0:
            raise TaskError(
                f"no {split} sample",
                variable=self.task.name,
                expected=f"{split} years with finite forcings and targets",
                found="none",
            )
        return WindowSamples(inputs, targets, rows, self.history)


def _stack(store: xr.Dataset, names: Sequence[str], stats: dict) -> np.ndarray:
    """``(scenario, year, C, lat, lon)`` float32 of ``names``, each normalised; global
    (scenario, year) values are broadcast to maps."""
    shape = (store.sizes["lat"], store.sizes["lon"])
    fields = []
    for name in names:
        da = store[name].transpose("scenario", "year", ...)
        values = (da.values.astype(np.float64) - stats[name]["mean"]) / stats[name]["std"]
        if values.ndim == 2:
            values = np.broadcast_to(values[..., None, None], values.shape + shape)
        fields.append(values.astype(np.float32))
    return np.ascontiguousarray(np.stack(fields, axis=2))


def _fill_leading_years(inputs: np.ndarray) -> np.ndarray:
    """Each scenario's years before its first fully finite year take that year's inputs
    (a scenario with no finite year stays NaN and yields no sample)."""
    finite = np.isfinite(inputs).all((2, 3, 4))  # (scenario, year)
    for s in range(inputs.shape[0]):
        if finite[s].any():
            first = int(np.argmax(finite[s]))
            inputs[s, :first] = inputs[s, first]
    return inputs


def _row_indices(store: xr.Dataset, scenarios, years) -> np.ndarray:
    """``(n, 2)`` scenario and year indices in ``store`` of every (scenario, year) pair."""
    s = pd.Index(store["scenario"].values).get_indexer(list(scenarios))
    y = pd.Index(store["year"].values).get_indexer(list(years))
    return np.stack(np.meshgrid(s, y, indexing="ij"), axis=-1).reshape(-1, 2)
