"""``climbench data synth weather | climate | downscaling`` write readable canonical stores."""

from __future__ import annotations

from typer.testing import CliRunner

import climbench
from climbench.cli import app
from climbench.data.schema import validate
from climbench.errors import RegridError, StoreError

runner = CliRunner()


def test_weather_command_writes_a_canonical_store(tmp_path) -> None:
    out = tmp_path / "synth-weather.zarr"
    args = [
        "data",
        "synth",
        "weather",
        "--grid",
        "5.625",
        "--years",
        "2000",
        "--seed",
        "4",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    ds = climbench.open_dataset(out)
    validate(ds)
    assert ds.attrs["seed"] == 4 and ds.sizes["time"] == 366 * 4
    again = runner.invoke(app, args)
    assert isinstance(again.exception, StoreError)
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    bad = runner.invoke(
        app, ["data", "synth", "weather", "--grid", "3", "--out", str(tmp_path / "x.zarr")]
    )
    assert isinstance(bad.exception, RegridError)
    assert not (tmp_path / "x.zarr").exists()


def test_climate_command(tmp_path) -> None:
    out = tmp_path / "synth-climate.zarr"
    result = runner.invoke(
        app,
        [
            "data",
            "synth",
            "climate",
            "--years",
            "2000-2020",
            "--members",
            "2",
            "--scenario",
            "ssp126",
            "--scenario",
            "ssp585",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    ds = climbench.open_dataset(out)
    validate(ds)
    assert ds["scenario"].values.tolist() == ["ssp126", "ssp585"]
    assert ds.sizes["member"] == 2 and ds.sizes["time"] == 21


def test_downscaling_command(tmp_path) -> None:
    out = tmp_path / "pair"
    result = runner.invoke(
        app,
        [
            "data",
            "synth",
            "downscaling",
            "--years",
            "2001",
            "--coarse",
            "2.8125",
            "-v",
            "t2m",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    coarse = climbench.open_dataset(out / "coarse.zarr")
    fine = climbench.open_dataset(out / "fine.zarr")
    assert coarse.sizes["lat"] == 64 and fine.sizes["lat"] == 128
    assert "2m_temperature" in fine.data_vars
