"""``climbench leaderboard`` on the command line: check, build and every figure the site
names, on the committed entries; a refusal is one line and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from climbench.cli import app

ROOT = Path(__file__).resolve().parent.parent / "leaderboard"
FORECAST = "forecast/synthetic-5.625"


def test_check_and_build(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["leaderboard", "check", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "entries valid" in result.output
    result = runner.invoke(
        app, ["leaderboard", "build", "--root", str(ROOT), "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "index.html").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["curves", "--task", FORECAST, "--field", "geopotential_500", "--metric", "rmse"],
        ["curves", "--task", FORECAST, "--relative-to", "persistence"],
        ["scorecard", "--task", FORECAST, "--metric", "acc"],
        ["map", "--task", FORECAST, "--field", "2m_temperature"],
        ["spectra", "--task", FORECAST],
        ["curves", "--task", "emulation/synthetic"],
    ],
)
def test_every_site_figure_command(tmp_path, args):
    out = tmp_path / "figure.png"
    result = CliRunner().invoke(
        app, ["leaderboard", "figure", *args, "--root", str(ROOT), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_refusal_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "lb" / "entries" / "x.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{}")
    done = subprocess.run(
        [sys.executable, "-c", "from climbench.cli import main; main()", "leaderboard", "check",
         "--root", str(tmp_path / "lb"), "--no-git"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error:") and len(done.stderr.strip().splitlines()) == 1
    assert "entry keys are not the schema's" in done.stderr
