"""The synthetic downscaling pair: the coarse field is the fine one's area mean, and the
fine one holds orography-linked structure that interpolating the coarse one misses."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climbench.data.schema import validate
from climbench.data.synthetic import downscaling_pair, write_downscaling
from climbench.data.synthetic.geography import coarsen
from climbench.errors import RegridError


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[xr.Dataset, xr.Dataset]:
    out = write_downscaling(tmp_path_factory.mktemp("ds") / "pair", years="2001", seed=11)
    return xr.open_zarr(out / "coarse.zarr"), xr.open_zarr(out / "fine.zarr")


def test_grids_schema_and_constants(pair) -> None:
    coarse, fine = pair
    validate(coarse)
    validate(fine)
    assert coarse.sizes["lat"] == 32 and fine.sizes["lat"] == 128
    assert (
        set(coarse.data_vars)
        == set(fine.data_vars)
        == {"2m_temperature", "total_precipitation_6hr", "land_sea_mask", "geopotential_at_surface"}
    )
    assert set(np.unique(fine["land_sea_mask"].values)) == {0.0, 1.0}
    assert coarse.attrs["synthetic"] == fine.attrs["synthetic"] == 1


def test_coarse_is_the_area_mean_of_fine(pair) -> None:
    coarse, fine = pair
    t_fine = fine["2m_temperature"].isel(time=slice(0, 40)).values
    expected = coarsen(t_fine, fine["lat"].values, 4)
    np.testing.assert_allclose(
        coarse["2m_temperature"].isel(time=slice(0, 40)), expected, rtol=1e-6
    )


def test_interpolation_misses_orographic_structure(pair) -> None:
    coarse, fine = pair
    mean_coarse = coarse["2m_temperature"].mean("time")
    mean_fine = fine["2m_temperature"].mean("time")
    interp = mean_coarse.interp(lat=fine["lat"], lon=fine["lon"], method="linear")
    residual = (mean_fine - interp).values
    height = fine["geopotential_at_surface"] / 9.80665
    height_interp = (coarse["geopotential_at_surface"] / 9.80665).interp(
        lat=fine["lat"], lon=fine["lon"], method="linear"
    )
    relief = (height - height_interp).values
    ok = np.isfinite(residual) & np.isfinite(relief)
    assert np.corrcoef(residual[ok], relief[ok])[0, 1] < -0.5  # higher than neighbours: colder
    assert np.sqrt(np.mean(residual[ok] ** 2)) > 0.5  # K: something to learn


def test_lazy_pair_and_bad_coarse_grid() -> None:
    coarse, fine = downscaling_pair(years="2001", seed=11, variables=["t2m"], coarse="2.8125")
    assert coarse.sizes["lat"] == 64 and list(fine.data_vars)[0] == "2m_temperature"
    assert coarse["2m_temperature"].shape == (365 * 4, 64, 128)
    with pytest.raises(RegridError):
        downscaling_pair(coarse="1.40625")
