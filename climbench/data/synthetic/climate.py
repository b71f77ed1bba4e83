"""CMIP6 / ClimateBench-like synthetic climate: forcing scenarios and annual-mean responses.

Forcing (ClimateBench inputs, one value per year 1850-2100)
-----------------------------------------------------------
Emission rates follow a smooth historical path to 2014 and, after it, piecewise-linear
anchors at 2014/2030/2050/2070/2100 per scenario (shapes of the SSPs, not their values):

- ``CO2``: cumulative CO2 emissions since 1850 (GtCO2); the rate is ``37 exp((y - 2014)/45)``
  GtCO2/yr to 2014.
- ``CH4``: methane emissions (Mt yr-1), ``60 + 320 ((y - 1850)/164)^2`` to 2014.
- ``SO2``, ``BC``: sulphur dioxide and black carbon emission maps (kg m-2 s-1): a global
  rate (Tg/yr; SO2 peaks near 1980) spread over two source regions, a western one
  (North America, Europe) and an eastern one (East and South Asia) whose share grows
  after 1990, so the aerosol map moves in time.

Scenarios: ``control`` (1850 forcing throughout), ``ssp126``, ``ssp245``, ``ssp370``,
``ssp585`` (historical then SSP-like), ``ghg-only`` (CO2 and CH4 of ssp245, aerosols held
at 1850) and ``aer-only`` (SO2 and BC of ssp245, greenhouse gases held at 1850), the
last two in the spirit of DAMIP's hist-GHG and hist-aer.

Effective radiative forcing (W m-2): ``F_CO2 = 5.35 ln(C / 285)`` with the concentration
``C = 285 + 0.45 CO2 / 7.8`` ppm (airborne fraction 0.45, 7.8 GtCO2 per ppm);
``F_CH4 = 0.0018 (E_CH4 - 60)``; ``F_SO2 = -0.011 (E_SO2 - 2)``; ``F_BC = 0.05 (E_BC - 1)``.

Global temperature: two-layer energy balance model (Held et al. 2010; Geoffroy et al. 2013)

    C   dT/dt   = F - lambda T - gamma (T - T_D)
    C_D dT_D/dt = gamma (T - T_D)

with ``C = 8``, ``C_D = 100`` W yr m-2 K-1, ``lambda = 1.2``, ``gamma = 0.7`` W m-2 K-1
(equilibrium sensitivity 3.7 / 1.2 = 3.1 K, transient response near 2 K), stepped yearly.
It is run separately for the greenhouse (``F_CO2 + F_CH4``) and aerosol (``F_SO2 + F_BC``)
forcing, giving ``T_g(t)`` and ``T_a(t)``.

Local annual means (``s = sin(lat)``, land fraction ``L``, orography ``h`` in m):

- ``tas = 299 - 44 s^2 - 0.0065 h + T_g P_g + T_a P_a(t) + N_T``; the greenhouse pattern
  ``P_g`` is polar- (``1.5 s^4``, stronger in the north) and land-amplified (``0.5 L``), the
  aerosol pattern ``P_a(t)`` follows the smoothed emission map plus a northern-hemisphere
  term: it is not a multiple of ``P_g``, and it moves with the emissions. Both have area
  mean 1, so the global mean of tas follows the energy balance model.
- ``dtr = 3 + 9 L - 2 s^2 - 0.15 L T_g P_g + 0.6 L T_a P_a - 0.3 L N_P`` (aerosol dimming
  and greenhouse warming both narrow the daily range over land; wet years too).
- ``pr = pr0 (1 + 0.02 T_g W + T_a (0.03 + 0.15 (g(lat; 10, 8) - g(lat; -5, 8))))
  (1 + 0.08 N_P)``: hydrological sensitivity of 2 %/K, amplified where it is wet (``W``),
  and a southward ITCZ shift under northern aerosol cooling. ``pr0`` is the wetness
  climatology of the weather generator (ITCZ, storm tracks, dry subtropics, orographic).
- ``pr90 = pr (2.5 + 1.5 exp(-pr0 / 2 mm d-1)) (1 + 0.04 (T_g P_g + T_a P_a)) (1 + 0.12
  N_P)``: heavy daily rain is more skewed where it is dry and rises with local warming
  faster than the mean.

Internal variability ``N_T`` (K) and ``N_P`` (unitless): per member, unit-variance red
spatial noise (``gamma = 3``) that is AR(1) in time (year-to-year correlation about 0.5),
times ``0.25 + 0.5 L + 0.6 s^2`` for temperature. Member ``m`` of scenario ``k`` draws
from ``numpy.random.default_rng([seed, 3, k, m])``; the output is bit-for-bit
reproducible. Dims: ``scenario, time, member, lat, lon`` (forcing maps
``scenario, time, lat, lon``; global forcing ``scenario, time``). Time stamps mark the
start of each year.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from climbench.data import vocabulary
from climbench.data.grids import cell_area_weights
from climbench.data.synthetic.fields import LatentFields, LatentSpec
from climbench.data.synthetic.geography import Geography, make_geography
from climbench.data.synthetic.metadata import check_seed, parse_years, synthetic_attrs
from climbench.data.synthetic.store import write_stream
from climbench.errors import ClimbenchError

SCENARIOS = ("control", "ssp126", "ssp245", "ssp370", "ssp585", "ghg-only", "aer-only")
FIRST_YEAR, BRANCH_YEAR, LAST_YEAR = 1850, 2014, 2100
STREAM_CLIMATE = 3
SECONDS_PER_YEAR = 365.25 * 86400
EARTH_AREA_M2 = 4 * math.pi * 6_371_000.0**2
ANCHOR_YEARS = (2014, 2030, 2050, 2070, 2100)
# emission rates at ANCHOR_YEARS: CO2 GtCO2/yr, CH4 Mt/yr, SO2 and BC Tg/yr
ANCHORS = {
    "ssp126": {
        "CO2": (37, 25, 8, -2, -8),
        "CH4": (380, 250, 180, 150, 140),
        "SO2": (101, 60, 30, 15, 10),
        "BC": (7.5, 5, 3, 2, 1.5),
    },
    "ssp245": {
        "CO2": (37, 42, 40, 28, 10),
        "CH4": (380, 390, 360, 300, 220),
        "SO2": (101, 80, 55, 40, 30),
        "BC": (7.5, 6.5, 5, 4, 3),
    },
    "ssp370": {
        "CO2": (37, 52, 62, 72, 83),
        "CH4": (380, 450, 550, 650, 750),
        "SO2": (101, 110, 115, 110, 100),
        "BC": (7.5, 8, 8.5, 8.5, 8),
    },
    "ssp585": {
        "CO2": (37, 55, 80, 105, 125),
        "CH4": (380, 480, 600, 700, 800),
        "SO2": (101, 70, 45, 30, 25),
        "BC": (7.5, 6, 4.5, 3.5, 3),
    },
}
SINGLE_FORCING = {"ghg-only": ("CO2", "CH4"), "aer-only": ("SO2", "BC")}
# (lat, lon, weight) of aerosol source regions
WEST_SOURCES = ((42.0, 275.0, 1.0), (50.0, 10.0, 1.0))
EAST_SOURCES = ((32.0, 112.0, 1.3), (23.0, 80.0, 0.8))
NOISE = (
    LatentSpec("temperature", gamma=3.0, k0=3.0, tau_days=1.44 * 365.25, advected=False),
    LatentSpec("precipitation", gamma=3.0, k0=4.0, tau_days=0.7 * 365.25, advected=False),
)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((x - centre) / width) ** 2))


def historical_emissions(years: np.ndarray) -> dict[str, np.ndarray]:
    """Emission rates of the historical period (see the module docstring)."""
    y = years.astype(float)
    return {
        "CO2": 37.0 * np.exp((y - 2014) / 45),
        "CH4": 60.0 + 320.0 * ((y - 1850) / 164) ** 2,
        "SO2": 2.0 + 120.0 * _logistic((y - 1950) / 15) - 20.0 * np.maximum(0, (y - 1985) / 30),
        "BC": 1.0 + 6.6 * _logistic((y - 1950) / 25),
    }


def emissions(scenario: str, years: np.ndarray) -> dict[str, np.ndarray]:
    """Emission rates per year of ``scenario``: CO2 (GtCO2/yr), CH4 (Mt/yr), SO2, BC (Tg/yr)."""
    hist = historical_emissions(np.minimum(years, BRANCH_YEAR))
    base = historical_emissions(np.full_like(years, FIRST_YEAR))
    base["CO2"] = np.zeros(years.size)
    if scenario == "control":
        return base
    path = "ssp245" if scenario in SINGLE_FORCING else scenario
    out = {}
    for name in ("CO2", "CH4", "SO2", "BC"):
        future = np.interp(years, ANCHOR_YEARS, ANCHORS[path][name])
        series = np.where(years <= BRANCH_YEAR, hist[name], future)
        active = SINGLE_FORCING.get(scenario, ("CO2", "CH4", "SO2", "BC"))
        out[name] = series if name in active else base[name]
    return out


def effective_forcing(rates: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Greenhouse and aerosol effective radiative forcing (W m-2) from emission rates."""
    cumulative = np.cumsum(rates["CO2"])
    concentration = 285.0 + 0.45 * cumulative / 7.8
    ghg = 5.35 * np.log(concentration / 285.0) + 0.0018 * (rates["CH4"] - 60.0)
    aer = -0.011 * (rates["SO2"] - 2.0) + 0.05 * (rates["BC"] - 1.0)
    return ghg, aer


def two_layer_ebm(
    forcing: np.ndarray,
    *,
    heat_capacity: float = 8.0,
    deep_heat_capacity: float = 100.0,
    feedback: float = 1.2,
    exchange: float = 0.7,
    dt_years: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Surface and deep-ocean temperature anomalies (K) of the two-layer energy balance model.

    ``forcing`` is one value (W m-2) per step; the state starts at zero. Returns the
    temperatures at the end of each step.
    """
    surface = np.empty(len(forcing))
    deep = np.empty(len(forcing))
    t, td = 0.0, 0.0
    for i, f in enumerate(np.asarray(forcing, dtype=float)):
        flux = exchange * (t - td)
        t += dt_years * (f - feedback * t - flux) / heat_capacity
        td += dt_years * flux / deep_heat_capacity
        surface[i], deep[i] = t, td
    return surface, deep


class ClimateModel:
    """The synthetic climate of one (grid, years, members, scenarios, seed)."""

    def __init__(
        self,
        grid: str | float = "5.625",
        years: str | tuple[int, int] = "1850-2100",
        members: int = 3,
        scenarios: Sequence[str] = SCENARIOS,
        seed: int = 0,
    ) -> None:
        self.seed = check_seed(seed)
        self.years = parse_years(years, FIRST_YEAR, LAST_YEAR)
        unknown = [s for s in scenarios if s not in SCENARIOS]
        if unknown or not scenarios:
            raise ClimbenchError(
                "unknown scenario",
                expected=", ".join(SCENARIOS),
                found=repr(unknown[0] if unknown else list(scenarios)),
            )
        if members < 1:
            raise ClimbenchError(
                "unusable number of members", expected="at least 1", found=str(members)
            )
        self.members = members
        self.scenarios = tuple(scenarios)
        self.geography: Geography = make_geography(grid, self.seed)
        self.grid = self.geography.grid
        self.all_years = np.arange(FIRST_YEAR, self.years[1] + 1)
        self.keep = self.all_years >= self.years[0]
        self.noise = LatentFields(NOISE, self.grid.lat, self.grid.lon.size, 8766.0)
        lat = self.grid.lat[:, None]
        self._s = np.sin(np.deg2rad(lat))
        self._lat = np.broadcast_to(lat, self.grid.shape)
        self._weights = cell_area_weights(self.grid.lat)[:, None]
        land = self.geography.land
        self._ghg_pattern = self._unit_mean(
            1 + 1.5 * self._s**4 * (1 + 0.5 * (lat > 0)) + 0.5 * land
        )
        wet = (
            1.0
            + 5 * _bump(lat, 5, 10)
            + 2.5 * _bump(np.abs(lat), 50, 14)
            - 0.8 * _bump(np.abs(lat), 24, 8)
            + 1e-3 * self.geography.orography
        )
        self._pr0_mm = np.maximum(wet, 0.2) * np.ones(self.grid.shape)
        self._wet_pattern = self._unit_mean(self._pr0_mm)

    def _unit_mean(self, field: np.ndarray) -> np.ndarray:
        """``field`` divided by its area-weighted mean (last two dims lat, lon)."""
        mean = (field * self._weights).mean(axis=(-2, -1), keepdims=True)
        return field / mean

    def _sources(self, years: np.ndarray) -> np.ndarray:
        """Emission maps with area mean 1, ``(year, lat, lon)``: west fades, east grows."""
        lat, lon = self._lat, self.grid.lon[None, :]

        def blobs(sources: tuple) -> np.ndarray:
            total = np.zeros(self.grid.shape)
            for clat, clon, weight in sources:
                dlon = (lon - clon + 180) % 360 - 180
                total += weight * np.exp(-((lat - clat) ** 2 + dlon**2) / (2 * 10.0**2))
            return self._unit_mean(total)

        east_share = 0.2 + 0.7 * _logistic((years - 1990) / 15.0)
        share = east_share[:, None, None]
        return (1 - share) * blobs(WEST_SOURCES) + share * blobs(EAST_SOURCES)

    def forcing(self, scenario: str) -> dict[str, np.ndarray]:
        """Inputs of ``scenario``: CO2, CH4 ``(year,)``; SO2, BC ``(year, lat, lon)``."""
        rates = emissions(scenario, self.all_years)
        maps = self._sources(self.all_years)
        per_m2 = 1e9 / SECONDS_PER_YEAR / EARTH_AREA_M2  # Tg/yr spread evenly -> kg m-2 s-1
        return {
            "CO2": np.cumsum(rates["CO2"]),
            "CH4": rates["CH4"],
            "SO2": rates["SO2"][:, None, None] * per_m2 * maps,
            "BC": rates["BC"][:, None, None] * per_m2 * maps,
        }

    def global_response(self, scenario: str) -> tuple[np.ndarray, np.ndarray]:
        """Global-mean temperature responses ``(T_g, T_a)`` (K) to greenhouse and aerosols."""
        ghg, aer = effective_forcing(emissions(scenario, self.all_years))
        return two_layer_ebm(ghg)[0], two_layer_ebm(aer)[0]

    def aerosol_pattern(self) -> np.ndarray:
        """``P_a(year, lat, lon)``: smoothed emission map plus a northern-hemisphere term."""
        maps = self._sources(self.all_years)
        smooth = np.fft.irfft(
            np.fft.rfft(maps, axis=-1)
            * np.exp(-0.5 * (np.arange(self.grid.lon.size // 2 + 1) / 4.0) ** 2),
            n=self.grid.lon.size,
            axis=-1,
        )
        hemisphere = 0.5 * (1 + np.tanh(self._lat / 15.0))
        return self._unit_mean(0.4 + np.maximum(smooth, 0) + 0.8 * hemisphere)

    def member_noise(self, scenario_index: int, member: int) -> np.ndarray:
        """Internal variability ``(2, year, lat, lon)``: temperature and precipitation."""
        rng = np.random.default_rng([self.seed, STREAM_CLIMATE, scenario_index, member])
        state = self.noise.initial_state(rng)
        coefficients, _ = self.noise.advance(rng, state, self.all_years.size)
        return self.noise.to_grid(coefficients).astype(float)

    def scenario_fields(self, scenario: str) -> dict[str, np.ndarray]:
        """Responses ``(year, member, lat, lon)`` float32 of one scenario (kept years only)."""
        k = self.scenarios.index(scenario)
        t_g, t_a = self.global_response(scenario)
        land, s = self.geography.land, self._s
        warm_g = t_g[:, None, None] * self._ghg_pattern
        warm_a = t_a[:, None, None] * self.aerosol_pattern()
        local = warm_g + warm_a
        base = 299 - 44 * s**2 - 0.0065 * self.geography.orography
        shift = 0.03 + 0.15 * (_bump(self._lat, 10, 8) - _bump(self._lat, -5, 8))
        pr_mean = (self._pr0_mm / 86400) * (
            1 + 0.02 * t_g[:, None, None] * self._wet_pattern + t_a[:, None, None] * shift
        )
        ratio = 2.5 + 1.5 * np.exp(-self._pr0_mm / 2)
        out = {
            n: []
            for n in (
                "2m_temperature",
                "diurnal_temperature_range",
                "mean_total_precipitation_rate",
                "precipitation_90th_percentile",
            )
        }
        for m in range(self.members):
            n_t, n_p = self.member_noise(k, m)
            n_t = n_t * (0.25 + 0.5 * land + 0.6 * s**2)
            pr = np.maximum(pr_mean * (1 + 0.08 * n_p), 0)
            out["2m_temperature"].append(base + local + n_t)
            out["diurnal_temperature_range"].append(
                3
                + 9 * land
                - 2 * s**2
                - 0.15 * land * warm_g
                + 0.6 * land * warm_a
                - 0.3 * land * n_p
            )
            out["mean_total_precipitation_rate"].append(pr)
            out["precipitation_90th_percentile"].append(
                np.maximum(pr * ratio * (1 + 0.04 * local) * (1 + 0.12 * n_p), 0)
            )
        return {name: np.stack(v, axis=1)[self.keep].astype(np.float32) for name, v in out.items()}

    def scenario_block(self, scenario: str) -> dict[str, np.ndarray]:
        """All variables of one scenario with a leading length-1 ``scenario`` axis."""
        fields = self.scenario_fields(scenario)
        forcing = {k: v[self.keep].astype(np.float32) for k, v in self.forcing(scenario).items()}
        return {k: v[None] for k, v in {**forcing, **fields}.items()}

    def attrs(self) -> dict[str, str | int]:
        return synthetic_attrs(
            "climate",
            self.seed,
            grid=self.grid.name,
            years=f"{self.years[0]}-{self.years[1]}",
            time_step="1 year (annual means)",
        )


_FORCING_ATTRS = {
    "CO2": {"units": "GtCO2", "long_name": "Cumulative CO2 emissions since 1850"},
    "CH4": {"units": "Mt yr-1", "long_name": "CH4 emissions"},
    "SO2": {"units": "kg m-2 s-1", "long_name": "SO2 emissions"},
    "BC": {"units": "kg m-2 s-1", "long_name": "Black carbon emissions"},
}


def assemble(model: ClimateModel) -> xr.Dataset:
    """The canonical dataset of ``model``, lazily: one dask chunk per scenario."""
    years = model.all_years[model.keep]
    nyear, (nlat, nlon), nmem = years.size, model.grid.shape, model.members
    shapes = {
        "CO2": (nyear,),
        "CH4": (nyear,),
        "SO2": (nyear, nlat, nlon),
        "BC": (nyear, nlat, nlon),
    }
    for name in (
        "2m_temperature",
        "diurnal_temperature_range",
        "mean_total_precipitation_rate",
        "precipitation_90th_percentile",
    ):
        shapes[name] = (nyear, nmem, nlat, nlon)
    blocks = [dask.delayed(model.scenario_block)(s) for s in model.scenarios]
    data = {}
    for name, shape in shapes.items():
        values = da.concatenate([da.from_delayed(b[name], (1, *shape), np.float32) for b in blocks])
        dims = ("scenario", "time", "member", "lat", "lon")[: len(shape) + 1]
        if len(shape) == 3:
            dims = ("scenario", "time", "lat", "lon")
        var = vocabulary.BY_NAME.get(name)
        attrs = {"units": var.units, "long_name": var.long_name} if var else _FORCING_ATTRS[name]
        data[name] = xr.DataArray(values, dims=dims, attrs=attrs)
    coords = {
        "scenario": ("scenario", np.array(model.scenarios, dtype=object)),
        "time": (
            "time",
            np.array([f"{y}-01-01" for y in years], dtype="datetime64[ns]"),
            {"long_name": "start of the year (annual means)"},
        ),
        "member": ("member", np.arange(nmem), {"long_name": "ensemble member"}),
        **model.grid.coords(),
    }
    return xr.Dataset(data, coords=coords, attrs=model.attrs())


def climate(
    grid: str | float = "5.625",
    years: str | tuple[int, int] = "1850-2100",
    members: int = 3,
    scenarios: Sequence[str] = SCENARIOS,
    seed: int = 0,
) -> xr.Dataset:
    """Synthetic ClimateBench-like annual means as a lazy canonical dataset.

    Args:
        grid: ``"5.625"``, ``"2.8125"`` or ``"1.40625"``.
        years: a range within 1850-2100 (the model always spins up from 1850).
        members: ensemble members per scenario (dim ``member``).
        scenarios: a subset of :data:`SCENARIOS`.
        seed: non-negative integer.

    Variables: forcing inputs ``CO2``, ``CH4``, ``SO2``, ``BC`` and responses
    ``2m_temperature``, ``diurnal_temperature_range``, ``mean_total_precipitation_rate``,
    ``precipitation_90th_percentile`` (dims ``scenario, time, member, lat, lon``).
    """
    return assemble(ClimateModel(grid, years, members, scenarios, seed))


def write_climate(
    out: str | os.PathLike,
    grid: str | float = "5.625",
    years: str | tuple[int, int] = "1850-2100",
    members: int = 3,
    scenarios: Sequence[str] = SCENARIOS,
    seed: int = 0,
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write :func:`climate` to a Zarr store, one scenario (one chunk) at a time."""
    model = ClimateModel(grid, years, members, scenarios, seed)
    slices = [slice(i, i + 1) for i in range(len(model.scenarios))]
    return write_stream(
        out,
        {"": assemble(model)},
        iter(model.scenarios),
        lambda scenario: {"": model.scenario_block(scenario)},
        slices,
        chunk=1,
        block_steps=1,
        dim="scenario",
        overwrite=overwrite,
        progress=progress,
        description="synthetic climate",
    )
