"""``climbench data info`` and ``climbench data vocabulary``.

Success paths run in-process with typer's ``CliRunner``; exit codes of user errors are
checked through :func:`climbench.cli.main` (which turns a ClimbenchError into one line and
status 2) and once through a real subprocess, as a user would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from climbench import cli
from climbench.data import vocabulary
from climbench.errors import UnitsError
from tests.test_open_real_files import ERA5_EDA, ERA5_UK, QUEBEC, TAS_PI

WIDE = {"COLUMNS": "200"}


def run_app(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli.app, list(args), env=env or WIDE)


def run_main(monkeypatch, capsys, *args: str, columns: int = 200) -> tuple[int, str]:
    """Run the console-script entry point in-process: (exit status, stdout + stderr)."""
    monkeypatch.setattr(sys, "argv", ["climbench", *args])
    monkeypatch.setenv("COLUMNS", str(columns))
    with pytest.raises(SystemExit) as info:
        cli.main()
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out.out + out.err


def test_info_grib(shared_file) -> None:
    path = shared_file(ERA5_UK)
    result = run_app("data", "info", str(path))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2m_temperature" in out and "t2m" in out
    assert "744 steps" in out and "grib" in out and "era5" in out
    assert "33 x 49" in out


def test_info_grib_ensemble_with_stats(shared_file) -> None:
    result = run_app("data", "info", str(shared_file(ERA5_EDA)), "--stats")
    assert result.exit_code == 0, result.output
    for text in ("geopotential", "temperature", "member:10", "[500.0, 850.0]", "min", "max"):
        assert text in result.output


def test_info_prints_full_variable_names_at_default_width(shared_file) -> None:
    result = run_app("data", "info", str(shared_file(ERA5_UK)), "--stats", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "2m_temperature" in result.output


def test_info_forced_source(shared_file) -> None:
    result = run_app("data", "info", str(shared_file(TAS_PI)), "--source", "cf")
    assert result.exit_code == 0, result.output
    assert "climbench_source: cf" in result.output
    assert "proleptic_gregorian" in result.output  # the cftime calendar is reported


def test_info_quebec_raises_units_error_in_process(shared_file) -> None:
    result = run_app("data", "info", str(shared_file(QUEBEC)))
    assert result.exit_code != 0
    assert isinstance(result.exception, UnitsError)  # the raw app does not catch it
    assert result.exception.variable == "tasmax"


def test_info_quebec_exit_2_one_line(shared_file, monkeypatch, capsys) -> None:
    path = shared_file(QUEBEC)
    code, out = run_main(monkeypatch, capsys, "data", "info", str(path), columns=80)
    assert code == 2
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("error:")
    assert "tasmax" in lines[0] and "mm d-1" in lines[0] and "--units tasmax=" in lines[0]
    assert "Traceback" not in out


def test_info_quebec_with_units_override(shared_file, monkeypatch, capsys) -> None:
    path = shared_file(QUEBEC)
    code, out = run_main(
        monkeypatch,
        capsys,
        "data",
        "info",
        str(path),
        "--units",
        "tasmax=degC",
        "--units",
        "tasmin=degC",
        "--stats",
    )
    assert code == 0, out
    assert "maximum_2m_temperature" in out and "minimum_2m_temperature" in out
    assert "365 steps" in out


def test_info_bad_units_option(shared_file, monkeypatch, capsys) -> None:
    code, out = run_main(
        monkeypatch, capsys, "data", "info", str(shared_file(QUEBEC)), "--units", "tasmax"
    )
    assert code == 2
    assert "VARIABLE=UNIT" in out and "'tasmax'" in out


def test_info_missing_file(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "absent.grib"
    code, out = run_main(monkeypatch, capsys, "data", "info", str(path))
    assert code == 2
    assert str(path) in out and "not found" in out


def test_info_combines_several_paths(tmp_path: Path, make_dataset) -> None:
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    make_dataset(start="2000-01-01").to_netcdf(a)
    make_dataset(start="2000-01-02", seed=1).to_netcdf(b)
    result = run_app("data", "info", str(a), str(b))
    assert result.exit_code == 0, result.output
    assert "8 steps" in result.output and "myvar" in result.output


def test_vocabulary_lists_every_variable() -> None:
    result = CliRunner().invoke(cli.app, ["data", "vocabulary"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for var in vocabulary.VARIABLES:
        assert var.name in result.output
    for alias in ("t2m", "tas", "T2M", "U10M", "PRECTOT", "zg"):
        assert alias in result.output


def test_subprocess_exit_codes(shared_file, tmp_path: Path) -> None:
    """As a user runs it: ``python -m climbench.cli`` (the console script's module)."""
    env = {**os.environ, "COLUMNS": "200", "CLIMBENCH_CACHE": str(tmp_path)}
    ok = subprocess.run(
        [sys.executable, "-m", "climbench.cli", "data", "info", str(shared_file(ERA5_UK))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "2m_temperature" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "climbench.cli", "data", "info", str(shared_file(QUEBEC))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2
    out = (bad.stdout + bad.stderr).strip()
    assert "\n" not in out and "tasmax" in out and "Traceback" not in out
