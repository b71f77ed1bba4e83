"""downscaling/era5-land-quebec end to end on the real ERA5-Land file: the pinned source,
the units override, conservative coarsening checked against an independent area-weighted
block mean, and the reference baselines scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from climbench.errors import DataFileError
from climbench.evaluation import evaluate
from climbench.tasks import downscaling as ds_tasks
from climbench.tasks import get_task

SOURCE = Path(__file__).resolve().parents[1] / (
    "../shared/data/hydrologie+xhydro-testdata/data/precip_oi/ERA5_land_3_variables_raw_subset.nc"
)
pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason="shared ERA5-Land file not present")


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    t = get_task("downscaling/era5-land-quebec", tmp_path_factory.mktemp("quebec"))
    t.prepare_data([SOURCE])
    return t


def test_prepared_grids_units_and_conservative_coarsening(task) -> None:
    fine, coarse = ds_tasks.fine(task), ds_tasks.coarse(task)
    assert dict(fine.sizes) == {"time": 365, "lat": 30, "lon": 30}
    assert (coarse.sizes["lat"], coarse.sizes["lon"]) == (6, 6)
    tmax, tmin = fine["maximum_2m_temperature"], fine["minimum_2m_temperature"]
    assert tmax.attrs["units"] == "K" and tmin.attrs["units"] == "K"  # degC in the file
    july = tmax.sel(time="1970-07").mean()
    january = tmax.sel(time="1970-01").mean()
    assert 295 < float(july) < 305 and 255 < float(january) < 270  # southern Quebec
    assert bool((tmax >= tmin - 1e-3).all())
    # each coarse cell is the area-weighted mean of its 5 x 5 fine cells
    w = np.cos(np.deg2rad(fine["lat"].values))[:, None] * np.ones(30)[None, :]
    values = tmax.values.reshape(365, 6, 5, 6, 5)
    wb = w.reshape(6, 5, 6, 5)
    expected = (values * wb).sum(axis=(2, 4)) / wb.sum(axis=(1, 3))
    assert np.abs(coarse["maximum_2m_temperature"].values - expected).max() < 2e-3  # K


def test_reference_baselines_scored(task) -> None:
    table = evaluate(None, task, resamples=50).table
    rmse = table[(table.metric == "rmse") & (table.region == "global")]

    def score(model: str, variable: str) -> float:
        row = rmse[(rmse.model == model) & (rmse.variable == variable)]
        return float(row.value.iloc[0])

    assert set(rmse.model) == {"bilinear", "conservative", "ridge"}
    assert (rmse.n_samples == 77).all()  # 16 October - 31 December
    for variable in ("maximum_2m_temperature", "minimum_2m_temperature"):
        # smooth interpolation beats blocky cells; the ridge learns the local correction
        assert score("bilinear", variable) < score("conservative", variable) < 2.0
        assert score("ridge", variable) < score("conservative", variable)
    assert score("bilinear", "total_precipitation") < 2e-3  # m per day
    assert "quantile_error_99" in set(table.metric)


def test_another_file_is_refused(tmp_path) -> None:
    other = tmp_path / SOURCE.name
    data = bytearray(SOURCE.read_bytes())
    data[-1] ^= 1
    other.write_bytes(bytes(data))
    task = get_task("downscaling/era5-land-quebec", tmp_path / "data")
    with pytest.raises(DataFileError, match="sha256"):
        task.prepare_data([other])
