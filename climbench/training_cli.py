"""``climbench train`` and ``climbench predict``.

Networks (``unet``, ``climax``, ``cnn_lstm``) train under Lightning from a YAML config (a
file, or one shipped in ``climbench/baselines/configs`` such as ``forecast-synthetic/unet``)
or from ``--task`` and ``--model`` with default sizes; they need the ``torch`` extra. The
baselines of :mod:`climbench.baselines` (``ridge``, ``pattern_scaling``, ...) fit exactly and
write their test predictions at once, as there is nothing to checkpoint but the solution.
This module imports neither torch nor Lightning until a network is trained.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from climbench.baselines import BASELINES
from climbench.errors import ConfigError

console = Console()


def fit_closed_form(task, model: str):
    """Fit a closed-form baseline on ``task`` (:mod:`climbench.baselines`); returns
    (predictions, info)."""
    from climbench.baselines import fit

    return fit(task, model)


def train_command(
    config: Path = typer.Option(
        None,
        "--config",
        help="YAML config: a file, or one shipped with climbench (forecast-synthetic/unet).",
    ),
    task: str = typer.Option(None, "--task", help="Task name (overrides the config's)."),
    model: str = typer.Option(
        None,
        "--model",
        help="A network (unet, climax, cnn_lstm; overrides the config's) or a baseline "
        "fitted in closed form (ridge, pattern_scaling, persistence, climatology, bilinear, "
        "conservative).",
    ),
    max_epochs: int = typer.Option(None, "--max-epochs", help="Override trainer.max_epochs."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/<task>-<model>)."),
    predictions: Path = typer.Option(
        None,
        "--predictions",
        help="Also write the test predictions here (closed-form models always do).",
    ),
    data_root: Path = typer.Option(None, "--data-root", help="Task data folder."),
    overwrite: bool = typer.Option(
        False, help="Replace earlier predictions at --predictions (never anything else)."
    ),
    overrides: list[str] = typer.Option(
        None,
        "--set",
        help="Replace a config key, e.g. --set trainer.precision=bf16-mixed "
        "--set trainer.accelerator=gpu (repeatable; values read as YAML).",
    ),
) -> None:
    """Train a baseline on a task; print the checkpoint (or the predictions file)."""
    from climbench.tasks import get_task

    if config is None and (task is None or model is None):
        raise ConfigError(
            "nothing to train", expected="--config FILE, or --task and --model", found="neither"
        )
    if model in BASELINES:
        from climbench.io import check_output_path
        from climbench.tasks.predictions import write_predictions

        the_task = get_task(task, data_root)
        target = predictions or Path("runs") / f"{the_task.name.replace('/', '-')}-{model}" / (
            "predictions.zarr"
        )
        check_output_path(target, "predictions", overwrite=overwrite, inputs=[the_task.data_dir])
        the_task.prepare_data(progress=True)
        ds, info = fit_closed_form(the_task, model)

        write_predictions(ds, target, overwrite=overwrite, inputs=[the_task.data_dir])
        console.print(f"{model} fitted in closed form {info or ''}; predictions: {target}")
        return
    predict, train = _training_api()
    from climbench.training.config import parse_overrides

    source = config if config is not None else {"task": task, "model": {"name": model}}
    if predictions is not None:  # before training, not after it
        from climbench.io import check_output_path

        the_task = get_task(task or _config_task(config), data_root)
        check_output_path(
            predictions, "predictions", overwrite=overwrite, inputs=[the_task.data_dir]
        )
    checkpoint = train(
        source,
        task=task,
        model=model,
        max_epochs=max_epochs,
        out_dir=out,
        data_root=data_root,
        overrides=parse_overrides(overrides or []),
    )
    console.print(f"checkpoint: {checkpoint}")
    if predictions is not None:
        # named after the config (unet_ensemble.yaml -> unet_ensemble) or the model
        name = model or (config.stem if config is not None else None)
        predict(
            the_task,
            checkpoint,
            out=predictions,
            overwrite=overwrite,
            model_name=name,
        )
        console.print(f"predictions: {predictions}")


def _training_api():
    """``climbench.training``'s ``predict`` and ``train``, or a clear error without the
    ``torch`` extra."""
    try:
        from climbench.training import predict, train
    except ImportError as err:
        raise ConfigError(
            "training needs the `torch` extra",
            expected=f"{err.name} installed",
            found="it is missing",
            hint="pip install 'climbench[torch]'",
        ) from err
    return predict, train


def _config_task(config: Path) -> str:
    from climbench.training.config import load_config

    return load_config(config).task


def predict_command(
    task: str = typer.Option(..., "--task", help="Task name."),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="Checkpoint from train."),
    out: Path = typer.Option(..., "--out", help="Predictions Zarr to write."),
    batch_size: int = typer.Option(16, help="Inits (or times) per batch."),
    overwrite: bool = typer.Option(False, help="Replace an existing --out."),
    data_root: Path = typer.Option(None, "--data-root", help="Task data folder."),
) -> None:
    """Write a checkpoint's predictions for the task's test split (task layout, Zarr)."""
    predict, _ = _training_api()
    predict(
        task, checkpoint, out=out, batch_size=batch_size, data_root=data_root, overwrite=overwrite
    )
    console.print(f"predictions: {out}")
