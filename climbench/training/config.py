"""Training configs: one YAML file per baseline x task, in LightningCLI style.

A config names the task, the network and how to train it::

    seed_everything: 0
    task: forecast/synthetic-5.625
    model:                      # the network: a name of climbench.models.MODELS
      name: unet
      init_args: {base_channels: 16, depth: 2}   # sizes taken from the data are filled in
    module:                     # ClimbenchModule options: loss and forecasting mode
      residual: true
      variable_weights: {geopotential_500: 2.0}
      members: 1                # > 1: CRPS-trained ensemble with noise inputs
      noise_channels: 0
      rollout_steps: 0          # 0: direct forecasts conditioned on the lead time
    optimizer: {lr: 1.0e-3, weight_decay: 0.01, warmup_steps: 0}
    data: {batch_size: 32, num_workers: 0, train_leads: [6, 12, 24]}
    trainer: {max_epochs: 3, accelerator: auto, devices: 1, strategy: auto, precision: 32}

Every section is a frozen dataclass; an unknown key or a value of the wrong type is a
:class:`~climbench.errors.ConfigError` naming the file and the key. ``trainer`` values are
passed to :class:`lightning.Trainer` as they are, so multi-GPU and multi-node runs, FSDP
and bf16 are ``strategy: fsdp``, ``devices: 4``, ``num_nodes: 2``, ``precision: bf16-mixed``.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from climbench.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    """The network: ``name`` in :data:`climbench.models.MODELS` and its constructor args.

    Arguments that depend on the data (``in_channels``, ``out_channels``, ``img_size``,
    ``in_variables``) are filled in from the task when absent.
    """

    name: str = "unet"
    init_args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleConfig:
    """Loss and forecasting options of :class:`~climbench.training.module.ClimbenchModule`."""

    residual: bool = True
    variable_weights: dict[str, float] = field(default_factory=dict)
    members: int = 1
    noise_channels: int = 0
    rollout_steps: int = 0


@dataclass(frozen=True)
class OptimizerConfig:
    """AdamW with a linear warm-up and a cosine decay to zero over the whole run."""

    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 0


@dataclass(frozen=True)
class DataConfig:
    """Loader options of the task's datamodule; ``train_leads`` in hours (default: all)."""

    batch_size: int = 32
    num_workers: int = 0
    train_leads: tuple[int, ...] | None = None
    cache_dir: str | None = None


@dataclass(frozen=True)
class TrainerConfig:
    """Arguments of :class:`lightning.Trainer` (passed through unchanged)."""

    max_epochs: int | None = 1
    max_steps: int = -1
    accelerator: str = "auto"
    devices: int | str | list[int] = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: int | str = "32-true"
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    val_check_interval: int | float | None = None
    check_val_every_n_epoch: int | None = 1
    log_every_n_steps: int | None = 10
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    deterministic: bool | str = "warn"

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``lightning.Trainer`` (unset optional ones left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run (see the module docstring)."""

    task: str
    model: ModelConfig = field(default_factory=ModelConfig)
    module: ModuleConfig = field(default_factory=ModuleConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed_everything: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, not tuples) for writing back as YAML."""
        return _plain(dataclasses.asdict(self))


_SECTIONS = {
    "model": ModelConfig,
    "module": ModuleConfig,
    "optimizer": OptimizerConfig,
    "data": DataConfig,
    "trainer": TrainerConfig,
}


def load_config(source: str | os.PathLike | dict) -> TrainConfig:
    """Read a :class:`TrainConfig` from a YAML file or a mapping; errors name file and key."""
    if isinstance(source, dict):
        where, data = "<config>", source
    else:
        from climbench.baselines import config_path

        path = config_path(source)  # a file, or a config shipped with climbench
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(
                "cannot parse the training config", path=where, expected="YAML", found=str(exc)
            ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            "bad training config",
            path=where,
            expected="a mapping with task, model, data, trainer, ...",
            found=type(data).__name__,
        )
    return _build(TrainConfig, data, where, "")


def with_overrides(config: TrainConfig, **changes: Any) -> TrainConfig:
    """``config`` with dotted keys replaced: ``with_overrides(c, **{"trainer.max_epochs": 2})``."""
    data = config.to_dict()
    for key, value in changes.items():
        node = data
        *parents, last = key.split(".")
        for depth, part in enumerate(parents):
            if not isinstance(node.get(part), dict):
                raise ConfigError(
                    "override of a key the training config does not have",
                    variable=key,
                    expected="a dotted key such as trainer.precision or model.init_args.depth",
                    found=f"no section {'.'.join(parents[: depth + 1])}",
                )
            node = node[part]
        node[last] = value
    return _build(TrainConfig, data, "<overrides>", "")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["trainer.precision=bf16-mixed", "data.batch_size=64"]`` as a mapping for
    :func:`with_overrides`; each value is read as YAML (numbers, lists, booleans)."""
    changes = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                "bad config override", expected="KEY=VALUE, e.g. trainer.devices=2", found=item
            )
        changes[key.strip()] = yaml.safe_load(value)
    return changes


def write_config(config: TrainConfig, path: str | os.PathLike) -> None:
    """Write ``config`` as YAML (what a run used, kept beside its checkpoints)."""
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def _build(cls: type, data: dict, where: str, prefix: str) -> Any:
    """Construct dataclass ``cls`` from ``data``, checking keys and value types."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            "unknown key in the training config",
            path=where,
            variable=prefix + unknown[0],
            expected="one of " + ", ".join(prefix + n for n in names),
            found=", ".join(prefix + u for u in unknown),
        )
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in required if n not in data]
    if missing:
        raise ConfigError(
            "missing key in the training config",
            path=where,
            variable=prefix + missing[0],
            expected=f"a value for {prefix + missing[0]}",
            found="no such key",
        )
    values = {}
    for name, value in data.items():
        key = prefix + name
        if name in _SECTIONS and cls is TrainConfig:
            if not isinstance(value, dict):
                raise ConfigError(
                    "bad section in the training config",
                    path=where,
                    variable=key,
                    expected="a mapping",
                    found=repr(value),
                )
            values[name] = _build(_SECTIONS[name], value, where, key + ".")
        else:
            values[name] = _check(value, hints[name], where, key)
    return cls(**values)


def _check(value: Any, hint: Any, where: str, key: str) -> Any:
    """``value`` converted to ``hint`` (lists to tuples, ints to floats) or ConfigError."""
    ok, converted = _convert(value, hint)
    if not ok:
        raise ConfigError(
            "bad value in the training config",
            path=where,
            variable=key,
            expected=_describe(hint),
            found=repr(value),
        )
    return converted


def _convert(value: Any, hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return True, value
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            ok, converted = _convert(value, arg)
            if ok:
                return True, converted
        return False, None
    if hint is type(None):
        return value is None, None
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number, float(value) if number else None
    if hint is str:
        return isinstance(value, str), value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            return False, None
        items = [_convert(v, args[0]) for v in value]
        if not all(ok for ok, _ in items):
            return False, None
        converted = [v for _, v in items]
        return True, tuple(converted) if origin is tuple else converted
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return False, None
        items = {k: _convert(v, args[1]) for k, v in value.items()}
        if not all(ok for ok, _ in items.values()):
            return False, None
        return True, {k: v for k, (_, v) in items.items()}
    return False, None


def _describe(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("NoneType", "null")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
