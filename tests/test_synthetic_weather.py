"""The synthetic weather generator: schema, reproducibility, and the statistics it promises.

The statistics are checked on two years at 5.625 degrees, and compared with real ERA5 and
ERA-Interim files from ``../shared/data``: zonal spectra of z500 and the decorrelation time
of 2 m temperature anomalies.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import climbench
from climbench.data.grids import cell_area_weights
from climbench.data.schema import validate
from climbench.data.synthetic import GENERATOR_VERSION, weather, write_weather
from climbench.errors import RegridError, StoreError, TimeAxisError, VariableNotFoundError

STEPS_PER_DAY = 4


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return weather(grid="5.625", years="2000-2001", seed=7).compute()


def zonal_slope(field: np.ndarray, lat: np.ndarray, kmin: int = 3, kmax: int = 15) -> float:
    """Log-log slope of the zonal power spectrum, averaged over time and 30-60 degrees."""
    band = (np.abs(lat) >= 30) & (np.abs(lat) <= 60)
    power = np.abs(np.fft.rfft(field[..., band, :], axis=-1)) ** 2
    spectrum = power.reshape(-1, power.shape[-1]).mean(axis=0)
    k = np.arange(kmin, kmax + 1)
    return float(np.polyfit(np.log(k), np.log(spectrum[k]), 1)[0])


def deseasonalise(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Residual of a per-point regression on annual and diurnal harmonics (time first)."""
    t = (times - times[0]) / np.timedelta64(1, "h")
    year, day = 2 * np.pi * t / (365.25 * 24), 2 * np.pi * t / 24
    design = np.stack(
        [
            np.ones_like(t),
            np.cos(year),
            np.sin(year),
            np.cos(day),
            np.sin(day),
            np.cos(2 * year),
            np.sin(2 * year),
        ],
        axis=1,
    )
    flat = values.reshape(values.shape[0], -1).astype(float)
    coef, *_ = np.linalg.lstsq(design, flat, rcond=None)
    return (flat - design @ coef).reshape(values.shape)


def autocorrelation(anomaly: np.ndarray, lag: int) -> float:
    """Lag-``lag`` correlation of anomalies (time first), pooled over all points."""
    a = anomaly - anomaly.mean(axis=0)
    x, y = a[:-lag].reshape(-1), a[lag:].reshape(-1)
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def efolding_steps(anomaly: np.ndarray, max_lag: int) -> int:
    """First lag at which the autocorrelation falls below 1/e."""
    for lag in range(1, max_lag):
        if autocorrelation(anomaly, lag) < np.exp(-1):
            return lag
    return max_lag


def test_canonical_schema_and_attributes(ds: xr.Dataset) -> None:
    validate(ds)
    assert list(ds.data_vars) == [
        "geopotential",
        "temperature",
        "2m_temperature",
        "10m_u_component_of_wind",
        "10m_v_component_of_wind",
        "mean_sea_level_pressure",
        "total_precipitation_6hr",
        "land_sea_mask",
        "geopotential_at_surface",
    ]
    assert ds["geopotential"].dims == ("time", "level", "lat", "lon")
    assert ds["level"].values.tolist() == [500.0, 850.0]
    assert ds["land_sea_mask"].dims == ("lat", "lon")
    assert ds.sizes["time"] == (366 + 365) * STEPS_PER_DAY
    assert np.all(np.diff(ds["time"].values) == np.timedelta64(6, "h"))
    assert ds.attrs["synthetic"] == 1
    assert ds.attrs["generator_version"] == GENERATOR_VERSION
    assert ds.attrs["seed"] == 7
    for name in ds.data_vars:
        assert np.isfinite(ds[name].values).all(), name


def test_geography_land_fraction_and_orography(ds: xr.Dataset) -> None:
    w = cell_area_weights(ds["lat"].values)[:, None]
    land = ds["land_sea_mask"].values
    assert 0.25 < float((land * w).mean()) < 0.33
    height = ds["geopotential_at_surface"].values / 9.80665
    assert height.min() == 0 and 1000 < height.max() < 8000
    assert np.all(height[land == 0] == 0)


def test_reproducible_bit_for_bit_and_seed_dependent(ds: xr.Dataset, tmp_path) -> None:
    again = weather(grid="5.625", years="2000-2001", seed=7).compute()
    other = weather(grid="5.625", years="2000", seed=8)["2m_temperature"].values
    for name in ds.data_vars:
        assert ds[name].values.tobytes() == again[name].values.tobytes(), name
    assert not np.array_equal(other, ds["2m_temperature"].values[: other.shape[0]])
    store = write_weather(tmp_path / "w.zarr", "5.625", "2000-2001", seed=7, time_chunk=64)
    streamed = xr.open_zarr(store)
    assert streamed.attrs["seed"] == 7
    assert streamed["geopotential"].encoding["chunks"] == (64, 2, 32, 64)
    for name in ds.data_vars:
        assert streamed[name].values.tobytes() == ds[name].values.tobytes(), name
    reopened = climbench.open_dataset(store)
    validate(reopened)
    with pytest.raises(StoreError, match="already exists"):
        write_weather(store, "5.625", "2000", seed=1)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(RegridError, match="no synthetic data on this grid"):
        weather(grid="1.5", years="2000")
    with pytest.raises(TimeAxisError, match="unusable range of years"):
        weather(years="2010-2000")
    with pytest.raises(TimeAxisError, match="cannot read the years"):
        weather(years="last decade")
    with pytest.raises(VariableNotFoundError):
        weather(years="2000", variables=["snow"])
    with pytest.raises(climbench.errors.ClimbenchError, match="seed"):
        weather(years="2000", seed=-1)
    assert list(weather(years="2000", variables=["t2m"]).data_vars) == ["2m_temperature"]


def test_red_spatial_spectrum(ds: xr.Dataset) -> None:
    z500 = ds["geopotential"].sel(level=500).values
    slope = zonal_slope(z500, ds["lat"].values)
    assert -5.0 < slope < -2.0
    t2m_slope = zonal_slope(ds["2m_temperature"].values, ds["lat"].values)
    assert -4.0 < t2m_slope < -0.5


def test_anomalies_decorrelate_over_days(ds: xr.Dataset) -> None:
    anomaly = deseasonalise(ds["geopotential"].sel(level=500).values, ds["time"].values)
    acf = {days: autocorrelation(anomaly, days * STEPS_PER_DAY) for days in (1, 2, 3, 5, 10)}
    assert acf[1] > acf[2] > acf[3] > acf[5] > acf[10]
    # persistence beats climatology (rho > 0.5) at one day, loses to it at ten
    assert acf[1] > 0.6
    assert acf[10] < 0.3
    assert 1 * STEPS_PER_DAY <= efolding_steps(anomaly, 40 * STEPS_PER_DAY) <= 8 * STEPS_PER_DAY


def test_anomalies_move_east_in_midlatitudes(ds: xr.Dataset) -> None:
    lat = ds["lat"].values
    band = (lat > 35) & (lat < 55)
    anomaly = deseasonalise(ds["geopotential"].sel(level=500).values[:, band], ds["time"].values)
    lag = STEPS_PER_DAY

    def corr_shifted(shift: int) -> float:  # anomaly at lon x, day 0 vs lon x + shift, day 1
        later = np.roll(anomaly[lag:], -shift, axis=-1)
        return float(np.corrcoef(anomaly[:-lag].ravel(), later.ravel())[0, 1])

    assert corr_shifted(2) > corr_shifted(0) > corr_shifted(-2)


def test_seasonal_cycle_and_land_sea_contrast(ds: xr.Dataset) -> None:
    t2m = ds["2m_temperature"]
    month = t2m["time"].dt.month
    july = t2m.where(month == 7, drop=True).mean("time")
    january = t2m.where(month == 1, drop=True).mean("time")
    amplitude = (july - january).values
    lat = ds["lat"].values
    land = ds["land_sea_mask"].values
    north = (lat > 40) & (lat < 70)
    south = (lat < -40) & (lat > -60)
    land_north = amplitude[north][land[north] > 0.9]
    sea_north = amplitude[north][land[north] < 0.1]
    assert land_north.mean() > 15
    assert 2 < sea_north.mean() < 8
    assert amplitude[south].mean() < -2
    tropics = np.abs(lat) < 10
    assert np.abs(amplitude[tropics]).mean() < 3
    # diurnal cycle: larger over land
    hours = t2m["time"].dt.hour.values
    diurnal = np.stack([t2m.values[hours == h].mean(axis=0) for h in (0, 6, 12, 18)])
    span = diurnal.max(axis=0) - diurnal.min(axis=0)
    assert span[land > 0.9].mean() > 3 * span[land < 0.1].mean()


def test_precipitation_non_negative_intermittent_and_in_lows(ds: xr.Dataset) -> None:
    precip = ds["total_precipitation_6hr"].values
    assert precip.min() >= 0
    dry = (precip == 0).mean()
    assert 0.4 < dry < 0.9
    wet = precip[precip > 0]
    assert wet.mean() > 1.5 * np.median(wet)  # skewed
    w = cell_area_weights(ds["lat"].values)[:, None]
    mm_per_day = float((precip.mean(axis=0) * w).mean()) * 4 * 1000
    assert 1.5 < mm_per_day < 4.5
    msl = deseasonalise(ds["mean_sea_level_pressure"].values, ds["time"].values)
    lat = ds["lat"].values
    mid = (np.abs(lat) > 35) & (np.abs(lat) < 65)
    r = np.corrcoef(msl[:, mid].ravel(), precip[:, mid].ravel())[0, 1]
    assert r < -0.2


def test_cross_variable_consistency(ds: xr.Dataset) -> None:
    lat = ds["lat"].values
    mid = (lat > 35) & (lat < 65)
    z = ds["geopotential"].values[:, :, mid]
    t = ds["temperature"].values[:, :, mid]
    thickness = z[:, 0] - z[:, 1]  # z500 - z850
    r = np.corrcoef(thickness.ravel(), t[:, 1].ravel())[0, 1]
    assert r > 0.95
    z500 = deseasonalise(z[:, 0], ds["time"].values)
    t850 = deseasonalise(t[:, 1], ds["time"].values)
    assert np.corrcoef(z500.ravel(), t850.ravel())[0, 1] > 0.6
    # 10 m wind: westerly where pressure falls poleward (northern mid-latitudes)
    msl = ds["mean_sea_level_pressure"].values
    dpdy = np.gradient(msl, axis=1)[:, mid]
    u10 = ds["10m_u_component_of_wind"].values[:, mid]
    assert np.corrcoef(dpdy.ravel(), u10.ravel())[0, 1] < -0.8
    speed = np.hypot(u10, ds["10m_v_component_of_wind"].values[:, mid])
    assert 3 < speed.mean() < 15 and speed.max() < 60


# --- comparison with real data --------------------------------------------------------


def test_zonal_spectrum_slope_matches_era_interim(ds: xr.Dataset, shared_file) -> None:
    """ERA-Interim holds monthly means, so the synthetic field is averaged by month too."""
    real = climbench.open_dataset(shared_file("pydata+xarray-data/eraint_uvz.nc"))
    z500 = real["geopotential"].sel(level=500).values
    real_slope = zonal_slope(z500, real["lat"].values)
    monthly = ds["geopotential"].sel(level=500).resample(time="MS").mean()
    synthetic_slope = zonal_slope(monthly.values, ds["lat"].values)
    assert real_slope < -1.5 and synthetic_slope < -1.5
    assert 0.5 < synthetic_slope / real_slope < 2.0


def test_decorrelation_time_matches_era5(ds: xr.Dataset, shared_file) -> None:
    real = climbench.open_dataset(shared_file("pydata+xarray-data/era5-2mt-2019-03-uk.grib"))
    t2m = real["2m_temperature"].values.astype(float)
    hours = real["time"].dt.hour.values
    anomaly = t2m - np.stack([t2m[hours == h].mean(axis=0) for h in hours])
    trend = np.polyfit(np.arange(len(hours)), anomaly.reshape(len(hours), -1), 1)
    anomaly = anomaly - (np.outer(np.arange(len(hours)), trend[0]) + trend[1]).reshape(
        anomaly.shape
    )
    real_days = efolding_steps(anomaly, 15 * 24) / 24
    synthetic = deseasonalise(ds["2m_temperature"].values, ds["time"].values)
    lat = ds["lat"].values
    synthetic_days = (
        efolding_steps(synthetic[:, (lat > 40) & (lat < 65)], 60 * STEPS_PER_DAY) / STEPS_PER_DAY
    )
    for days in (real_days, synthetic_days):
        assert 0.5 <= days <= 15  # days, not hours or months
    assert 1 / 5 < synthetic_days / real_days < 5
