"""The training layer on tiny tasks: loss, checkpoints, predictions, DDP, seeds, downscaling.

Both tasks are cut-down variants of registered tasks, prepared (as ``files`` datasets) from
three months of synthetic weather built once per session: forecast/synthetic-5.625 on an
11.25 degree grid with two months of training and four leads, and downscaling/synthetic-x4
from 11.25 to 5.625 degrees.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from climbench.baselines import fit as fit_closed_form
from climbench.data.grids import contiguous_lon_order
from climbench.data.synthetic import weather
from climbench.errors import ConfigError
from climbench.evaluation.evaluate import evaluate
from climbench.tasks import Period, Task, get_task
from climbench.training import ClimbenchModule, load_config, load_module, predict, train
from climbench.training.config import TrainConfig, parse_overrides, with_overrides
from climbench.training.forecast_data import ForecastDataModule
from climbench.training.train import build_datamodule, build_module

REPO = Path(__file__).resolve().parents[1]


SOURCE = "weather.zarr"  # the synthetic weather both tasks are prepared from


def tiny_task(root: str | Path) -> Task:
    """forecast/synthetic-5.625 on 11.25 degrees, autumn 2014, leads 6-48 h (the training
    split ends within the climatology window (30 days) of every test valid time)."""
    spec = get_task("forecast/synthetic-5.625").spec
    spec = dataclasses.replace(
        spec,
        dataset=dataclasses.replace(spec.dataset, kind="files", params={}),
        grid="11.25",
        splits={
            "train": Period("2014-09-01", "2014-10-31"),
            "validation": Period("2014-11-01", "2014-11-10"),
            "test": Period("2014-11-11", "2014-11-20"),
        },
        forecast=dataclasses.replace(spec.forecast, lead_hours=(6, 12, 24, 48), derived_fields=()),
    )
    return Task(spec, root)


def tiny_downscaling_task(root: str | Path) -> Task:
    """downscaling/synthetic-x4 from 11.25 to 5.625 degrees, autumn 2014."""
    spec = get_task("downscaling/synthetic-x4").spec
    spec = dataclasses.replace(
        spec,
        dataset=dataclasses.replace(spec.dataset, kind="files", params={}),
        grid="5.625",
        splits={
            "train": Period("2014-09-01", "2014-10-15"),
            "validation": Period("2014-10-16", "2014-10-31"),
            "test": Period("2014-11-01", "2014-11-15"),
        },
        downscaling=dataclasses.replace(spec.downscaling, coarse_grid="11.25", fine_grid="5.625"),
    )
    return Task(spec, root)


def tiny_config(**sections: dict | str) -> TrainConfig:
    """A UNet that trains in seconds; ``sections`` update the config's sections (or keys)."""
    data = {
        "task": "forecast/synthetic-5.625",
        "seed_everything": 0,
        "model": {"name": "unet", "init_args": {"base_channels": 8, "depth": 2}},
        "data": {"batch_size": 8, "train_leads": [6, 12]},
        "trainer": {
            "max_epochs": 1,
            "limit_train_batches": 3,
            "limit_val_batches": 2,
            "accelerator": "cpu",
            "devices": 1,
            "log_every_n_steps": 1,
        },
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return load_config(data)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with three months of synthetic weather at 5.625 degrees."""
    root = tmp_path_factory.mktemp("training-data")
    ds = weather(grid="5.625", years=(2014, 2014), seed=0)
    ds = ds.sel(time=slice("2014-08-31", "2014-11-30")).chunk({"time": 64})
    for variable in ds.variables.values():
        variable.encoding.clear()
    ds.to_zarr(root / SOURCE)
    return root


@pytest.fixture(scope="session")
def task(data_root: Path) -> Task:
    task = tiny_task(data_root)
    task.prepare_data([data_root / SOURCE])
    return task


@pytest.fixture(scope="session")
def downscaling_task(data_root: Path) -> Task:
    task = tiny_downscaling_task(data_root)
    task.prepare_data([data_root / SOURCE, data_root / SOURCE])
    return task


@pytest.fixture(scope="session")
def trained(task: Task, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    return train(tiny_config(), task=task, out_dir=out, progress=False)


def test_config_errors_name_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"task": "x", "trainer": {"max_epoch": 2}}))
    with pytest.raises(ConfigError, match="bad.yaml.*trainer.max_epoch"):
        load_config(path)
    path.write_text(yaml.safe_dump({"task": "x", "data": {"batch_size": "big"}}))
    with pytest.raises(ConfigError, match="data.batch_size"):
        load_config(path)
    config = load_config("forecast-synthetic/unet")
    assert with_overrides(config, **{"trainer.max_epochs": 7}).trainer.max_epochs == 7


def test_command_line_overrides_are_yaml_values_with_checked_keys() -> None:
    changes = parse_overrides(
        ["trainer.precision=bf16-mixed", "data.batch_size=64", "data.train_leads=[6, 12]"]
    )
    assert changes == {
        "trainer.precision": "bf16-mixed",
        "data.batch_size": 64,
        "data.train_leads": [6, 12],
    }
    config = with_overrides(tiny_config(), **changes)
    assert config.data.train_leads == (6, 12) and config.trainer.precision == "bf16-mixed"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["trainer.precision"])
    with pytest.raises(ConfigError, match="trainer.precison"):
        with_overrides(tiny_config(), **{"trainer.precison": "bf16-mixed"})
    with pytest.raises(ConfigError, match="no section trainr"):
        with_overrides(tiny_config(), **{"trainr.precision": "bf16-mixed"})


def test_one_training_step_decreases_the_loss(task: Task) -> None:
    torch.manual_seed(0)
    config = tiny_config(optimizer={"lr": 1e-3})
    datamodule = build_datamodule(task, config)
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(config, datamodule)
    batch = next(iter(datamodule.train_dataloader()))
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)

    before = module.batch_loss(batch)
    before.backward()
    optimizer.step()
    with torch.no_grad():
        assert module.batch_loss(batch) < before


def test_checkpoint_round_trip_gives_identical_predictions(task: Task, trained: Path) -> None:
    checkpoint = torch.load(trained, map_location="cpu", weights_only=True)
    module = load_module(trained)
    rebuilt = ClimbenchModule(**checkpoint["hyper_parameters"])
    rebuilt.load_state_dict(checkpoint["state_dict"])
    datamodule = ForecastDataModule(task, batch_size=4)
    datamodule.prepare_data()
    datamodule.setup("predict")
    batch = next(iter(datamodule.predict_dataloader()))
    with torch.no_grad():
        assert torch.equal(module.predict_step(batch), rebuilt.eval().predict_step(batch))
    assert module.hparams.network == "unet"


def test_predictions_pass_the_scorer(task: Task, trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.zarr"
    ds = predict(task, trained, out=out)
    assert ds.attrs["model"] == "unet" and ds.attrs["task_digest"] == task.spec.digest()
    assert dict(ds["geopotential_500"].sizes) == {
        "init_time": 4, "lead_time": 4, "lat": 16, "lon": 32
    }  # fmt: skip
    assert all(np.isfinite(ds[name]).all() for name in ds.data_vars)  # no level NaN padding
    results = evaluate(out, task, baselines=False, resamples=0)
    rmse = results.table.query("model == 'unet' and metric == 'rmse'")["value"]
    assert len(rmse) and np.isfinite(rmse).all()
    with pytest.raises(Exception, match="exists"):
        predict(task, trained, out=out)


def test_seeds_make_runs_identical(task: Task, trained: Path, tmp_path: Path) -> None:
    again = train(tiny_config(), task=task, out_dir=tmp_path, progress=False)
    a = torch.load(trained, weights_only=True)["state_dict"]
    b = torch.load(again, weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ensemble_and_rollout_modules(task: Task) -> None:
    for options in ({"members": 3, "noise_channels": 2}, {"rollout_steps": 2}):
        config = tiny_config(module=options, data={"batch_size": 4})
        datamodule = build_datamodule(task, config)
        datamodule.prepare_data()
        datamodule.setup(None)
        module = build_module(config, datamodule)
        batch = next(iter(datamodule.train_dataloader()))
        loss = module.batch_loss(batch)
        loss.backward()
        assert torch.isfinite(loss)
        with torch.no_grad():
            pred = module.predict_step(next(iter(datamodule.predict_dataloader())))
        members = (options.get("members", 1),) if "members" in options else ()
        assert pred.shape == (4, 4, *members, 6, 16, 32)


def test_bf16_mixed_precision_is_configuration(task: Task, tmp_path: Path) -> None:
    """bf16-mixed trains through the same code on CPU autocast as on a GPU: the residual
    and the loss stay float32 (an H100 run found the residual add failing under bf16)."""
    for options in ({}, {"members": 2, "noise_channels": 1}, {"rollout_steps": 2}):
        config = tiny_config(module=options, trainer={"precision": "bf16-mixed"})
        checkpoint = train(config, task=task, out_dir=tmp_path / str(len(options)), progress=False)
        module = load_module(checkpoint)
        assert all(p.dtype == torch.float32 for p in module.parameters())
        datamodule = build_datamodule(task, config)
        datamodule.setup("fit")
        batch = next(iter(datamodule.train_dataloader()))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = module(batch["x"], batch.get("lead_hours"))
        assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_downscaling_trains_predicts_and_scores(downscaling_task: Task, tmp_path: Path) -> None:
    config = tiny_config(task="downscaling/synthetic-x4", data={"train_leads": None})
    checkpoint = train(config, task=downscaling_task, out_dir=tmp_path / "run", progress=False)
    assert load_module(checkpoint).hparams.network_args["lead_time"] is False
    out = tmp_path / "predictions.zarr"
    ds = predict(downscaling_task, checkpoint, out=out)
    assert dict(ds["2m_temperature"].sizes) == {"time": 60, "lat": 32, "lon": 64}
    results = evaluate(out, downscaling_task, baselines=False, resamples=0)
    rmse = results.table.query("model == 'unet' and metric == 'rmse'")["value"]
    assert len(rmse) and np.isfinite(rmse).all()


def test_two_process_ddp_on_cpu(task: Task, tmp_path: Path) -> None:
    script = tmp_path / "ddp_run.py"
    script.write_text(
        "import sys\n"
        "from tests.test_training import tiny_config, tiny_task\n"
        "from climbench.training import train\n"
        "config = tiny_config(trainer={'strategy': 'ddp', 'devices': 2})\n"
        "print(train(config, task=tiny_task(sys.argv[1]), out_dir=sys.argv[2], progress=False))\n"
    )
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, str(script), str(task.data_root), str(out)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("best.ckpt") == 2  # both ranks ran to the end
    assert (out / "checkpoints" / "last.ckpt").is_file()
    load_module(out / "checkpoints" / "last.ckpt")


def test_contiguous_lon_order_of_a_region_across_the_prime_meridian() -> None:
    uk = np.concatenate([np.arange(0, 2.01, 0.25), np.arange(350, 360, 0.25)])
    order = contiguous_lon_order(uk)
    assert (
        uk[order][0] == 350 and uk[order][-1] == 2 and np.all(np.diff((uk[order] + 180) % 360) > 0)
    )
    assert contiguous_lon_order(np.arange(0, 360, 5.625)) is None  # global
    assert contiguous_lon_order(np.arange(10, 20, 0.5)) is None  # already contiguous


def test_module_shows_the_network_contiguous_columns(task: Task) -> None:
    """With lon_order the network sees reordered columns and the output returns to store
    order: the same as reordering by hand around a plain module."""
    config = tiny_config()
    datamodule = build_datamodule(task, config)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    args = datamodule.module_args()
    order = np.roll(np.arange(len(batch["x"][0, 0, 0])), 5).tolist()
    torch.manual_seed(0)
    plain = build_module(config, datamodule)
    reordered = ClimbenchModule(
        "unet", plain.hparams.network_args, **(args | {"lon_order": order}), residual=True
    )
    reordered.network.load_state_dict(plain.network.state_dict())
    inverse = np.argsort(order)
    with torch.no_grad():
        expected = plain.network(batch["x"][..., order], batch["lead_hours"])[..., inverse]
        expected = expected + batch["x"][:, [reordered.residual_index[k] for k in range(6)]]
        torch.testing.assert_close(reordered(batch["x"], batch["lead_hours"]), expected)


def test_unet_trains_on_the_real_era5_uk_file(shared_file, tmp_path: Path) -> None:
    """`climbench tasks prepare`, `train`, `predict` and `evaluate` on real ERA5: the UK
    grid crosses 0 degrees, so the UNet sees its columns in contiguous order, unwrapped."""
    from typer.testing import CliRunner

    from climbench import cli

    source = shared_file("pydata+xarray-data/era5-2mt-2019-03-uk.grib")
    root = tmp_path / "data"
    runner = CliRunner()
    name = "forecast/era5-uk-t2m"

    def invoke(*args: str) -> str:
        result = runner.invoke(cli.app, list(args), env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        return result.output

    invoke("tasks", "prepare", name, "--source", str(source), "--data-root", str(root))
    invoke(
        "train", "--task", name, "--model", "unet", "--data-root", str(root),
        "--out", str(tmp_path / "run"), "--predictions", str(tmp_path / "unet.zarr"),
        "--set", "trainer.max_epochs=2", "--set", "trainer.limit_train_batches=20",
        "--set", "trainer.accelerator=cpu", "--set", "data.batch_size=16",
        "--set", "data.train_leads=[1, 3, 6, 12, 24]",
        "--set", "model.init_args={base_channels: 8}",
    )  # fmt: skip
    module = load_module(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert module.reorders and module.network.periodic_lon is False
    invoke(
        "train", "--task", name, "--model", "ridge", "--data-root", str(root),
        "--predictions", str(tmp_path / "ridge.zarr"),
    )  # fmt: skip
    output = invoke(
        "evaluate", str(tmp_path / "unet.zarr"), str(tmp_path / "ridge.zarr"), "--task", name,
        "--data-root", str(root), "--out", str(tmp_path / "results"), "--resamples", "0",
    )  # fmt: skip
    assert "unet" in output and "ridge" in output and "persistence" in output
    import pandas as pd

    table = pd.read_parquet(tmp_path / "results" / "results.parquet")
    rmse = table.query("metric == 'rmse'").set_index(["model", "lead_hours"])["value"]
    assert len(rmse["unet"]) == 24 and np.isfinite(rmse["unet"]).all()
    # trained for seconds, the UNet is already closer than climatology at 1 h (2.06 K); the
    # exact linear stencil beats persistence there (0.37 K)
    assert rmse["unet", 1.0] < 2.0 and rmse["ridge", 1.0] < rmse["persistence", 1.0]


def test_closed_form_ridge_forecasts_every_lead(task: Task) -> None:
    """`climbench train --model ridge` on a forecast: one 3 x 3 stencil regression for all
    leads, fitted exactly; it must beat climatology at 6 h and be scored like a network."""
    ds, info = fit_closed_form(task, "ridge")
    assert info["alpha"] in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
    assert dict(ds["geopotential_500"].sizes) == {
        "init_time": 4, "lead_time": 4, "lat": 16, "lon": 32
    }  # fmt: skip
    results = evaluate({"ridge": ds}, task, resamples=0)
    rmse = results.table.query(
        "metric == 'rmse' and variable == 'geopotential' and level == 500 and region == 'global'"
    )
    at = rmse.set_index(["model", "lead_hours"])["value"]
    assert at["ridge", 6.0] < at["climatology", 6.0]
    again, _ = fit_closed_form(task, "ridge")  # seeded: the same fit
    assert np.array_equal(ds["geopotential_500"].values, again["geopotential_500"].values)


def test_evaluate_refuses_ambiguous_prediction_files(
    task: Task, trained: Path, tmp_path: Path
) -> None:
    """Several files are scored together (the ERA5 UK test); --model with several files,
    or two files of one model name, are refused before anything is read."""
    from typer.testing import CliRunner

    from climbench import cli

    for name in ("first", "copy"):
        predict(task, trained, out=tmp_path / f"{name}.zarr", model_name="first")
    files = [str(tmp_path / "first.zarr"), str(tmp_path / "copy.zarr")]
    runner = CliRunner()
    task_args = ["--task", "forecast/synthetic-5.625", "--data-root", str(task.data_root)]
    result = runner.invoke(cli.app, ["evaluate", *files, "--model", "x", *task_args])
    assert result.exit_code != 0 and "one predictions file" in str(result.exception)
    result = runner.invoke(cli.app, ["evaluate", *files, *task_args])
    assert result.exit_code != 0 and "same model name" in str(result.exception)
