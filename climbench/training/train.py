"""``climbench train``: a config (or its path) to a trained checkpoint, with Lightning.

One function, :func:`train`: it reads the config, builds the task's datamodule and a
:class:`~climbench.training.module.ClimbenchModule` around the named network (its data
sizes filled in from the task), seeds everything, and runs :class:`lightning.Trainer` with
the config's ``trainer`` arguments (devices, strategy, precision, ...). The run directory
gets the config as used (``config.yaml``), CSV logs (``logs/metrics.csv``) and the
checkpoints (``checkpoints/best.ckpt`` by validation loss, ``checkpoints/last.ckpt``).
"""

from __future__ import annotations

import inspect
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import nn

from climbench.errors import ConfigError
from climbench.models import MODELS
from climbench.tasks import Task, get_task
from climbench.tasks.kinds import get_kind
from climbench.training.config import (
    TrainConfig,
    load_config,
    with_overrides,
    write_config,
)
from climbench.training.downscaling_data import DownscalingDataModule
from climbench.training.emulation_data import EmulationDataModule
from climbench.training.forecast_data import ForecastDataModule
from climbench.training.module import ClimbenchModule
from climbench.training.task_datamodule import datamodule_for

DataModule = ForecastDataModule | DownscalingDataModule | EmulationDataModule


def train(
    config_or_path: TrainConfig | str | os.PathLike | dict,
    *,
    task: str | Task | None = None,
    model: str | nn.Module | None = None,
    max_epochs: int | None = None,
    out_dir: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    progress: bool = True,
    overrides: dict[str, Any] | None = None,
) -> Path:
    """Train the model of a config on its task; return the best checkpoint's path.

    Args:
        config_or_path: a :class:`TrainConfig`, a YAML path or a mapping.
        task: train on this task (a name, or a :class:`Task` for a custom spec) instead of
            the config's.
        model: a network name to use instead of the config's (with its default sizes
            unless it is the config's own), or
            an ``nn.Module`` to wrap (not saved in the checkpoint: pass it again to
            :func:`~climbench.training.predict.load_module`).
        max_epochs: override ``trainer.max_epochs``.
        out_dir: the run directory (default ``runs/<task>-<model>``).
        data_root: the task data root (default ``$CLIMBENCH_DATA``).
        progress: show Lightning's progress bar and model summary.
        overrides: dotted config keys to replace, applied last
            (``{"trainer.precision": "bf16-mixed", "trainer.accelerator": "gpu"}``).
    """
    config = (
        config_or_path if isinstance(config_or_path, TrainConfig) else load_config(config_or_path)
    )
    changes: dict[str, Any] = {}
    if task is not None:
        changes["task"] = task if isinstance(task, str) else task.name
    if max_epochs is not None:
        changes["trainer.max_epochs"] = max_epochs
    if isinstance(model, str) and model != config.model.name:
        changes["model"] = {"name": model, "init_args": {}}
    changes |= overrides or {}
    config = with_overrides(config, **changes) if changes else config
    lightning.seed_everything(config.seed_everything, workers=True, verbose=False)

    the_task = task if isinstance(task, Task) else get_task(config.task, data_root)
    datamodule = build_datamodule(the_task, config)
    module = build_module(config, datamodule, model if isinstance(model, nn.Module) else None)
    name = model.__class__.__name__.lower() if isinstance(model, nn.Module) else config.model.name
    out = Path(out_dir) if out_dir else Path("runs") / f"{config.task.replace('/', '-')}-{name}"
    _write_config(config, out)
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor="val/loss",
        mode="min",
        save_last=True,
        enable_version_counter=False,
    )
    with _quiet(not progress):
        trainer = lightning.Trainer(
            default_root_dir=out,
            callbacks=[checkpoint],
            logger=CSVLogger(out, name="logs", version=""),
            enable_progress_bar=progress,
            enable_model_summary=progress,
            **config.trainer.kwargs(),
        )
        trainer.fit(module, datamodule=datamodule)
    return Path(checkpoint.best_model_path or checkpoint.last_model_path)


def build_datamodule(task: Task, config: TrainConfig) -> DataModule:
    """The datamodule of ``task``'s kind with the config's data options."""
    data = config.data
    options = {
        "batch_size": data.batch_size,
        "num_workers": data.num_workers,
        "seed": config.seed_everything,
        "cache_dir": data.cache_dir,
    }
    kind_options = {"train_leads": data.train_leads, "rollout_steps": config.module.rollout_steps}
    allowed = get_kind(task.kind).datamodule_options
    for name, value in kind_options.items():
        if name in allowed:
            options[name] = value
        elif value:
            raise ConfigError(
                f"a training option that {task.kind} tasks do not take",
                variable="module.rollout_steps" if name == "rollout_steps" else f"data.{name}",
                expected=f"no {name}" + (f" (they take {', '.join(allowed)})" if allowed else ""),
                found=f"{value!r} for {task.id}",
            )
    return datamodule_for(task, **options)


def build_module(
    config: TrainConfig, datamodule: DataModule, network: nn.Module | None = None
) -> ClimbenchModule:
    """A :class:`ClimbenchModule` for the config's network (or ``network``) and data."""
    opts, optim = config.module, config.optimizer
    return ClimbenchModule(
        network if network is not None else config.model.name,
        None if network is not None else network_args(config, datamodule),
        residual=opts.residual,
        variable_weights=dict(opts.variable_weights),
        members=opts.members,
        noise_channels=opts.noise_channels,
        rollout_steps=opts.rollout_steps,
        lr=optim.lr,
        weight_decay=optim.weight_decay,
        warmup_steps=optim.warmup_steps,
        **datamodule.module_args(),
    )


def network_args(config: TrainConfig, datamodule: DataModule) -> dict:
    """The config's ``init_args`` plus what the data fix (input channels with the noise
    channels, output channels: the targets, or every input for a rollout; the grid and
    whether it is global in longitude; whether there is a lead time), for the constructor
    arguments the network has and the config leaves out."""
    model, opts = config.model, config.module
    if model.name not in MODELS:
        raise ConfigError(
            "unknown model in the training config",
            variable="model.name",
            expected="one of " + ", ".join(sorted(MODELS)),
            found=model.name,
        )
    parameters = inspect.signature(MODELS[model.name]).parameters
    in_channels = datamodule.in_channels() + opts.noise_channels
    outputs = datamodule.inputs if opts.rollout_steps else datamodule.task.spec.targets
    sizes = {
        "in_channels": in_channels,
        "in_variables": in_channels,
        "out_channels": len(outputs),
        "img_size": list(datamodule.grid_shape()),
        "lead_time": datamodule.lead_conditioned,
        "periodic_lon": datamodule.periodic_lon(),
    }
    args = dict(model.init_args)
    args.update({k: v for k, v in sizes.items() if k in parameters and k not in args})
    return args


@contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """Silence Lightning's informational messages (devices, tips) when ``enabled``."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    if enabled:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # Lightning 2.6 with torch >= 2.10 warns about its own use of torch's pytree API.
            warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")
            yield
    finally:
        logger.setLevel(level)


@rank_zero_only
def _write_config(config: TrainConfig, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_config(config, out / "config.yaml")
