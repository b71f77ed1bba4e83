"""``climbench predict``: a checkpoint to the task's predictions file.

:func:`load_module` rebuilds a :class:`~climbench.training.module.ClimbenchModule` from a
checkpoint with ``torch.load(..., weights_only=True)`` (no pickled code runs: DESIGN.md,
"nothing is unpickled from a user file"). :func:`predict` predicts the task's test split
from its inputs only, in physical units: every test init at every lead for a forecast, every
test time on the fine grid for downscaling, every test (scenario, year) for emulation, in
the layout of the task's kind (:meth:`climbench.tasks.kinds.TaskKind.predictions_dataset`).
It writes the predictions Zarr atomically (:func:`climbench.io.atomic_directory`) with the
attributes ``task``,
``task_version``, ``task_digest`` and ``model``; an ensemble has a ``member`` dim.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn

from climbench.errors import ConfigError, DataFileError, TaskError
from climbench.evaluation.validate import check_model_name
from climbench.io import check_output_path
from climbench.tasks import Task, get_task
from climbench.tasks.kinds import get_kind
from climbench.tasks.predictions import write_predictions
from climbench.training.module import ClimbenchModule
from climbench.training.task_datamodule import datamodule_for


def load_module(
    checkpoint: str | os.PathLike,
    network: nn.Module | None = None,
    map_location: str | torch.device = "cpu",
) -> ClimbenchModule:
    """The module saved in ``checkpoint``, in eval mode, loaded with ``weights_only=True``.

    ``network``: the network object, for a module trained around one rather than a name.
    """
    path = Path(checkpoint)
    _check_checkpoint(path)
    kwargs = {} if network is None else {"network": network}
    try:
        module = ClimbenchModule.load_from_checkpoint(
            path, map_location=map_location, weights_only=True, **kwargs
        )
    except TypeError as exc:
        if network is None and "network" in str(exc):
            raise ConfigError(
                "this checkpoint wraps a network object, not a named model",
                path=path,
                expected="the network passed again",
                found="no network",
                hint="call load_module(checkpoint, network=YourNetwork(...))",
            ) from exc
        raise
    return module.eval()


#: keys every checkpoint of :func:`~climbench.training.train.train` holds (Lightning's)
CHECKPOINT_KEYS = ("state_dict", "hyper_parameters", "pytorch-lightning_version")


def _check_checkpoint(path: Path) -> None:
    """Refuse a file that is not a climbench Lightning checkpoint, before Lightning reads it.

    The file is read with ``weights_only=True`` (tensors and plain data only), so a
    pickled payload is refused, never run; the message never suggests loading it unsafely.
    """
    if not path.is_file():
        raise DataFileError(
            "checkpoint not found",
            path=path,
            expected="a .ckpt file",
            found="a folder" if path.is_dir() else "nothing",
        )
    if path.stat().st_size == 0:
        raise DataFileError(
            "checkpoint is empty",
            path=path,
            expected="a Lightning checkpoint",
            found="0 bytes",
            hint="the run that wrote it was interrupted: train again",
        )
    with open(path, "rb") as f:
        head = f.read(2)
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True, mmap=head == b"PK")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        # PyTorch's zip format, or a pickle stream (protocol 2-5), holding other objects
        pickle_stream = len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5
        objects = isinstance(err, pickle.UnpicklingError) and (head == b"PK" or pickle_stream)
        raise DataFileError(
            "not a checkpoint climbench can load safely",
            path=path,
            expected="a Lightning checkpoint of tensors and plain data (climbench train)",
            found="pickled objects other than tensors and plain data"
            if objects
            else f"no readable PyTorch checkpoint ({type(err).__name__})",
            hint="use a checkpoint written by `climbench train`; climbench never unpickles "
            "code from a file",
        ) from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise DataFileError(
            "not a Lightning checkpoint of a climbench model",
            path=path,
            expected="the keys " + ", ".join(CHECKPOINT_KEYS),
            found=f"a {type(data).__name__} without {', '.join(missing)}",
            hint="use a checkpoint written by `climbench train`",
        )


def predict(
    task: Task | str,
    checkpoint: str | os.PathLike,
    out: str | os.PathLike | None = None,
    batch_size: int = 16,
    *,
    model_name: str | None = None,
    network: nn.Module | None = None,
    data_root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    seed: int = 0,
) -> xr.Dataset:
    """Forecast the test inits of ``task`` with ``checkpoint``; write them to ``out``.

    Args:
        task: the task (or its name, data under ``data_root``).
        checkpoint: a checkpoint written by :func:`~climbench.training.train.train`.
        out: the predictions Zarr to write (atomically); None: return only.
        batch_size: inits per batch (each init is forecast at every lead).
        model_name: the ``model`` attribute (default: the network's name).
        network: the network object, for a module trained around one.
        data_root, cache_dir: the task data root and the tensor cache folder.
        overwrite: replace an existing ``out``.
        seed: seed of the ensemble noise (the same seed gives the same members).

    Returns the predictions (in memory) in physical units.
    """
    if out is not None:
        check_output_path(out, "predictions", overwrite=overwrite, inputs=[checkpoint])
    task = get_task(task, data_root) if isinstance(task, str) else task
    module = load_module(checkpoint, network)
    _check_fields(module, task, checkpoint)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    module.to(device)
    datamodule = datamodule_for(task, batch_size=batch_size, cache_dir=cache_dir)
    datamodule.prepare_data()
    datamodule.setup("predict")
    torch.manual_seed(seed)
    chunks = []
    with torch.inference_mode():
        for batch in datamodule.predict_dataloader():
            batch = {k: v.to(device) for k, v in batch.items()}
            chunks.append(module.predict_step(batch).float().cpu().numpy())
    pred = np.concatenate(chunks)  # (sample, [lead], [member], channel, lat, lon)
    arrays = {name: pred[..., k, :, :] for k, name in enumerate(module.target_names)}
    members = module.members if module.members > 1 else 0
    ds = get_kind(task.kind).predictions_dataset(task, arrays, datamodule, members)
    ds.attrs["model"] = check_model_name(
        model_name or str(module.hparams.get("network") or "custom"), str(checkpoint)
    )
    if out is not None:
        write_predictions(ds, out, overwrite, inputs=[checkpoint, task.data_dir])
    return ds


def _check_fields(module: ClimbenchModule, task: Task, checkpoint: str | os.PathLike) -> None:
    """The checkpoint must have been trained on the task's inputs and targets."""
    spec = task.spec
    wanted = ([f.name for f in spec.inputs], [f.name for f in spec.targets])
    found = (module.input_names, module.target_names)
    if wanted != found:
        raise TaskError(
            "the checkpoint was trained for other fields",
            path=checkpoint,
            variable=task.name,
            expected=f"inputs {wanted[0]}, targets {wanted[1]}",
            found=f"inputs {found[0]}, targets {found[1]}",
        )
