"""Training: one LightningModule family, one LightningDataModule per task kind, configs.

- :class:`ClimbenchModule` (:mod:`.module`): wraps any network with the task's loss
  (area-weighted, per-variable weights; fair CRPS for ensembles), residual and lead-time
  conditioned or autoregressive forecasting, logging and prediction.
- :class:`ForecastDataModule` (:mod:`.forecast_data`), :class:`DownscalingDataModule`
  (:mod:`.downscaling_data`): tensor-cache loaders of a task (train, validation, and test
  inputs only);
  :class:`EmulationDataModule` (:mod:`.emulation_data`): windows of forcing years held in
  memory; :func:`datamodule_for` picks one by task kind.
- the baselines fitted in closed form live in :mod:`climbench.baselines`.
- :func:`load_config` (:mod:`.config`): YAML configs in LightningCLI style.
- :func:`train` (:mod:`.train`) and :func:`predict` / :func:`load_module` (:mod:`.predict`):
  config to checkpoint to predictions file, the library side of ``climbench train`` and
  ``climbench predict``.
"""

from climbench.training.config import TrainConfig, load_config
from climbench.training.downscaling_data import DownscalingDataModule
from climbench.training.emulation_data import EmulationDataModule
from climbench.training.forecast_data import ForecastDataModule
from climbench.training.module import ClimbenchModule
from climbench.training.predict import load_module, predict
from climbench.training.task_datamodule import datamodule_for
from climbench.training.train import train

__all__ = [
    "ClimbenchModule",
    "DownscalingDataModule",
    "EmulationDataModule",
    "ForecastDataModule",
    "TrainConfig",
    "datamodule_for",
    "load_config",
    "load_module",
    "predict",
    "train",
]
