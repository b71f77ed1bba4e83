"""Task kinds: everything that differs between forecasting, downscaling and emulation, in
one object per kind and one registry.

Nothing outside this registry branches on a task's kind: the task, the scorer, the
datamodules and the predictions layout all ask the task's :class:`TaskKind` (and each
baseline says which kinds it serves, :mod:`climbench.baselines`). A kind names its parts
by import path (``"module:attribute"``) and imports them only when used, so that listing
tasks stays fast and scoring never imports torch.

A new kind is its modules plus one :func:`register_kind` line (see the three below).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from climbench.errors import ConfigError
from climbench.registry import Registry


@dataclass(frozen=True)
class TaskKind:
    """One kind of task and where its parts live.

    Attributes:
        name: the ``kind`` of a task spec.
        protocol: the spec section holding the kind's protocol (its dataclass in
            :mod:`climbench.tasks.spec` has ``check(spec, fail)``).
        time_splits: whether the spec needs disjoint train / validation / test periods.
        data: module that builds a task's data and reads it (``build``, ``is_prepared``,
            ``load_split``, ``truth``, ``template``).
        scorer: the scorer, ``f(predictions, task, path, resamples) ->
            (SampleStatistics, extra rows or None)``.
        predictions: ``f(task, arrays, datamodule, members) -> Dataset``, the predictions
            layout of a network's outputs (None: the kind has no network loop).
        datamodule: the LightningDataModule class (None: no network loop; training a
            network on such a task is refused with a ConfigError).
        provides: the per-sample statistics its scorer provides, so the registered
            scores (:mod:`climbench.metrics.scores`) it can report are those that need no
            other; ensembles add ``crps`` and ``var``.
        extra_metrics: scores its scorer adds that are not functions of sample means. A
            spec naming a metric outside these two is refused when it loads (a misspelt
            metric would otherwise never be reported).
        datamodule_options: training options only this kind's datamodule takes.
        registered_statistics: whether its scorer computes the registered statistics
            (:class:`~climbench.metrics.scores.Statistic`), so that their scores can be
            named in its specs.
    """

    name: str
    protocol: str
    time_splits: bool
    data: str
    scorer: str
    predictions: str | None
    datamodule: str | None
    provides: tuple[str, ...] = ()
    extra_metrics: tuple[str, ...] = ()
    datamodule_options: tuple[str, ...] = ()
    registered_statistics: bool = False

    def data_module(self) -> ModuleType:
        return importlib.import_module(self.data)

    def sample_statistics(self, predictions: Any, task: Any, path: str, resamples: int):
        """The scorer's per-sample statistics (and extra rows) of ``predictions``."""
        return _load(self.scorer)(predictions, task, path, resamples)

    def predictions_dataset(self, task: Any, arrays: dict, datamodule: Any, members: int):
        """A network's outputs (field -> array) in the task's predictions layout."""
        return _load(self._network_part(self.predictions))(task, arrays, datamodule, members)

    def datamodule_class(self) -> type:
        return _load(self._network_part(self.datamodule))

    def _network_part(self, path: str | None) -> str:
        """``path``, or the refusal of a kind whose tasks have no network training loop."""
        if path is None:
            raise ConfigError(
                f"{self.name} tasks are not trained with the network loop",
                variable=self.name,
                expected="a closed-form baseline (climbench train --model ridge), or "
                "predictions written in the task's template by any framework",
                found="a network model",
                hint="see `climbench tasks show NAME` for the baselines of the task",
            )
        return path


KINDS: Registry[TaskKind] = Registry("task kind")


def register_kind(kind: TaskKind) -> TaskKind:
    """Add a task kind to the registry (a spec of that ``kind`` can then be loaded)."""
    return KINDS.register(kind)


def get_kind(name: str) -> TaskKind:
    """The registered kind ``name``; the error lists the known kinds."""
    return KINDS.get_named(name)


#: per-sample statistics every scorer provides (:mod:`climbench.metrics.scores`); ensembles
#: add the fair CRPS and the ensemble variance
ERROR_STATISTICS = ("se", "ae", "e", "crps", "var")


def _load(path: str) -> Callable:
    module, attribute = path.split(":")
    return getattr(importlib.import_module(module), attribute)


register_kind(
    TaskKind(
        name="forecast",
        protocol="forecast",
        time_splits=True,
        data="climbench.tasks.forecast",
        scorer="climbench.evaluation.forecast:sample_statistics",
        predictions="climbench.tasks.forecast:network_predictions",
        datamodule="climbench.training.forecast_data:ForecastDataModule",
        provides=(*ERROR_STATISTICS, "fo", "ff", "oo", "acc", "vse"),
        extra_metrics=("spectral_divergence",),
        datamodule_options=("train_leads", "rollout_steps"),
        registered_statistics=True,
    )
)
register_kind(
    TaskKind(
        name="downscaling",
        protocol="downscaling",
        time_splits=True,
        data="climbench.tasks.downscaling",
        scorer="climbench.evaluation.downscaling:downscaling_statistics",
        predictions="climbench.tasks.downscaling:network_predictions",
        datamodule="climbench.training.downscaling_data:DownscalingDataModule",
        provides=ERROR_STATISTICS,
        extra_metrics=("quantile_error_99", "spectral_ratio"),
    )
)
register_kind(
    TaskKind(
        name="emulation",
        protocol="emulation",
        time_splits=False,
        data="climbench.tasks.emulation",
        scorer="climbench.evaluation.emulation:emulation_statistics",
        predictions="climbench.tasks.emulation:network_predictions",
        datamodule="climbench.training.emulation_data:EmulationDataModule",
        provides=ERROR_STATISTICS,
        extra_metrics=(
            "nrmse_spatial",
            "nrmse_global",
            "nrmse_total",
            "snrmse_spatial",
            "snrmse_global",
        ),
    )
)
register_kind(
    TaskKind(
        name="station",
        protocol="station",
        time_splits=True,
        data="climbench.tasks.station",
        scorer="climbench.evaluation.station_scorer:station_statistics",
        predictions=None,  # no network datamodule yet: closed-form baselines and any
        datamodule=None,  # framework's predictions in the task's template
        provides=("se", "ae", "e"),
    )
)
