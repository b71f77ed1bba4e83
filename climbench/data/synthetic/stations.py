"""Synthetic hourly station observations sampled from the synthetic weather.

Stations sit at fixed, seeded positions inside a box (Europe by default) and observe the
fields of :class:`~climbench.data.synthetic.weather.WeatherModel` hourly:

- the model's latent anomaly fields are interpolated linearly in time from its 6-hourly
  steps to every hour and the physical fields derived from them at the hourly times, so
  the diurnal cycle is that of the weather model's equations, not an interpolation of it;
- each field is interpolated bilinearly to the stations
  (:func:`climbench.data.regrid_curvilinear.regular_to_points_matrix`); a station's
  ``elevation`` is the model orography there;
- ``surface_pressure`` is the mean sea-level pressure reduced to the station's height with
  the hypsometric equation, ``p = msl exp(-g z / (R_d T_m))``, layer-mean temperature
  ``T_m = T_2m + 0.0065 z / 2`` (standard lapse rate);
- ``10m_wind_speed`` is the speed of the interpolated 10 m wind vector.

Observation errors: Gaussian noise (:data:`NOISE`, in the variables' SI units; wind speed
kept non-negative). Missing values: every value is lost independently with probability
``missing``, and every station has outages (about ``outages_per_year`` per year, each 6 to
120 hours, all variables missing), as real station networks do. All randomness is seeded
from ``seed``; the same arguments give the same bytes.

The synthetic weather has no humidity, so no humidity is observed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from climbench.data import vocabulary
from climbench.data.regrid_curvilinear import regular_to_points_matrix
from climbench.data.stations import normalise, station_coords
from climbench.data.synthetic.metadata import check_seed, synthetic_attrs
from climbench.data.synthetic.weather import DT_HOURS, R_DRY, WeatherModel

STREAM_STATIONS = 7
GRAVITY = 9.80665
LAPSE_RATE = 0.0065  # K m-1
#: observation noise standard deviation per variable (SI units)
NOISE = {"2m_temperature": 0.3, "surface_pressure": 30.0, "10m_wind_speed": 0.5}
VARIABLES = tuple(NOISE)
#: 6-hourly steps of latent fields turned into hourly fields at a time (bounded memory)
_PAIRS = 128
#: (lat_min, lat_max, lon_min, lon_max) degrees: Europe
EUROPE = (36.0, 62.0, -10.0, 28.0)


def station_positions(
    n: int, seed: int, box: Sequence[float] = EUROPE
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded station positions ``(lat, lon)`` uniform in area inside ``box``."""
    rng = np.random.default_rng([seed, STREAM_STATIONS, 0])
    lat0, lat1, lon0, lon1 = map(float, box)
    s = rng.uniform(np.sin(np.deg2rad(lat0)), np.sin(np.deg2rad(lat1)), n)
    lon = rng.uniform(lon0, lon1, n) % 360.0
    return np.rad2deg(np.arcsin(s)), lon


def _hourly(model: WeatherModel):
    """Yield ``(hourly times, dyn, thermal, local)`` latent grids, every hour of the model's
    period (the last 6-hourly step ends it), in pieces of at most ``_PAIRS`` 6-hour steps."""
    frac = (np.arange(DT_HOURS, dtype=np.float32) / DT_HOURS)[:, None, None, None, None]
    hours = np.arange(DT_HOURS).astype("timedelta64[h]")
    prev, prev_time = None, None
    for index, coefficients in model.iter_latent():
        latent = model.latent.to_grid(coefficients)  # (3, steps, lat, lon)
        times = model.times[model.block_slice(index)]
        if prev is not None:
            latent = np.concatenate([prev, latent], axis=1)
            times = np.concatenate([prev_time, times])
        for a in range(0, times.size - 1, _PAIRS):
            b = min(a + _PAIRS, times.size - 1)
            lo, hi = latent[:, a:b], latent[:, a + 1 : b + 1]
            mixed = (1 - frac) * lo[None] + frac * hi[None]  # (hour, 3, pair, lat, lon)
            mixed = mixed.transpose(1, 2, 0, 3, 4).reshape(3, -1, *lo.shape[-2:])
            stamp = (times[a:b, None] + hours[None, :]).ravel()
            yield stamp, mixed[0], mixed[1], mixed[2]
        prev, prev_time = latent[:, -1:], times[-1:]
    yield prev_time, prev[0], prev[1], prev[2]


def station_weather(
    years: str | tuple[int, int] = (2016, 2018),
    seed: int = 0,
    n_stations: int = 30,
    *,
    grid: str | float = "5.625",
    missing: float = 0.02,
    outages_per_year: float = 2.0,
    box: Sequence[float] = EUROPE,
) -> xr.Dataset:
    """Hourly synthetic observations at ``n_stations`` stations (see the module docstring).

    Returns a canonical station dataset (:mod:`climbench.data.stations`): dims
    ``time, station``, variables :data:`VARIABLES` in SI units, NaN where missing.
    """
    seed = check_seed(seed)
    model = WeatherModel(grid, years, seed)
    lat, lon = station_positions(n_stations, seed, box)
    weights = regular_to_points_matrix(model.grid, lat, lon)
    elevation = weights @ model.geography.orography.astype(np.float64).ravel()

    def at_stations(field: np.ndarray) -> np.ndarray:
        return (weights @ field.reshape(field.shape[0], -1).T).T

    parts: dict[str, list[np.ndarray]] = {v: [] for v in VARIABLES}
    stamps = []
    for times, dyn, thermal, local in _hourly(model):
        fields = model.derive(times, dyn, thermal, local)
        t2m = at_stations(fields["2m_temperature"])
        msl = at_stations(fields["mean_sea_level_pressure"])
        u = at_stations(fields["10m_u_component_of_wind"])
        v = at_stations(fields["10m_v_component_of_wind"])
        mean_t = t2m + LAPSE_RATE * elevation / 2
        parts["2m_temperature"].append(t2m)
        parts["surface_pressure"].append(msl * np.exp(-GRAVITY * elevation / (R_DRY * mean_t)))
        parts["10m_wind_speed"].append(np.hypot(u, v))
        stamps.append(times)
    time = np.concatenate(stamps)
    values = {k: np.concatenate(v) for k, v in parts.items()}
    _observe(values, time, seed, missing, outages_per_year)
    ids = np.array([f"S{k + 1:03d}" for k in range(n_stations)])
    data = {
        name: xr.DataArray(
            values[name].astype(np.float32),
            dims=("time", "station"),
            attrs={
                "units": vocabulary.BY_NAME[name].units,
                "long_name": vocabulary.BY_NAME[name].long_name,
            },
        )
        for name in VARIABLES
    }
    first, last = model.years
    ds = xr.Dataset(data, coords={"time": time}).assign_coords(
        station_coords(ids, lat, lon, elevation, np.char.add("synthetic station ", ids))
    )
    ds.attrs.update(
        synthetic_attrs(
            "stations",
            seed,
            grid=model.grid.name,
            years=f"{first}-{last}",
            stations=n_stations,
            time_step="1h",
        )
    )
    return normalise(ds, None)


def _observe(
    values: dict[str, np.ndarray],
    time: np.ndarray,
    seed: int,
    missing: float,
    outages_per_year: float,
) -> None:
    """Add observation noise and knock out values (random losses and outages), in place."""
    rng = np.random.default_rng([seed, STREAM_STATIONS, 1])
    ntime, nstation = next(iter(values.values())).shape
    for name in VARIABLES:
        noisy = values[name] + rng.normal(0.0, NOISE[name], (ntime, nstation))
        values[name] = np.maximum(noisy, 0.0) if name == "10m_wind_speed" else noisy
    down = np.zeros((ntime, nstation), dtype=bool)
    years = (time[-1] - time[0]) / np.timedelta64(365, "D")
    for station in range(nstation):
        for _ in range(rng.poisson(outages_per_year * years)):
            start = rng.integers(0, ntime)
            down[start : start + rng.integers(6, 121), station] = True
    for name in VARIABLES:
        lost = down | (rng.random((ntime, nstation)) < missing)
        values[name][lost] = np.nan
