"""climbench.plot on users' own results: figures are drawn from the numbers given, saved as
PNG and SVG, and the derived numbers (scorecard %, rank counts) are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from climbench.errors import ConfigError, SchemaError
from climbench.plot import (
    error_map,
    lead_time_curves,
    percent_difference,
    rank_counts,
    rank_histogram,
    save,
    scorecard,
    spectra,
)
from climbench.plot.maps import map_png, offline_coastlines, symmetric_limit


def results_table() -> pd.DataFrame:
    """A tidy results table as climbench.evaluate writes it: two models, RMSE and ACC."""
    rows = []
    for model, scale in (("mine", 0.9), ("persistence", 1.0)):
        for lead in (24.0, 72.0, 120.0):
            rmse = scale * lead
            acc = 1 - scale * lead / 1000
            for metric, value in (("rmse", rmse), ("acc", acc)):
                rows.append(
                    (
                        "t",
                        1,
                        model,
                        "geopotential",
                        500.0,
                        "global",
                        lead,
                        metric,
                        value,
                        0.95 * value,
                        1.05 * value,
                        50,
                    )  # fmt: skip
                )
    columns = ["task", "version", "model", "variable", "level", "region", "lead_hours",
               "metric", "value", "ci_low", "ci_high", "n_samples"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def test_percent_difference_uses_one_minus_acc():
    diff = percent_difference(results_table(), "persistence")
    rmse = diff[(diff.metric == "rmse") & (diff.lead_hours == 72)].percent.item()
    acc = diff[(diff.metric == "acc") & (diff.lead_hours == 72)].percent.item()
    assert rmse == pytest.approx(-10.0)
    # 1 - ACC: 0.9 * 72 / 1000 against 72 / 1000, also -10 %
    assert acc == pytest.approx(-10.0)
    with pytest.raises(ConfigError, match="reference model"):
        percent_difference(results_table(), "nobody")


def test_lead_time_curves_absolute_and_relative(tmp_path):
    table = results_table()
    fig = lead_time_curves(table, "geopotential", "rmse", level=500)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["mine", "persistence"]
    assert list(lines[0].get_ydata()) == pytest.approx([21.6, 64.8, 108.0])
    assert list(lines[0].get_xdata()) == pytest.approx([1, 3, 5])  # days
    rel = lead_time_curves(table, "geopotential", "rmse", level=500, relative_to="persistence")
    assert list(rel.axes[0].get_lines()[0].get_ydata()) == pytest.approx([-10, -10, -10])
    png, svg = save(fig, tmp_path / "c.png"), save(rel, tmp_path / "c.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:500]
    assert svg.read_bytes() == save(rel, tmp_path / "again.svg").read_bytes()  # reproducible
    with pytest.raises(ConfigError, match="unknown figure format"):
        save(fig, tmp_path / "c.jpg")
    with pytest.raises(ConfigError, match="no such scores"):
        lead_time_curves(table, "temperature", "rmse")


def test_scorecard_greys_cells_that_are_not_significant(tmp_path):
    table = results_table()
    significant = {("mine", "geopotential", 500.0, 24.0): False}
    fig = scorecard(table, "persistence", "rmse", significant=significant)
    shown = fig.axes[0].images[1].get_array()
    assert np.ma.is_masked(shown[0, 0]) and shown[0, 1] == pytest.approx(-10)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["21.6", "64.8", "108"]  # the absolute values
    save(fig, tmp_path / "s.png")


def test_error_map_coastlines_from_the_mask_or_offline_files(tmp_path):
    lat = np.linspace(-87.5, 87.5, 36)
    lon = np.arange(0, 360, 5.0)
    values = np.sin(np.deg2rad(lon))[None, :] * np.cos(np.deg2rad(lat))[:, None]
    mask = (values > 0.3).astype(float)
    fig = error_map(values, lat, lon, land_sea_mask=mask, units="K")
    assert len(fig.axes[0].collections) == 2  # the field and the mask's 0.5 contour
    assert "land-sea mask" in fig.axes[0].get_xlabel()
    save(fig, tmp_path / "m.svg")
    coasts = offline_coastlines()
    assert coasts is not None, "Debian's python-cartopy-data provides the GSHHS shoreline"
    assert all(((c[:, 0] >= 0) & (c[:, 0] < 360)).all() for c in coasts)
    world = error_map(values, lat, lon)
    assert "GSHHS" in world.axes[0].get_xlabel() and len(world.axes[0].get_lines()) == len(coasts)


def test_map_png_size_colours_and_coastline(tmp_path):
    from matplotlib.image import imread

    values = np.zeros((4, 8))
    values[0, 0] = 1.0  # south-west corner, drawn at the bottom left
    mask = np.zeros((4, 8))
    mask[:, 4:] = 1
    path = map_png(
        values, tmp_path / "m.png", limit=symmetric_limit(values), land_sea_mask=mask, width=16
    )
    image = imread(path)
    assert image.shape[:2] == (8, 16)  # 2x upscaled
    assert tuple(image[-1, 0, :3]) != tuple(image[0, 0, :3])  # the +1 cell is coloured
    assert (image[:, 7, :3] == 0).all()  # the coastline column between sea and land


def test_spectra_and_rank_histogram(tmp_path):
    k = np.arange(16)
    fig = spectra(1 / (1 + k) ** 2, {"model": 0.5 / (1 + k) ** 2})
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["truth", "model"]
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 15  # k = 0 left out
    rng = np.random.default_rng(1)
    members = xr.DataArray(rng.normal(size=(4, 1000)), dims=("member", "time"))
    above = xr.DataArray(np.full(1000, 10.0), dims="time")
    assert rank_counts(members, above).tolist() == [0, 0, 0, 0, 1000]
    calibrated = xr.DataArray(rng.normal(size=1000), dims="time")
    counts = rank_counts(members, calibrated)
    assert counts.sum() == 1000 and counts.min() > 120  # about 200 each
    save(rank_histogram(members, calibrated), tmp_path / "r.png")
    with pytest.raises(SchemaError, match="member dimension"):
        rank_counts(calibrated, calibrated)
