"""The notebooks (jupytext percent scripts) run from start to end."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("CLIMBENCH_TEST_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(notebook), run_name="__main__")
