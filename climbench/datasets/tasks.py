"""Which dataset card serves a task's ``files`` dataset, and what of it the task needs:
``climbench tasks prepare NAME --download`` fetches that selection into the data folder
(``<data root>/datasets/<card>-<dataset id>``) and prepares the task from it."""

from __future__ import annotations

from pathlib import Path

from climbench.datasets.download import download
from climbench.datasets.registry import get
from climbench.errors import TaskError

#: task dataset id (``dataset.id`` of a spec) -> the card that serves it
TASK_CARDS = {
    "era5-5.625": "wb2-era5-5.625",
    "era5-uk-t2m-2019-03": "xarray-era5-uk-t2m",
}


def task_request(task) -> dict:  # noqa: ANN001 (a climbench.tasks.Task)
    """The card, variables, levels and years a task's data need (keyword arguments of
    :func:`climbench.download`)."""
    spec = task.spec
    name = TASK_CARDS.get(spec.dataset.id)
    if name is None:
        raise TaskError(
            "no dataset card serves this task's data",
            variable=task.name,
            expected=f"a task whose dataset is one of {sorted(TASK_CARDS)}",
            found=spec.dataset.id,
            hint=f"download the data yourself and run climbench tasks prepare {task.name} "
            "--source FILE",
        )
    card = get(name)
    if card.method == "http":  # whole files
        return {"card": card}
    fields = {*spec.targets, *spec.inputs}
    variables = sorted({f.variable for f in fields} | set(spec.constants))
    levels = sorted({f.level for f in fields if f.level is not None})
    years = spec.dataset.params.get("years")
    return {"card": card, "variables": variables, "levels": levels, "years": years}


def fetch_for_task(task, *, progress: bool = False, endpoint: str | None = None) -> list[Path]:  # noqa: ANN001
    """Download what ``task`` needs (a complete earlier download is reused); the sources to
    prepare it from."""
    request = task_request(task)
    card = request["card"]
    out = task.data_root / "datasets" / f"{card.name}-{task.spec.dataset.id}"
    folder = download(**request, out=out, endpoint=endpoint, progress=progress)
    if card.method == "zarr":
        return [folder / f"{card.name}.zarr"]
    return [folder / name for name in card.options["files"]]
