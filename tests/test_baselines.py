"""The baselines package: the registry, pattern scaling in numpy, reference predictions
cached beside the task data, scoring without torch, and a wheel that carries its configs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import climbench
from climbench.baselines import BASELINES, config_path, fit, get_baseline, reference_predictions
from climbench.baselines.pattern_scaling import PatternScaling
from climbench.errors import ClimbenchError, ConfigError, TaskError
from climbench.io import OUTPUT_MARKER, output_kind
from climbench.tasks.kinds import KINDS

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------
# pattern scaling (numpy)
# ---------------------------------------------------------------------------------------


def linear_climate(n: int, rng: np.random.Generator):
    """Forcings, global-mean temperature and fields that follow pattern scaling exactly."""
    forcings = rng.normal(size=(n, 3))
    a, b = np.array([0.8, -0.3, 0.1]), 0.25
    slope, intercept = rng.normal(size=40), rng.normal(size=40)
    gmt = forcings @ a + b
    fields = gmt[:, None] * slope + intercept
    return forcings, gmt, fields, (a, b, slope, intercept)


def test_pattern_scaling_recovers_a_linear_truth() -> None:
    rng = np.random.default_rng(2)
    forcings, gmt, fields, (a, b, slope, intercept) = linear_climate(30, rng)
    model = PatternScaling().fit(forcings, gmt, fields)
    np.testing.assert_allclose(model.forcing_coef, a, atol=1e-10)
    np.testing.assert_allclose(model.forcing_intercept, b, atol=1e-10)
    np.testing.assert_allclose(model.slope, slope, atol=1e-10)
    np.testing.assert_allclose(model.intercept, intercept, atol=1e-10)
    new_forcings, new_gmt, _, _ = linear_climate(5, rng)  # new scenarios, forcings only
    expected = new_gmt[:, None] * slope + intercept
    prediction = model.predict(new_forcings)
    assert prediction.dtype == np.float32 and prediction.shape == (5, 40)
    np.testing.assert_allclose(prediction, expected, atol=1e-5)
    np.testing.assert_allclose(model.predict_from_temperature(new_gmt), expected, atol=1e-5)


def test_pattern_scaling_bad_inputs() -> None:
    rng = np.random.default_rng(0)
    forcings, gmt, fields = rng.normal(size=(10, 2)), rng.normal(size=10), rng.normal(size=(10, 5))
    with pytest.raises(ClimbenchError, match="global_temperature is constant"):
        PatternScaling().fit(forcings, np.ones(10), fields)
    with pytest.raises(ClimbenchError, match="global_temperature: 9"):
        PatternScaling().fit(forcings, gmt[:9], fields)
    with pytest.raises(ClimbenchError, match="fields must be 2-D"):
        PatternScaling().fit(forcings, gmt, fields[:, 0])
    with pytest.raises(ClimbenchError, match="NaN or infinite"):
        PatternScaling().fit(np.where(forcings > 1, np.nan, forcings), gmt, fields)
    with pytest.raises(ClimbenchError, match="not fitted"):
        PatternScaling().predict(forcings)
    with pytest.raises(ClimbenchError, match="must have 2 columns"):
        PatternScaling().fit(forcings, gmt, fields).predict(rng.normal(size=(3, 4)))


# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------


def test_every_reference_baseline_of_every_task_is_registered_for_its_kind() -> None:
    for name in climbench.task_names():
        spec = climbench.tasks.get_spec(name)
        for baseline in spec.baselines:
            assert get_baseline(baseline).serves(spec.kind), (name, baseline)
    for baseline in BASELINES.values():
        assert set(baseline.fitters) <= set(KINDS)


def test_unknown_baseline_and_wrong_kind_are_refused(emulation_task) -> None:
    with pytest.raises(TaskError, match="unknown baseline") as info:
        fit(emulation_task, "nosuch")
    assert "pattern_scaling" in str(info.value)  # lists the known ones
    with pytest.raises(TaskError, match="does not serve emulation tasks"):
        fit(emulation_task, "persistence")


def test_a_baseline_names_its_predictions(emulation_task) -> None:
    predictions, info = fit(emulation_task, "pattern_scaling")
    assert predictions.attrs["model"] == "pattern_scaling"
    assert predictions.attrs["task"] == emulation_task.name
    assert info["training_samples"] > 0


def test_packaged_configs_are_found_by_name(tmp_path) -> None:
    assert config_path("forecast-synthetic/unet") == config_path("forecast-synthetic/unet.yaml")
    assert config_path("forecast-synthetic/unet").is_file()
    own = tmp_path / "mine.yaml"
    own.write_text("task: emulation/synthetic\n")
    assert config_path(own) == own
    with pytest.raises(ConfigError, match="forecast-synthetic/climax"):
        config_path("forecast-synthetic/nosuch")


# ---------------------------------------------------------------------------------------
# reference predictions: written once beside the task data, read like any model's file
# ---------------------------------------------------------------------------------------


def test_reference_predictions_are_cached_beside_the_task_data(forecast_task) -> None:
    path = reference_predictions(forecast_task, "persistence")
    assert output_kind(path) == "predictions"
    assert forecast_task.data_dir in path.parents
    marker = (path / OUTPUT_MARKER).read_text()
    assert reference_predictions(forecast_task, "persistence") == path
    assert (path / OUTPUT_MARKER).read_text() == marker  # reused, not rewritten
    cached = xr.open_zarr(path)
    built, _ = fit(forecast_task, "persistence")
    for name in built.data_vars:
        np.testing.assert_array_equal(cached[name].values, built[name].values)
    with pytest.raises(TaskError, match="not a reference baseline"):
        reference_predictions(forecast_task, "ridge")


def test_scores_from_the_cache_equal_scores_from_the_fit(forecast_task) -> None:
    from_cache = climbench.evaluate(None, forecast_task, resamples=0).table
    direct = climbench.evaluate(
        {"persistence": fit(forecast_task, "persistence")[0]},
        forecast_task,
        baselines=False,
        resamples=0,
    ).table
    mine = from_cache[from_cache.model == "persistence"].reset_index(drop=True)
    np.testing.assert_allclose(mine["value"], direct["value"], rtol=1e-6, equal_nan=True)


# ---------------------------------------------------------------------------------------
# the core install scores without torch
# ---------------------------------------------------------------------------------------

WITHOUT_TORCH = textwrap.dedent(
    """
    import sys
    sys.modules["torch"] = None  # as if the torch extra were not installed
    sys.modules["lightning"] = None
    sys.argv = ["climbench", *sys.argv[1:]]
    from climbench.cli import main
    main()
    """
)


def run_without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "without_torch.py"
    script.write_text(WITHOUT_TORCH)
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=600
    )


def test_scoring_and_closed_form_baselines_need_no_torch(emulation_task, tmp_path) -> None:
    root = str(emulation_task.data_root)
    task = ["--task", "emulation/synthetic", "--data-root", root]
    listed = run_without_torch(tmp_path, "tasks", "list")
    assert listed.returncode == 0, listed.stderr
    scored = run_without_torch(tmp_path, "evaluate", *task, "--resamples", "0")
    assert scored.returncode == 0, scored.stderr
    assert "pattern_scaling" in scored.stdout
    fitted = run_without_torch(
        tmp_path, "train", *task, "--model", "pattern_scaling",
        "--predictions", str(tmp_path / "ps.zarr"),
    )  # fmt: skip
    assert fitted.returncode == 0, fitted.stderr
    refused = run_without_torch(tmp_path, "train", *task, "--model", "cnn_lstm")
    assert refused.returncode == 2
    assert "pip install 'climbench[torch]'" in refused.stderr
    assert "Traceback" not in refused.stderr


# ---------------------------------------------------------------------------------------
# a wheel installed outside the repository carries the configs and specs
# ---------------------------------------------------------------------------------------


def test_wheel_runs_the_default_job_outside_the_repository(tmp_path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(wheels)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = wheels.glob("climbench-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # the dependencies come from this interpreter's site-packages (no download); the
    # package itself only from the wheel
    site = Path(sysconfig.get_paths()["purelib"])
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(target) / "dependencies.pth").write_text(f"{site}\n")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = str(env_dir / "bin" / "climbench")
    env = {**os.environ, "COLUMNS": "200"}
    where = subprocess.run(
        [str(python), "-c", "import climbench; print(climbench.__file__)"],
        cwd=elsewhere, capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert str(env_dir) in where and str(REPO) not in where
    listed = subprocess.run(
        [command, "tasks", "list"], cwd=elsewhere, capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0 and "emulation/synthetic" in listed.stdout, listed.stderr
    run = subprocess.run(
        [command, "run", "--task", "emulation/synthetic", "--data-root", "data"],
        cwd=elsewhere, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (elsewhere / "data" / "results" / "emulation-synthetic" / "summary.json").is_file()
