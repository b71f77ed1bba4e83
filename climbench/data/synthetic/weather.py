"""ERA5-like synthetic weather: 6-hourly fields with seasons, days, continents and storms.

Model
-----
Three latent anomaly fields (:mod:`climbench.data.synthetic.fields`), each unit-variance,
red in space and advected east by the mean westerlies while decaying as AR(1):

====================  =======  ====  ==========  ==============================================
latent                gamma    k0    tau (days)  role
====================  =======  ====  ==========  ==============================================
``A`` dynamic         4.6      3     5           pressure systems (highs positive)
``B`` thermal         4.4      3     6           warm / cold air masses
``D`` local           2.5      6     1           small-scale showers and surface noise
====================  =======  ====  ==========  ==============================================

With ``s = sin(lat)``, land fraction ``L`` and orography ``h`` (m) from
:mod:`climbench.data.synthetic.geography`, day of year ``d`` and local solar hour ``H``:

- season ``S = s * (L cos(2 pi (d - 200) / 365.25) + (1 - L) cos(2 pi (d - 225) / 365.25))``
  (peaks in July in the north; the sea lags the land by 25 days);
- ``T850 = 292 - 42 s^2 + (3 + 5 L) S + T'``, ``T' = (1.2 + 3.8 |s|) (0.5 A + 0.87 B)`` (K);
- ``msl = 101325 + 900 g(|lat|; 32, 10) - 1300 g(|lat|; 62, 10) - 400 g(lat; 0, 8)
  - 900 L s cos(2 pi (d - 200) / 365.25) + (300 + 1000 g(|lat|; 55, 25)) A`` (Pa), with
  ``g(x; m, w) = exp(-((x - m) / w)^2)``: subtropical highs, subpolar lows, an equatorial
  trough, winter highs and summer lows over land, storms strongest in mid-latitudes;
- geopotential from the hypsometric equation: ``z1000 = R_d T0 ln(msl / 1000 hPa)``,
  ``z500 = z1000 + R_d ln(1000/500) (T850 - 8)``, ``z850 = z1000 + R_d ln(1000/850)
  (T850 + 5)`` (m2 s-2, ``R_d = 287``, ``T0 = 288``): the thickness follows T850;
  ``T500 = T850 - 26 - 4 s^2``. Both are stored on levels 500 and 850 hPa;
- ``t2m = 299 - 44 s^2 + (2.5 + 11 L) S - 0.0065 h + (0.4 + 5 L) cos(lat) cos(2 pi (H - 15) / 24)
  + (0.8 + 0.5 L) T' - (0.3 + 1.2 L) D`` (K): land-sea contrast in the seasonal and diurnal
  cycles, a standard lapse rate over mountains, cooling under showers;
- 10 m wind: geostrophic wind of ``msl`` (``rho = 1.2``, ``f = 2 Omega sin(lat)`` kept at
  least ``2 Omega sin 12`` in size), reduced by surface friction to ``0.75 - 0.25 L`` of its
  speed and turned ``15 + 15 L`` degrees towards low pressure;
- 6-hour precipitation ``P = 1.9e-3 m * max(W - 0.9 A + D - 1.6, 0)^2`` with the wetness
  ``W = 1.7 g(lat; 7 cos(2 pi (d - 200) / 365.25), 9) + 1.0 g(|lat|; 50, 14)
  - 0.5 g(|lat|; 24, 8) + 0.5 h / 1000 + 0.3 L cos(2 pi (H - 16) / 24)``: a seasonally
  migrating ITCZ, storm tracks, dry subtropics, orographic and afternoon land rain. The
  threshold makes it non-negative and intermittent; it falls in lows (``-A``).

Generation runs in blocks of ``BLOCK_STEPS`` time steps. Block ``i`` draws its noise from
``numpy.random.default_rng([seed, 2, i + 1])`` and starts from the latent state the previous
block ended in (block 0 from a stationary draw with ``default_rng([seed, 2, 0])``), so a
dataset is the same bit for bit however it is computed: streamed to Zarr
(:func:`write_weather`) or lazily through dask (:func:`weather`).
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from climbench.data import vocabulary
from climbench.data.synthetic.fields import EARTH_RADIUS_M, LatentFields, LatentSpec
from climbench.data.synthetic.geography import GRAVITY, Geography, make_geography
from climbench.data.synthetic.metadata import (
    check_seed,
    parse_years,
    synthetic_attrs,
)
from climbench.data.synthetic.store import write_stream
from climbench.errors import VariableNotFoundError

BLOCK_STEPS = 1024
DT_HOURS = 6
STREAM_WEATHER = 2
R_DRY = 287.0
OMEGA = 7.292e-5
LEVELS = (500.0, 850.0)
LEVEL_VARIABLES = ("geopotential", "temperature")
VARIABLES = (
    "geopotential",
    "temperature",
    "2m_temperature",
    "10m_u_component_of_wind",
    "10m_v_component_of_wind",
    "mean_sea_level_pressure",
    "total_precipitation_6hr",
)
CONSTANTS = ("land_sea_mask", "geopotential_at_surface")
LATENTS = (
    LatentSpec("dynamic", gamma=4.6, k0=3.0, tau_days=5.0),
    LatentSpec("thermal", gamma=4.4, k0=3.0, tau_days=6.0),
    LatentSpec("local", gamma=2.5, k0=6.0, tau_days=1.0),
)


def _bump(x: np.ndarray, centre: float | np.ndarray, width: float) -> np.ndarray:
    return np.exp(-(((x - centre) / width) ** 2))


class WeatherModel:
    """The synthetic weather of one (grid, years, seed): geography, latent fields, blocks."""

    def __init__(
        self, grid: str | float = "5.625", years: str | tuple[int, int] = "1979-2018", seed: int = 0
    ) -> None:
        self.seed = check_seed(seed)
        self.years = parse_years(years)
        self.geography: Geography = make_geography(grid, self.seed)
        self.grid = self.geography.grid
        first, last = self.years
        self.times = pd.date_range(
            f"{first}-01-01", f"{last}-12-31T18:00", freq=f"{DT_HOURS}h"
        ).values
        self.latent = LatentFields(LATENTS, self.grid.lat, self.grid.lon.size, DT_HOURS)
        lat = self.grid.lat[:, None]
        self._sin = np.sin(np.deg2rad(lat)).astype(np.float32)
        self._land = self.geography.land.astype(np.float32)
        self._height = self.geography.orography.astype(np.float32)

    @property
    def nblocks(self) -> int:
        return -(-self.times.size // BLOCK_STEPS)

    def block_slice(self, index: int) -> slice:
        return slice(index * BLOCK_STEPS, min((index + 1) * BLOCK_STEPS, self.times.size))

    def initial_state(self) -> np.ndarray:
        return self.latent.initial_state(np.random.default_rng([self.seed, STREAM_WEATHER, 0]))

    def _latent_block(self, index: int, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, STREAM_WEATHER, index + 1])
        sl = self.block_slice(index)
        return self.latent.advance(rng, state, sl.stop - sl.start)

    def advance(self, index: int, state: np.ndarray) -> np.ndarray:
        """The latent state at the end of block ``index`` (no output fields)."""
        return self._latent_block(index, state)[1]

    def block(self, index: int, state: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Fields ``(nsteps, [level,] nlat, nlon)`` float32 of block ``index``, next state."""
        coefficients, state = self._latent_block(index, state)
        return self.render(index, coefficients), state

    def block_fields(self, index: int, state: np.ndarray) -> dict[str, np.ndarray]:
        return self.block(index, state)[0]

    def iter_latent(self) -> Iterator[tuple[int, np.ndarray]]:
        """Stream ``(block index, latent zonal coefficients)``, carrying the latent state."""
        state = self.initial_state()
        for index in range(self.nblocks):
            coefficients, state = self._latent_block(index, state)
            yield index, coefficients

    def render(self, index: int, coefficients: np.ndarray) -> dict[str, np.ndarray]:
        """The physical fields of block ``index`` from its latent coefficients."""
        latent = self.latent.to_grid(coefficients)
        return self.derive(self.times[self.block_slice(index)], *latent)

    def derive(
        self, times: np.ndarray, dyn: np.ndarray, thermal: np.ndarray, local: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The physical fields from the latent ones (equations in the module docstring)."""
        f32 = np.float32
        s, land, height = self._sin, self._land, self._height
        lat = self.grid.lat[:, None].astype(f32)
        year_start = times.astype("datetime64[Y]")
        doy = ((times - year_start) / np.timedelta64(1, "h")).astype(f32) / 24
        hour = ((times - times.astype("datetime64[D]")) / np.timedelta64(1, "h")).astype(f32)
        season_land = np.cos(2 * np.pi * (doy - 200) / 365.25)[:, None, None]
        season_sea = np.cos(2 * np.pi * (doy - 225) / 365.25)[:, None, None]
        season = s * (land * season_land + (1 - land) * season_sea)
        local_hour = (hour[:, None] + self.grid.lon[None, :].astype(f32) / 15) % 24
        diurnal_t = np.cos(2 * np.pi * (local_hour - 15) / 24)[:, None, :]
        diurnal_p = np.cos(2 * np.pi * (local_hour - 16) / 24)[:, None, :]

        t_anom = (1.2 + 3.8 * np.abs(s)) * (0.5 * dyn + 0.87 * thermal)
        t850 = 292 - 42 * s**2 + (3 + 5 * land) * season + t_anom
        alat = np.abs(lat)
        msl_clim = (
            101325 + 900 * _bump(alat, 32, 10) - 1300 * _bump(alat, 62, 10) - 400 * _bump(lat, 0, 8)
        )
        msl = msl_clim - 900 * land * s * season_land + (300 + 1000 * _bump(alat, 55, 25)) * dyn
        z1000 = R_DRY * 288 * np.log(msl / f32(1e5))
        z500 = z1000 + R_DRY * math.log(1000 / 500) * (t850 - 8)
        z850 = z1000 + R_DRY * math.log(1000 / 850) * (t850 + 5)
        t500 = t850 - 26 - 4 * s**2
        t2m = (
            299
            - 44 * s**2
            + (2.5 + 11 * land) * season
            - 0.0065 * height
            + (0.4 + 5 * land) * np.cos(np.deg2rad(lat)) * diurnal_t
            + (0.8 + 0.5 * land) * t_anom
            - (0.3 + 1.2 * land) * local
        )
        u10, v10 = self._surface_wind(msl)
        itcz = 7 * season_land
        wetness = (
            1.7 * _bump(lat, itcz, 9)
            + 1.0 * _bump(alat, 50, 14)
            - 0.5 * _bump(alat, 24, 8)
            + 0.5e-3 * height
            + 0.3 * land * diurnal_p
        )
        precip = 1.9e-3 * np.maximum(wetness - 0.9 * dyn + local - 1.6, 0) ** 2
        out = {
            "geopotential": np.stack([z500, z850], axis=1),
            "temperature": np.stack([t500, t850], axis=1),
            "2m_temperature": t2m,
            "10m_u_component_of_wind": u10,
            "10m_v_component_of_wind": v10,
            "mean_sea_level_pressure": msl,
            "total_precipitation_6hr": precip,
        }
        return {k: np.ascontiguousarray(v, dtype=f32) for k, v in out.items()}

    def _surface_wind(self, msl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lat = np.deg2rad(self.grid.lat).astype(np.float32)
        dlon = math.radians(float(self.grid.lon[1] - self.grid.lon[0]))
        coslat = np.maximum(np.cos(lat), np.float32(np.cos(np.deg2rad(80))))[:, None]
        dpdx = (np.roll(msl, -1, axis=-1) - np.roll(msl, 1, axis=-1)) / (
            2 * dlon * EARTH_RADIUS_M * coslat
        )
        dpdy = np.gradient(msl, lat, axis=-2) / EARTH_RADIUS_M
        sign = np.sign(lat)[:, None]
        coriolis = (
            2
            * OMEGA
            * sign
            * np.maximum(np.abs(np.sin(lat)), np.float32(np.sin(np.deg2rad(12))))[:, None]
        )
        ug = -dpdy / (1.2 * coriolis)
        vg = dpdx / (1.2 * coriolis)
        land = self._land
        speed = 0.75 - 0.25 * land
        turn = np.deg2rad(15 + 15 * land) * sign
        cos_t, sin_t = (
            (speed * np.cos(turn)).astype(np.float32),
            (speed * np.sin(turn)).astype(np.float32),
        )
        return ug * cos_t - vg * sin_t, ug * sin_t + vg * cos_t

    def constants(self) -> dict[str, xr.DataArray]:
        """``land_sea_mask`` and ``geopotential_at_surface`` on the model grid."""
        coords = self.grid.coords()
        return {
            "land_sea_mask": xr.DataArray(
                self.geography.land.astype(np.float32), dims=("lat", "lon"), coords=coords
            ),
            "geopotential_at_surface": xr.DataArray(
                (GRAVITY * self.geography.orography).astype(np.float32),
                dims=("lat", "lon"),
                coords=coords,
            ),
        }

    def attrs(self) -> dict[str, str | int]:
        first, last = self.years
        return synthetic_attrs(
            "weather",
            self.seed,
            grid=self.grid.name,
            years=f"{first}-{last}",
            time_step=f"{DT_HOURS}h",
        )


def _with_attrs(name: str, data: xr.DataArray) -> xr.DataArray:
    var = vocabulary.BY_NAME[name]
    return data.assign_attrs(units=var.units, long_name=var.long_name)


def _select(variables: Sequence[str] | None) -> list[str]:
    if variables is None:
        return list(VARIABLES + CONSTANTS)
    names = [vocabulary.canonical_name(v) for v in variables]
    unknown = [v for v, n in zip(variables, names, strict=True) if n not in VARIABLES + CONSTANTS]
    if unknown:
        raise VariableNotFoundError(
            "no such synthetic weather variable",
            variable=unknown[0],
            expected=", ".join(VARIABLES + CONSTANTS),
            found=repr(unknown[0]),
        )
    return names


def assemble(
    model: WeatherModel,
    fields: dict[str, da.Array | np.ndarray],
    variables: Sequence[str] | None = None,
) -> xr.Dataset:
    """A canonical dataset from per-variable ``(time, lat, lon)`` arrays of ``model``."""
    names = _select(variables)
    coords = {"time": ("time", model.times, {"long_name": "time"}), **model.grid.coords()}
    if set(names) & set(LEVEL_VARIABLES):
        coords["level"] = (
            "level",
            np.array(LEVELS),
            {"units": "hPa", "long_name": "pressure level", "standard_name": "air_pressure"},
        )
    data = {}
    for name in names:
        if name in CONSTANTS:
            data[name] = _with_attrs(name, model.constants()[name])
            continue
        values = fields[name]
        if name in LEVEL_VARIABLES:
            arr = xr.DataArray(values, dims=("time", "level", "lat", "lon"))
        else:
            arr = xr.DataArray(values, dims=("time", "lat", "lon"))
        data[name] = _with_attrs(name, arr)
    return xr.Dataset(data, coords=coords, attrs=model.attrs())


def lazy_fields(model: WeatherModel) -> dict[str, da.Array]:
    """Dask arrays of every time-varying variable, one chunk per generation block.

    The latent state is a chain of cheap tasks (noise and AR recursion only); each block's
    fields depend on the state its block starts from.
    """
    token = dask.base.tokenize(model.grid.name, model.years, model.seed, model.attrs())
    state = dask.delayed(model.initial_state)(dask_key_name=f"synth-state-{token}-0")
    chunks: dict[str, list[da.Array]] = {name: [] for name in VARIABLES}
    shape = model.grid.shape
    for index in range(model.nblocks):
        sl = model.block_slice(index)
        fields = dask.delayed(model.block_fields)(
            index, state, dask_key_name=f"synth-fields-{token}-{index}"
        )
        for name in VARIABLES:
            item = dask.delayed(operator.getitem)(
                fields, name, dask_key_name=f"synth-{name}-{token}-{index}"
            )
            levels = (len(LEVELS),) if name in LEVEL_VARIABLES else ()
            chunks[name].append(
                da.from_delayed(item, (sl.stop - sl.start, *levels, *shape), np.float32)
            )
        state = dask.delayed(model.advance)(
            index, state, dask_key_name=f"synth-state-{token}-{index + 1}"
        )
    return {name: da.concatenate(parts) for name, parts in chunks.items()}


def weather(
    grid: str | float = "5.625",
    years: str | tuple[int, int] = "1979-2018",
    seed: int = 0,
    variables: Sequence[str] | None = None,
) -> xr.Dataset:
    """Synthetic ERA5-like 6-hourly weather as a lazy (dask) canonical dataset.

    Args:
        grid: ``"5.625"``, ``"2.8125"`` or ``"1.40625"``.
        years: ``"1979-2018"``, ``"2000"`` or ``(first, last)``; whole years, 00/06/12/18 UTC.
        seed: non-negative integer; the same seed and generator version give the same bytes.
        variables: keep only these (canonical names or aliases); default: all.

    Chunks are blocks of 1024 time steps; computing a late block runs the (cheap) latent
    chain of all earlier blocks. To write a long dataset use :func:`write_weather`, which
    streams with bounded memory.
    """
    model = WeatherModel(grid, years, seed)
    return assemble(model, lazy_fields(model), variables)


def write_weather(
    out: str | os.PathLike,
    grid: str | float = "5.625",
    years: str | tuple[int, int] = "1979-2018",
    seed: int = 0,
    *,
    overwrite: bool = False,
    time_chunk: int = 32,
    progress: bool = False,
) -> Path:
    """Generate synthetic weather straight into a Zarr store, block by block.

    Memory stays at a few blocks whatever the length; the store is time-chunked
    (``time_chunk`` steps per chunk, which must divide 1024) and appears only when complete.
    """
    model = WeatherModel(grid, years, seed)
    template = assemble(model, lazy_fields(model))
    return write_stream(
        out,
        {"": template},
        model.iter_latent(),
        lambda item: {"": model.render(*item)},
        [model.block_slice(i) for i in range(model.nblocks)],
        chunk=time_chunk,
        block_steps=BLOCK_STEPS,
        overwrite=overwrite,
        progress=progress,
        description="synthetic weather",
    )
