"""The default job, ``climbench run``: data -> task -> model -> predictions -> scores.

On the embedded synthetic data (no network), for one task of each kind:

- ``forecast/synthetic-5.625``: the UNet and ClimaX configs shipped in
  ``climbench/baselines/configs`` trained under
  Lightning, beside persistence and climatology;
- ``downscaling/synthetic-x4-europe``: closed-form ridge, beside bilinear and conservative
  interpolation;
- ``emulation/synthetic``: closed-form ridge, beside pattern scaling.

The longer network baselines of those two tasks (configs ``emulation-synthetic/cnn_lstm``,
``downscaling-synthetic/unet``) are trained with ``climbench train --config``.

Each task's data are generated on first use and reused after; each model's predictions go
to ``<data_root>/predictions`` and each task's results (tables, summary, per-sample
statistics) to ``<results>/<task>``. The printed tables are the task's headline metric.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from rich.console import Console

from climbench.baselines import config_path
from climbench.evaluation import evaluate
from climbench.leaderboard.local import local_site
from climbench.tasks import Task, get_task
from climbench.tasks.task import default_data_root

RUN_TASKS = ("forecast/synthetic-5.625", "downscaling/synthetic-x4-europe", "emulation/synthetic")
#: the repository's baseline configs (an editable install keeps them beside the package)
#: the network configs the default run trains (sized for 2 CPU cores); the other configs in
#: ``climbench/baselines/configs`` take longer and are trained with ``climbench train --config``
RUN_CONFIGS = ("forecast-synthetic/unet.yaml", "forecast-synthetic/climax.yaml")
#: the closed-form baselines the default run fits, per task
RUN_CLOSED_FORM = {
    "downscaling/synthetic-x4-europe": ("ridge",),
    "emulation/synthetic": ("ridge",),
}


def baseline_configs(task_name: str) -> list[Path]:
    """The configs of :data:`RUN_CONFIGS` (shipped with the package) whose ``task`` is
    ``task_name``."""
    found = []
    for name in RUN_CONFIGS:
        path = config_path(name)
        data = yaml.safe_load(path.read_text()) if path.is_file() else None
        if isinstance(data, dict) and data.get("task") == task_name:
            found.append(path)
    return found


def _run_task(task: Task, results_dir: Path, console: Console) -> tuple:
    from climbench.baselines import fit as fit_closed_form
    from climbench.training import predict, train
    from climbench.training.config import load_config

    console.rule(f"[bold]{task.id}")
    start = time.perf_counter()
    task.prepare_data(progress=True)
    console.print(f"data ready in {time.perf_counter() - start:.0f} s: {task.data_dir}")
    slug = task.name.replace("/", "-")
    predictions = {}
    for model in RUN_CLOSED_FORM.get(task.name, ()):
        start = time.perf_counter()
        predictions[model], info = fit_closed_form(task, model)
        console.print(
            f"{model} fitted in closed form in {time.perf_counter() - start:.0f} s ({info})"
        )
    for config in baseline_configs(task.name):
        name = load_config(config).model.name
        start = time.perf_counter()
        run_dir = task.data_root / "runs" / f"{slug}-{config.stem}"
        checkpoint = train(config, out_dir=run_dir, data_root=task.data_root, progress=True)
        out = task.data_root / "predictions" / f"{slug}-{config.stem}.zarr"
        predictions[name] = predict(task, checkpoint, out=out, overwrite=True, model_name=name)
        console.print(
            f"{config.stem}: trained and predicted in "
            f"{time.perf_counter() - start:.0f} s ({checkpoint})"
        )
    start = time.perf_counter()
    results = evaluate(predictions, task)
    results.write(results_dir / slug, overwrite=True)
    results.print(console)
    console.print(f"scored in {time.perf_counter() - start:.0f} s; results in {results_dir / slug}")
    return task, results, predictions


def default_run(
    data_root: str | Path | None = None,
    results_dir: str | Path | None = None,
    tasks: tuple[str, ...] = RUN_TASKS,
    console: Console | None = None,
) -> Path:
    """Run the default job; returns the results folder."""
    console = console or Console()
    data_root = Path(data_root) if data_root is not None else default_data_root()
    results = Path(results_dir) if results_dir is not None else data_root / "results"
    start = time.perf_counter()
    runs = [_run_task(get_task(name, data_root), results, console) for name in tasks]
    index = local_site(runs, results / "site")  # the run's models beside the committed entries
    console.print(f"leaderboard: {index.resolve()}")
    console.print(
        f"[bold]climbench run[/] finished in {time.perf_counter() - start:.0f} s; "
        f"results in {results}"
    )
    return results
