"""Spectra: golden zonal spectrum, Parseval, spherical harmonics, scalar spectral scores."""

import numpy as np
import pytest
import xarray as xr
from scipy.special import sph_harm_y

from climbench.data.grids import EARTH_RADIUS_M, get_grid
from climbench.errors import CoordinateError
from climbench.metrics import (
    band_spectrum,
    effective_resolution,
    latitude_weights,
    sh_power_spectrum,
    spectral_divergence,
    spectral_ratio,
    zonal_energy_spectrum,
)
from climbench.metrics.spectral import spectral_divergence_array


def _field(values, lat, lon, dims=("lat", "lon")):
    return xr.DataArray(values, dims=dims, coords={"lat": lat, "lon": lon})


def test_zonal_spectrum_golden_equator():
    f = _field([[1.0, 0.0, -1.0, 0.0]], [0.0], [0.0, 90, 180, 270])
    s = zonal_energy_spectrum(f)
    circumference = 2 * np.pi * EARTH_RADIUS_M
    np.testing.assert_allclose(s.isel(lat=0).values, [0, circumference / 2, 0], atol=1e-6)
    assert np.isclose(float(s["wavelength"].isel(lat=0, zonal_wavenumber=1)), circumference)


@pytest.mark.parametrize("nlon", [16, 15])
def test_zonal_spectrum_parseval_on_random_fields(nlon):
    rng = np.random.default_rng(nlon)
    lat = np.array([-60.0, 0.0, 45.0])
    lon = np.arange(nlon) * 360 / nlon
    f = _field(rng.normal(size=(5, 3, nlon)), lat, lon, ("time", "lat", "lon"))
    s = zonal_energy_spectrum(f)
    circumference = 2 * np.pi * EARTH_RADIUS_M * np.cos(np.deg2rad(lat))
    np.testing.assert_allclose(
        (s / xr.DataArray(circumference, dims="lat")).sum("zonal_wavenumber").values,
        (f**2).mean("lon").values,
        rtol=1e-12,
    )


def test_band_spectrum_common_axis_and_real_field_parseval():
    grid = get_grid("5.625")
    rng = np.random.default_rng(0)
    f = _field(rng.normal(size=(2, *grid.shape)), grid.lat, grid.lon, ("time", "lat", "lon"))
    band = band_spectrum(zonal_energy_spectrum(f), -20, 20)
    assert band.dims == ("time", "wavelength")
    assert np.all(np.diff(band["wavelength"].values) < 0)
    assert np.isfinite(band.values).all() and (band.values > 0).all()
    # a band holding one latitude row reproduces that row's spectrum (k >= 1)
    spec = zonal_energy_spectrum(f)
    one = band_spectrum(spec, 2, 3)
    row = spec.sel(lat=grid.lat[16]).isel(zonal_wavenumber=slice(1, None))
    np.testing.assert_allclose(one.values, row.values, rtol=1e-12)
    # rows whose density is the same function of frequency average to that function
    lat = np.array([0.0, 60.0])
    pair = xr.DataArray(
        np.zeros((2, 5)),
        dims=("lat", "zonal_wavenumber"),
        coords={"lat": lat, "zonal_wavenumber": np.arange(5)},
    )
    c = 2 * np.pi * EARTH_RADIUS_M * np.cos(np.deg2rad(lat))
    freq = xr.DataArray(np.arange(5)[None, :] / c[:, None], dims=pair.dims)
    density = 5.0 + 1e7 * freq  # linear in frequency: interpolation is exact
    pair = density.assign_coords(lat=lat, frequency=freq, wavelength=1 / freq)
    both = band_spectrum(pair, -90, 90, wavelengths=np.array([c[0] / 3]))  # both rows
    assert np.isclose(float(both[0]), 5.0 + 1e7 * 3 / c[0])
    pair[1] *= 3.0  # now the rows differ: the mean is weighted by cell area (1 : 0.5)
    both = band_spectrum(pair, -90, 90, wavelengths=np.array([c[0] / 3]))
    assert np.isclose(float(both[0]), (1 + 0.5 * 3) / 1.5 * (5.0 + 1e7 * 3 / c[0]))


def test_sh_spectrum_recovers_harmonics_with_and_without_poles():
    for name in ("5.625", "3"):
        grid = get_grid(name) if name != "3" else get_grid("lat=-90:90:3,lon=0:357:3")
        colat = np.deg2rad(90 - grid.lat)[:, None]
        lon = np.deg2rad(grid.lon)[None, :]
        f = (
            3.0 * sph_harm_y(4, 0, colat, lon).real
            + 2.0 * np.sqrt(2) * sph_harm_y(7, 3, colat, lon).real
        )
        spec = sh_power_spectrum(_field(f, grid.lat, grid.lon))
        e = spec.values * 4 * np.pi
        np.testing.assert_allclose(e[4], 9.0, rtol=0.02)
        np.testing.assert_allclose(e[7], 4.0, rtol=0.02)
        others = np.delete(e, [4, 7])
        assert others.max() < 0.02 * 4.0
        w = latitude_weights(grid.lat).values[:, None]
        assert np.isclose(spec.sum(), (w * f**2).mean(), rtol=0.03)  # Parseval
    with pytest.raises(CoordinateError, match="full circle"):
        sh_power_spectrum(_field(np.ones((3, 3)), [0.0, 1, 2], [0.0, 1, 2]))


def test_spectral_ratio_and_effective_resolution():
    wl = np.array([8000e3, 4000e3, 2000e3, 1000e3, 500e3])
    truth = xr.DataArray([10.0, 8, 6, 4, 2], dims="wavelength", coords={"wavelength": wl})
    fc = truth * xr.DataArray([1.0, 0.9, 0.6, 0.3, 0.1], dims="wavelength")
    ratio = spectral_ratio(fc, truth, [(3000e3, 9000e3), (400e3, 1500e3)])
    np.testing.assert_allclose(ratio.values, [(10 + 7.2) / 18, (1.2 + 0.2) / 6])
    assert float(effective_resolution(fc, truth, 0.5)) == 2000e3
    assert float(effective_resolution(fc, truth, 0.95)) == 8000e3
    assert np.isnan(float(effective_resolution(fc * 0.1, truth, 0.5)))


def test_spectral_divergence_sees_shape_and_total_variance():
    grid = get_grid("5.625")
    rng = np.random.default_rng(1)
    truth = _field(rng.normal(size=(4, *grid.shape)), grid.lat, grid.lon, ("time", "lat", "lon"))
    assert float(spectral_divergence(truth, truth)) < 1e-12
    scaled = float(spectral_divergence(2 * truth, truth))
    assert np.isclose(scaled, 4 - 1 - np.log(4), rtol=1e-6)  # a^2 - 1 - log a^2
    smooth = truth.rolling(lon=5, center=True, min_periods=1).mean()
    assert float(spectral_divergence(smooth, truth)) > 0.1
    # torch entry point: same value, gradient flows
    import torch

    from climbench.metrics.torch import spectral_divergence as torch_sd

    p = torch.tensor(2 * truth.values, requires_grad=True)
    loss = torch_sd(p, torch.tensor(truth.values), grid.lat)
    loss.backward()
    assert np.isclose(loss.item(), scaled) and torch.isfinite(p.grad).all()
    w = latitude_weights(grid.lat).values
    np.testing.assert_allclose(
        spectral_divergence_array(truth.values * 2, truth.values, w), scaled, rtol=1e-6
    )


def test_real_eraint_spectra_parseval():
    import os
    from pathlib import Path

    root = Path(
        os.environ.get(
            "CLIMBENCH_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
        )
    )
    path = root / "pydata+xarray-data" / "eraint_uvz.nc"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set CLIMBENCH_TEST_DATA)")
    import climbench

    ds = climbench.open_dataset(path)
    u = ds["u_component_of_wind"].isel(month=0, level=0, drop=True).load()
    u = u.isel(lat=slice(None, None, 2), lon=slice(None, None, 2))  # 1.5 degrees, poles
    zonal = zonal_energy_spectrum(u)
    circumference = 2 * np.pi * EARTH_RADIUS_M * np.cos(np.deg2rad(u.lat))
    inner = np.abs(u.lat) < 89
    np.testing.assert_allclose(
        (zonal / circumference).sum("zonal_wavenumber").where(inner, drop=True).values,
        (u**2).mean("lon").where(inner, drop=True).values,
        rtol=1e-10,
    )
    sh = sh_power_spectrum(u)
    w = latitude_weights(u.lat).values[:, None]
    assert np.isclose(float(sh.sum()), float((w * u.values**2).mean()), rtol=0.02)
    peak = sh.isel(total_wavenumber=slice(1, None)).argmax("total_wavenumber")
    assert int(peak) < 10  # the jets: power peaks at planetary scales
