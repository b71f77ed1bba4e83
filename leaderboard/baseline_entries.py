"""Submit the reference baselines of the synthetic tasks as leaderboard entries.

The committed entries under ``leaderboard/entries`` were made by this script, from real
predictions scored by ``climbench leaderboard submit`` (run from the repository root)::

    export CLIMBENCH_DATA=data
    climbench run                                      # trains unet and climax
    climbench train --config forecast-synthetic/unet_ensemble --predictions fc-ens.zarr \
        --out runs/forecast-synthetic-5.625-unet_ensemble
    climbench train --config downscaling-synthetic/unet --predictions ds-unet.zarr
    climbench train --config emulation-synthetic/cnn_lstm --predictions em-cnn.zarr
    P=data/predictions/forecast-synthetic-5.625
    python leaderboard/baseline_entries.py --scratch /tmp/entries --runs data/runs \
        --runs runs \
        --predictions forecast/synthetic-5.625=unet=$P-unet.zarr \
        --predictions forecast/synthetic-5.625=climax=$P-climax.zarr \
        --predictions forecast/synthetic-5.625=unet_ensemble=fc-ens.zarr \
        --predictions downscaling/synthetic-x4-europe=unet=ds-unet.zarr \
        --predictions emulation/synthetic=cnn_lstm=em-cnn.zarr

Per task it submits the task's reference baselines (their cached predictions), the
closed-form ridge regression (fitted here), the networks named with ``--predictions
TASK=NAME=PATH`` (their parameter count from the run folder ``<task>-<NAME>`` under one of
the ``--runs`` folders, their ensemble size from the predictions) and, for
emulation/synthetic, the noise floor: the generator's forced response
(``baselines/emulation-synthetic/noise_floor.py``) as a ``noise-floor`` entry.
A model that already has an entry is skipped, so the script can be rerun.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import torch
import xarray as xr

from climbench.baselines import fit, reference_predictions
from climbench.errors import ConfigError
from climbench.leaderboard import submit
from climbench.tasks import get_task
from climbench.version import __version__

TASKS = ("forecast/synthetic-5.625", "downscaling/synthetic-x4-europe", "emulation/synthetic")
REPO = Path(__file__).resolve().parent.parent
DESCRIPTIONS = {
    "persistence": "The last input state at every lead time.",
    "climatology": "The training-period climatology (day of year and hour) at the valid time.",
    "bilinear": "Bilinear interpolation of the coarse field to the fine grid.",
    "conservative": "First-order conservative remapping of the coarse field to the fine grid.",
    "pattern_scaling": "Closed-form pattern scaling: each cell regressed on global forcings.",
    "ridge": "Closed-form ridge regression; the penalty chosen on the validation split.",
    "unet": "UNet with periodic longitude padding and FiLM lead-time conditioning "
    "(climbench/baselines/configs/forecast-synthetic/unet.yaml), 2 epochs on CPU.",
    "unet_ensemble": "Probabilistic UNet: 4 members from noise inputs, trained on the fair "
    "CRPS (climbench/baselines/configs/forecast-synthetic/unet_ensemble.yaml), on CPU.",
    "climax": "ClimaX-style transformer (forecast-synthetic/climax.yaml), trained on CPU.",
    "downscaling/synthetic-x4-europe:unet": "UNet on the interpolated coarse fields "
    "(climbench/baselines/configs/downscaling-synthetic/unet.yaml), trained on CPU.",
    "cnn_lstm": "ClimateBench's CNN-LSTM (climbench/baselines/configs/emulation-synthetic/"
    "cnn_lstm.yaml), trained on CPU.",
    "forced_response": "The synthetic generator's forced response without internal "
    "variability: the best any emulator of the forcings can be expected to score.",
}


def card(
    task,
    name: str,
    kind: str = "baseline",
    parameters: int | None = None,
    ensemble_size: int | None = None,
) -> dict:
    """The card of a climbench baseline on ``task``."""
    spec = task.spec
    learned = name not in ("persistence", "bilinear", "conservative", "forced_response")
    splits = (
        ["train", "validation"] if name not in ("climatology", "pattern_scaling") else ["train"]
    )
    data = {
        "name": name,
        "revision": __version__,
        "type": kind,
        "description": DESCRIPTIONS.get(f"{spec.name}:{name}", DESCRIPTIONS.get(name, "")),
        "training_data": f"{spec.dataset.id} ({spec.dataset.description})"[:500],
        "licence": "MIT",
        "citation": f"climbench {__version__}, reference baselines",
        "contact": "climbench maintainers (repository issues)",
    }
    if parameters is not None:
        data["parameters"] = parameters
    if ensemble_size is not None:
        data["ensemble_size"] = ensemble_size
    if spec.emulation is not None:
        e = spec.emulation
        scenarios = list(e.train_scenarios) + (
            list(e.validation_scenarios) if "validation" in splits else []
        )
        data["training_scenarios"] = scenarios if learned else []
    else:
        data["training_periods"] = (
            [[spec.splits[s].start, spec.splits[s].end] for s in splits] if learned else []
        )
    return data


def _parameters(runs: list[Path], name: str) -> int | None:
    """The network's parameter count from its best checkpoint, if a run folder has one."""
    best = next((d / name / "checkpoints" / "best.ckpt" for d in runs
                 if (d / name / "checkpoints" / "best.ckpt").is_file()), None)  # fmt: skip
    if best is None:
        return None
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    return int(sum(v.numel() for k, v in state.items() if k.startswith("network.")))


def _forced_response(task):
    path = REPO / "baselines" / "emulation-synthetic" / "noise_floor.py"
    spec = importlib.util.spec_from_file_location("noise_floor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ds = module.forced_response(task)
    return ds.drop_vars([c for c in ds.coords if c not in ds.dims])


def _submit(path, task, model: dict, root: Path) -> None:
    try:
        print(submit(path, task, model, root=root))
    except ConfigError as err:
        if "already" not in err.message:
            raise
        print(f"skipped {model['name']} on {task.id}: {err.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--root", default=str(REPO / "leaderboard"))
    parser.add_argument("--scratch", required=True, help="Folder for fitted predictions.")
    parser.add_argument("--predictions", action="append", default=[], metavar="TASK=NAME=PATH")
    parser.add_argument("--task", action="append", default=[], help="Only these tasks.")
    parser.add_argument("--runs", action="append", default=[], help="Run folders' parent.")
    args = parser.parse_args()
    scratch, root = Path(args.scratch), Path(args.root)
    scratch.mkdir(parents=True, exist_ok=True)
    networks = [item.split("=", 2) for item in args.predictions]
    for name in args.task or TASKS:
        task = get_task(name, args.data_root)
        task.prepare_data()
        slug = name.replace("/", "-")
        for baseline in task.spec.baselines:
            _submit(reference_predictions(task, baseline), task, card(task, baseline), root)
        ridge = scratch / f"{slug}-ridge.zarr"
        if not ridge.exists():
            fit(task, "ridge")[0].to_zarr(ridge, mode="w")
        _submit(ridge, task, card(task, "ridge"), root)
        for task_name, model, path in networks:
            if task_name == name:
                members = xr.open_zarr(path).sizes.get("member")
                parameters = _parameters([Path(d) for d in args.runs], f"{slug}-{model}")
                _submit(path, task, card(task, model, "baseline", parameters, members), root)
        if name == "emulation/synthetic":
            floor = scratch / f"{slug}-forced-response.zarr"
            if not floor.exists():
                _forced_response(task).to_zarr(floor, mode="w")
            _submit(floor, task, card(task, "forced_response", kind="noise-floor"), root)


if __name__ == "__main__":
    main()
