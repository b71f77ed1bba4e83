"""The baseline registry: every baseline by name, with the task kinds it serves.

A baseline is one module of :mod:`climbench.baselines` with a function per task kind it
serves, ``f(task) -> (predictions, info)``: the task's test predictions in its predictions
layout, fitted in closed form on the training split (or built from the task's own data,
for persistence, climatology and interpolation), and a dict describing the fit. It is
registered here with one :func:`register_baseline` line. Network baselines are trained
from the configs in ``climbench/baselines/configs`` (:func:`config_path`).

Reference baselines, the ones a task lists under ``baselines:``, are scored beside every
model: :func:`reference_predictions` writes them once as a predictions store beside the
task data (keyed by the protocol, the data and the climbench version) and the scorer reads
them like any model's file, so scoring never fits or regrids.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import xarray as xr

from climbench.errors import ConfigError, TaskError
from climbench.io import OUTPUT_MARKER
from climbench.registry import Registry
from climbench.version import __version__, json_sha256

#: folder of the baseline configs shipped with the package
CONFIGS = resources.files("climbench.baselines") / "configs"


@dataclass(frozen=True)
class Baseline:
    """A registered baseline.

    Attributes:
        name: its name (the ``model`` of its predictions).
        fitters: task kind -> ``"module:function"`` building its predictions of a task.
        description: one line for ``climbench baselines`` and the docs.
        extra: the install extra its code needs (``"torch"``), or None for the core.
    """

    name: str
    fitters: Mapping[str, str]
    description: str
    extra: str | None = None

    def serves(self, kind: str) -> bool:
        return kind in self.fitters

    def fit(self, task) -> tuple[xr.Dataset, dict]:
        """Fit (or build) this baseline on ``task``: its test predictions and fit info."""
        if not self.serves(task.kind):
            raise TaskError(
                f"the {self.name} baseline does not serve {task.kind} tasks",
                variable=self.name,
                expected="a task of kind " + ", ".join(sorted(self.fitters)),
                found=task.id,
            )
        module, function = self.fitters[task.kind].split(":")
        try:
            fitter = getattr(importlib.import_module(module), function)
        except ImportError as err:
            raise ConfigError(
                f"the {self.name} baseline needs the `{self.extra}` extra",
                variable=self.name,
                expected=f"{err.name} installed",
                found="it is missing",
                hint=f"pip install 'climbench[{self.extra}]'",
            ) from err
        predictions, info = fitter(task)
        return predictions.assign_attrs(model=self.name), info


BASELINES: Registry[Baseline] = Registry("baseline")


def register_baseline(baseline: Baseline) -> Baseline:
    """Add a baseline to the registry."""
    return BASELINES.register(baseline)


def get_baseline(name: str) -> Baseline:
    """The registered baseline ``name``; the error lists the known ones."""
    return BASELINES.get_named(name)


def fit(task, name: str) -> tuple[xr.Dataset, dict]:
    """The predictions of baseline ``name`` on ``task`` (not cached) and its fit info."""
    return get_baseline(name).fit(task)


def reference_predictions(task, name: str) -> Path:
    """The predictions store of reference baseline ``name`` of ``task``, written beside the
    task data on first use (atomically) and reused after."""
    from climbench.tasks.predictions import write_predictions

    if name not in task.spec.baselines:
        raise TaskError(
            "not a reference baseline of this task",
            variable=name,
            expected="one of " + ", ".join(task.spec.baselines),
            found=name,
        )
    path = _reference_folder(task) / f"{name}.zarr"
    if not (path / OUTPUT_MARKER).is_file():
        predictions, _ = fit(task, name)
        write_predictions(predictions, path, overwrite=path.exists())
    return path


def _reference_folder(task) -> Path:
    """``<task data>/references/<task>@<version>-<key>``: the key changes with the protocol,
    the task data (their output markers) and the climbench version."""
    stamps = {
        store.name: (store / OUTPUT_MARKER).read_text()
        for store in sorted(task.data_dir.glob("*.zarr"))
        if (store / OUTPUT_MARKER).is_file()
    }
    digest = json_sha256([task.spec.digest(), stamps, __version__])[:12]
    return task.data_dir / "references" / f"{task.name.replace('/', '-')}@{task.version}-{digest}"


def config_path(config: str | os.PathLike) -> Path:
    """A config file: ``config`` itself when it exists, else a config shipped with the
    package (``forecast-synthetic/unet`` or ``forecast-synthetic/unet.yaml``)."""
    path = Path(config)
    if path.is_file():
        return path
    name = str(config) if str(config).endswith(".yaml") else f"{config}.yaml"
    packaged = CONFIGS.joinpath(*Path(name).parts)
    if packaged.is_file():
        return Path(str(packaged))
    shipped = sorted(
        f"{d.name}/{f.name.removesuffix('.yaml')}"
        for d in CONFIGS.iterdir()
        if d.is_dir()
        for f in d.iterdir()
        if f.name.endswith(".yaml")
    )
    raise ConfigError(
        "config not found",
        path=config,
        expected="a YAML file, or a config shipped with climbench: " + ", ".join(shipped),
        found="no such file",
    )


register_baseline(
    Baseline(
        "persistence",
        {
            "forecast": "climbench.baselines.persistence:persistence",
            "station": "climbench.baselines.station_reference:persistence",
        },
        "the state at the init time, for every lead",
    )
)
register_baseline(
    Baseline(
        "climatology",
        {
            "forecast": "climbench.baselines.climatology:climatology",
            "station": "climbench.baselines.station_reference:climatology",
        },
        "the training-split climatology at the valid time",
    )
)
register_baseline(
    Baseline(
        "bilinear",
        {"downscaling": "climbench.baselines.interpolation:bilinear"},
        "the coarse input interpolated bilinearly to the fine grid",
    )
)
register_baseline(
    Baseline(
        "conservative",
        {"downscaling": "climbench.baselines.interpolation:conservative"},
        "the coarse input regridded conservatively to the fine grid",
    )
)
register_baseline(
    Baseline(
        "pattern_scaling",
        {"emulation": "climbench.baselines.pattern_scaling:pattern_scaling"},
        "local climate linear in global-mean temperature (Mitchell 2003)",
    )
)
register_baseline(
    Baseline(
        "ridge",
        {
            "forecast": "climbench.baselines.ridge_forecast:ridge_forecast",
            "downscaling": "climbench.baselines.ridge:ridge_downscaling",
            "emulation": "climbench.baselines.ridge:ridge_emulation",
            "station": "climbench.baselines.station_ridge:station_ridge",
        },
        "ridge regression in closed form (3 x 3 stencil, patches, or forcing windows)",
        extra="torch",
    )
)
