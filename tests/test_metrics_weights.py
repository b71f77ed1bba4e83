"""Area weights, regions and masks: golden values and edge cases."""

import numpy as np
import pytest
import xarray as xr

from climbench.data.grids import get_grid
from climbench.errors import ClimbenchError, CoordinateError, DataValueError
from climbench.metrics import (
    REGIONS,
    Region,
    area_mean,
    area_weights,
    land_mask,
    latitude_weights,
    nan_mask,
    ocean_mask,
    region_mask,
)


def test_latitude_weights_golden():
    w = latitude_weights(np.array([-75.0, -45, -15, 15, 45, 75]))
    np.testing.assert_allclose(w.values, [0.40192, 1.09808, 1.5, 1.5, 1.09808, 0.40192], atol=5e-6)
    assert w.dims == ("lat",)


def test_weights_equal_cos_without_poles_and_positive_pole_rows():
    g = get_grid("5.625")
    cos = np.cos(np.deg2rad(g.lat))
    np.testing.assert_allclose(latitude_weights(g.lat).values, cos / cos.mean(), rtol=1e-3)
    w = latitude_weights(get_grid("1.5").lat).values
    assert 0 < w[0] < w[1] / 1.9 and w[0] == w[-1]
    assert np.isclose(w.mean(), 1.0)


def test_regions_tropics_and_extratropics_partition_the_globe():
    g = get_grid("5.625")
    tropics = region_mask("tropics", g.lat, g.lon)
    extra = region_mask("extratropics", g.lat, g.lon)
    assert not (tropics & extra).any() and (tropics | extra).all()
    assert (
        region_mask("northern-extratropics", g.lat, g.lon)
        | region_mask("southern-extratropics", g.lat, g.lon)
        == extra
    ).all()
    lat_t = g.lat[tropics.any(axis=1)]
    assert lat_t.min() >= -20 and lat_t.max() <= 20
    assert region_mask("arctic", g.lat, g.lon)[g.lat >= 60].all()
    assert not region_mask("antarctic", g.lat, g.lon)[g.lat > -60].any()


def test_box_wraps_through_greenwich():
    lon = np.arange(0, 360, 10.0)
    lat = np.array([50.0])
    europe = region_mask("europe", lat, lon)[0]
    assert set(lon[europe]) == {0.0, 10, 20, 30, 40, 350}
    na = region_mask(REGIONS["north-america"], lat, lon)[0]
    assert set(lon[na]) == {240.0, 250, 260, 270, 280}
    same = region_mask(Region("x", 40, 60, 350, 40), lat, lon)[0]
    assert (same == europe).all()


def test_box_region_over_nan_and_inf_cells_excludes_them():
    lat = np.array([-30.0, 0.0, 30.0])
    lon = np.array([0.0, 90, 180, 270])
    data = np.array([[1.0, 2, 3, 4], [5, np.nan, 7, np.inf], [9, 10, 11, 12]])
    field = xr.DataArray(data, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    box = Region("box", -10, 10, 80, 300)  # the equator row at 90, 180, 270
    assert float(area_mean(field, region=box)) == 7.0
    # NaN-masked global mean equals the weighted mean of the finite cells only
    w = latitude_weights(lat).values[:, None] * np.ones((1, 4))
    ok = np.isfinite(data)
    expected = (w * np.where(ok, data, 0)).sum() / (w * ok).sum()
    assert np.isclose(float(area_mean(field)), expected)


def test_masks_land_ocean_nan_and_fractional():
    lat = np.array([-45.0, 45.0])
    lon = np.array([0.0, 180.0])
    lsm = xr.DataArray(
        [[1.0, 0.2], [0.0, 0.7]], dims=("lat", "lon"), coords={"lat": lat, "lon": lon}
    )
    field = xr.DataArray(
        [[1.0, 2.0], [3.0, 4.0]], dims=("lat", "lon"), coords={"lat": lat, "lon": lon}
    )
    assert float(area_mean(field, mask=land_mask(lsm))) == 2.5
    assert float(area_mean(field, mask=ocean_mask(lsm))) == 2.5
    frac = float(area_mean(field, mask=lsm))
    assert np.isclose(frac, (1 * 1.0 + 2 * 0.2 + 4 * 0.7) / 1.9)
    assert nan_mask(field.where(field > 1)).values.tolist() == [[False, True], [True, True]]
    assert area_weights(lat, lon, mask=land_mask(lsm)).values.tolist() == [[1, 0], [0, 1]]


def test_bad_regions_and_masks_raise_climbench_errors():
    g = get_grid("5.625")
    with pytest.raises(CoordinateError, match="unknown region"):
        region_mask("atlantis", g.lat, g.lon)
    with pytest.raises(DataValueError, match="no grid cell"):
        area_weights(g.lat, g.lon, Region("empty", 89.9, 90))
    with pytest.raises(ClimbenchError, match="mask"):
        area_weights(g.lat, g.lon, mask=np.ones((3, 3)))
