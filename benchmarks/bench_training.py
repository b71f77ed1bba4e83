"""Training throughput of the baselines under the Lightning loop, and whether the loader keeps up.

Run from the repository root (see ``benchmarks/README.md``, section "training")::

    python benchmarks/bench_training.py                         # CPU, the baseline sizes
    python benchmarks/bench_training.py --accelerator gpu \\
        --precision 32-true bf16-mixed --size baseline gpu      # on a GPU machine

What it does, on ``forecast/synthetic-5.625`` (prepared under ``--data-root`` when missing):

1. For each model (``unet``, ``climax``) and size: the shipped config
   ``forecast-synthetic/<model>`` (``baseline``: the sizes ``climbench run`` trains on CPU)
   or a larger one (``gpu``: UNet 64 base channels, depth 3; ClimaX 256-wide, 6 blocks,
   8 heads, patch 2), batches of ``--batch-size`` (default 16 for ``baseline``, 128 for ``gpu``).
2. **Loader alone**: batches of the training set straight from the datamodule's loader, moved
   to the device (pinned, non-blocking) and synchronised: samples/s, and the first batch's
   latency from ``iter(loader)``.
3. **Training**: :class:`lightning.Trainer` ``fit`` of the real
   :class:`~climbench.training.module.ClimbenchModule` for ``--steps`` optimiser steps (no
   validation, no checkpoints) at each ``--precision``, twice: fed by the datamodule's
   loader, and fed one batch already on the device over and over ("resident"), which is
   training with a free loader. The first ``--warmup`` steps are not timed. Reported:
   samples/s of both (for each of ``--num-workers``), the GPU's mean utilisation (NVML,
   sampled every 20 ms over the run with the loader) and peak memory.

Loader-fed samples/s close to the resident figure means the loader is not the bottleneck.
Results go to ``--out`` (JSON) and a table is printed last.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import threading
import time
from pathlib import Path

import lightning
import torch
from lightning.pytorch.callbacks import Callback

from climbench.baselines import config_path
from climbench.tasks import get_task
from climbench.training.config import load_config, with_overrides
from climbench.training.train import build_datamodule, build_module

TASK = "forecast/synthetic-5.625"
CONFIGS = config_path("forecast-synthetic/unet").parent  # shipped with climbench
GPU_SIZES = {
    "unet": {"base_channels": 64, "depth": 3},
    "climax": {"patch_size": 2, "embed_dim": 256, "depth": 6, "num_heads": 8, "mlp_ratio": 4.0},
}


class StepTimer(Callback):
    """Wall time of the steps after the first ``warmup`` ones."""

    def __init__(self, warmup: int, sync: bool) -> None:
        self.warmup, self.sync = warmup, sync
        self.step = 0
        self.start: float | None = None
        self.end: float | None = None
        self.timed = 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self.step == self.warmup:
            self._synchronise()
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.step += 1
        self.timed += self.step > self.warmup

    def on_train_end(self, trainer, module) -> None:
        self._synchronise()
        self.end = time.perf_counter()

    def _synchronise(self) -> None:
        if self.sync:
            torch.cuda.synchronize()


class Utilisation:
    """Mean GPU utilisation (%) from NVML, sampled in a thread; None without NVML."""

    def __init__(self, period: float = 0.02) -> None:
        self.period, self.samples = period, []
        self.stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
            self.read = lambda: pynvml.nvmlDeviceGetUtilizationRates(self.handle).gpu
        except Exception:  # no NVML (CPU machine, or the library missing)
            self.read = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(self.read())
            time.sleep(self.period)

    def __enter__(self) -> Utilisation:
        if self.read is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.read is not None:
            self.thread.join()

    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


class ResidentBatches:
    """One batch, already on the device, yielded ``steps`` times: a loader that costs
    nothing."""

    def __init__(self, batch: dict, steps: int) -> None:
        self.batch, self.steps = batch, steps

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        return (self.batch for _ in range(self.steps))


def config_for(model: str, size: str, accelerator: str, precision: str, batch_size: int):
    config = load_config(CONFIGS / f"{model}.yaml")
    overrides = {
        "trainer.accelerator": accelerator,
        "trainer.precision": precision,
        "data.batch_size": batch_size,
    }
    if size == "gpu":
        overrides["model.init_args"] = GPU_SIZES[model]
    return with_overrides(config, **overrides)


def loader_throughput(datamodule, device: torch.device, batches: int) -> dict:
    """Samples/s of the training loader with the host-to-device copy, and first-batch time."""
    loader = datamodule.train_dataloader()
    start = time.perf_counter()
    iterator = iter(loader)
    batch = next(iterator)
    first = time.perf_counter() - start
    samples, start = 0, time.perf_counter()
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        moved = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        samples += len(moved["x"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"loader_samples_s": samples / (time.perf_counter() - start), "first_batch_s": first}


def train_throughput(config, datamodule, steps: int, warmup: int, gpu: bool) -> dict:
    """Samples/s of ``steps`` Lightning training steps fed by the loader and by a resident
    batch; GPU utilisation and peak memory of the loader-fed run."""
    device = torch.device("cuda" if gpu else "cpu")
    batch = next(iter(datamodule.train_dataloader()))
    resident = ResidentBatches({k: v.to(device) for k, v in batch.items()}, steps + warmup)
    fed = _fit(config, datamodule, None, steps, warmup, gpu)
    free = _fit(config, datamodule, resident, steps, warmup, gpu)
    return {
        "parameters": fed["parameters"],
        "train_samples_s": fed["samples_s"],
        "resident_samples_s": free["samples_s"],
        "gpu_util_pct": fed["gpu_util_pct"],
        "peak_gpu_gb": fed["peak_gpu_gb"],
        "timed_steps": fed["timed_steps"],
    }


def _fit(config, datamodule, batches, steps: int, warmup: int, gpu: bool) -> dict:
    """One timed ``fit`` from the datamodule's loader, or from ``batches`` when given."""
    lightning.seed_everything(0, verbose=False)
    module = build_module(config, datamodule)
    timer = StepTimer(warmup, sync=gpu)
    trainer = lightning.Trainer(
        **(
            config.trainer.kwargs()
            | {
                "max_epochs": None,
                "max_steps": steps + warmup,
                "limit_train_batches": None,
                "limit_val_batches": 0,
                "log_every_n_steps": 50,
            }
        ),
        callbacks=[timer],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    with Utilisation() as use:
        if batches is None:
            trainer.fit(module, datamodule=datamodule)
        else:
            trainer.fit(module, train_dataloaders=batches)
    wall = timer.end - timer.start
    return {
        "parameters": sum(p.numel() for p in module.parameters()),
        "samples_s": timer.timed * config.data.batch_size / wall,
        "gpu_util_pct": use.mean() if gpu else None,
        "peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9 if gpu else None,
        "timed_steps": timer.timed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accelerator", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--precision", nargs="+", default=["32-true"])
    parser.add_argument("--models", nargs="+", default=["unet", "climax"])
    parser.add_argument("--size", nargs="+", default=["baseline"], choices=["baseline", "gpu"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--num-workers", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--loader-batches", type=int, default=200)
    parser.add_argument("--data-root", default=os.environ.get("CLIMBENCH_DATA", "data"))
    parser.add_argument("--out", default="bench_training.json")
    args = parser.parse_args()

    gpu = args.accelerator == "gpu"
    device = torch.device("cuda" if gpu else "cpu")
    task = get_task(TASK, args.data_root)
    start = time.perf_counter()
    task.prepare_data()
    print(f"task data ready in {time.perf_counter() - start:.1f} s under {task.data_dir}")
    name = torch.cuda.get_device_name() if gpu else f"CPU, {torch.get_num_threads()} threads"
    rows = []
    for size in args.size:
        batch_size = args.batch_size or (128 if size == "gpu" else 16)
        for model in args.models:
            for precision, workers in itertools.product(args.precision, args.num_workers):
                config = config_for(model, size, args.accelerator, precision, batch_size)
                config = with_overrides(config, **{"data.num_workers": workers})
                datamodule = build_datamodule(task, config)
                datamodule.prepare_data()
                datamodule.setup("fit")
                row = {"model": model, "size": size, "precision": precision, "batch": batch_size}
                row["workers"] = workers
                row |= loader_throughput(datamodule, device, args.loader_batches)
                row |= train_throughput(config, datamodule, args.steps, args.warmup, gpu)
                rows.append(row)
                print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps({"device": name, "rows": rows}, indent=2))
    print(f"\n{name}; {args.steps} timed steps after {args.warmup} warm-up steps")
    header = "model   size      precision   batch workers params  train/s resident/s loader/s "
    print(header + "first   GPU%  GPU GB")
    for r in rows:
        util = "-" if r["gpu_util_pct"] is None else f"{r['gpu_util_pct']:.0f}"
        mem = "-" if r["peak_gpu_gb"] is None else f"{r['peak_gpu_gb']:.2f}"
        print(
            f"{r['model']:<7} {r['size']:<9} {r['precision']:<11} {r['batch']:>5} "
            f"{r['workers']:>7} {r['parameters'] / 1e6:>5.2f}M {r['train_samples_s']:>8.0f} "
            f"{r['resident_samples_s']:>10.0f} {r['loader_samples_s']:>8.0f} "
            f"{r['first_batch_s']:>5.2f}s {util:>5} {mem:>6}"
        )


if __name__ == "__main__":
    main()
