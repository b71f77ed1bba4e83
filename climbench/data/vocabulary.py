"""The canonical variable vocabulary and its aliases.

One table maps every name a source uses onto one canonical name (WeatherBench 2 / ERA5
long names, e.g. ``2m_temperature``) with one canonical SI unit. Aliases cover ERA5 short
names and GRIB short names (``t2m``, ``2t``, ``z``), CMIP6 CMOR names (``tas``, ``zg``,
``plev``-based ``ta``), MERRA-2 names (``T2M``, ``U10M``, ``H500``) and WeatherBench 1 /
ClimateLearn level-suffixed names (``z500``, ``t850``). A level-suffixed alias (``H500``)
maps to the canonical variable *at that pressure level*.

Names outside the vocabulary are kept unchanged by the loaders: the vocabulary says what we
know, it does not restrict what a user may carry along.

``quantity`` names the physical quantity; :mod:`climbench.data.units` knows which unit
strings express each quantity and how to convert them to the canonical unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variable:
    """A canonical variable.

    Attributes:
        name: canonical name (WeatherBench 2 / ERA5 long name).
        units: canonical SI unit string (CF / UDUNITS spelling).
        quantity: physical quantity, the key of the unit table in ``units.py``.
        kind: ``"surface"`` (2-D per time), ``"pressure"`` (has a ``level`` dim in hPa)
            or ``"constant"`` (no time dim: land-sea mask, orography).
        long_name: human readable name for attributes and tables.
        aliases: other names of the same variable in ERA5, CMIP6, MERRA-2 and GRIB.

    The plausible range of each variable, in its canonical unit, is in
    :data:`PLAUSIBLE_RANGES` (see :func:`plausible_range`).
    """

    name: str
    units: str
    quantity: str
    kind: str
    long_name: str
    aliases: tuple[str, ...] = field(default=())


VARIABLES: tuple[Variable, ...] = (
    # pressure-level variables
    Variable(
        "geopotential", "m2 s-2", "geopotential", "pressure", "Geopotential", ("z", "zg", "H", "gh")
    ),
    Variable("temperature", "K", "temperature", "pressure", "Temperature", ("t", "ta", "T")),
    Variable(
        "u_component_of_wind", "m s-1", "speed", "pressure", "Eastward wind", ("u", "ua", "U")
    ),
    Variable(
        "v_component_of_wind", "m s-1", "speed", "pressure", "Northward wind", ("v", "va", "V")
    ),
    Variable(
        "specific_humidity",
        "kg kg-1",
        "specific_humidity",
        "pressure",
        "Specific humidity",
        ("q", "hus", "QV"),
    ),
    Variable(
        "relative_humidity", "1", "fraction", "pressure", "Relative humidity", ("r", "hur", "RH")
    ),
    Variable(
        "vertical_velocity",
        "Pa s-1",
        "pressure_velocity",
        "pressure",
        "Vertical velocity (omega)",
        ("w", "wap", "OMEGA"),
    ),
    # surface variables
    Variable(
        "2m_temperature",
        "K",
        "temperature",
        "surface",
        "2 metre temperature",
        ("t2m", "2t", "tas", "T2M"),
    ),
    Variable(
        "maximum_2m_temperature",
        "K",
        "temperature",
        "surface",
        "Maximum 2 metre temperature",
        ("mx2t", "tasmax", "T2MMAX"),
    ),
    Variable(
        "minimum_2m_temperature",
        "K",
        "temperature",
        "surface",
        "Minimum 2 metre temperature",
        ("mn2t", "tasmin", "T2MMIN"),
    ),
    Variable(
        "2m_dewpoint_temperature",
        "K",
        "temperature",
        "surface",
        "2 metre dewpoint temperature",
        ("d2m", "2d", "T2MDEW"),
    ),
    Variable(
        "skin_temperature", "K", "temperature", "surface", "Skin temperature", ("skt", "ts", "TS")
    ),
    Variable(
        "sea_surface_temperature",
        "K",
        "temperature",
        "surface",
        "Sea surface temperature",
        ("sst", "tos", "SST"),
    ),
    Variable(
        "10m_u_component_of_wind",
        "m s-1",
        "speed",
        "surface",
        "10 metre eastward wind",
        ("u10", "10u", "uas", "U10M"),
    ),
    Variable(
        "10m_v_component_of_wind",
        "m s-1",
        "speed",
        "surface",
        "10 metre northward wind",
        ("v10", "10v", "vas", "V10M"),
    ),
    Variable(
        "10m_wind_speed",
        "m s-1",
        "speed",
        "surface",
        "10 metre wind speed",
        ("si10", "10si", "sfcWind", "SPEED"),
    ),
    Variable(
        "mean_sea_level_pressure",
        "Pa",
        "pressure",
        "surface",
        "Mean sea level pressure",
        ("msl", "psl", "SLP", "prmsl"),
    ),
    Variable(
        "surface_pressure", "Pa", "pressure", "surface", "Surface pressure", ("sp", "ps", "PS")
    ),
    Variable(
        "2m_specific_humidity",
        "kg kg-1",
        "specific_humidity",
        "surface",
        "2 metre specific humidity",
        ("huss", "QV2M"),
    ),
    Variable(
        "total_column_water_vapour",
        "kg m-2",
        "column_mass",
        "surface",
        "Total column water vapour",
        ("tcwv", "prw", "TQV"),
    ),
    Variable(
        "total_cloud_cover",
        "1",
        "fraction",
        "surface",
        "Total cloud cover",
        ("tcc", "clt", "CLDTOT"),
    ),
    # precipitation: an accumulation over the data's own time step, fixed-period sums,
    # and a rate. Conversions between them need a known period (see units.py).
    Variable(
        "total_precipitation",
        "m",
        "precipitation_amount",
        "surface",
        "Total precipitation accumulated over the time step",
        ("tp",),
    ),
    Variable(
        "total_precipitation_6hr",
        "m",
        "precipitation_amount",
        "surface",
        "Total precipitation accumulated over the previous 6 hours",
        ("tp6", "tp_6h"),
    ),
    Variable(
        "total_precipitation_24hr",
        "m",
        "precipitation_amount",
        "surface",
        "Total precipitation accumulated over the previous 24 hours",
        ("tp24", "tp_24h"),
    ),
    Variable(
        "mean_total_precipitation_rate",
        "kg m-2 s-1",
        "precipitation_rate",
        "surface",
        "Mean total precipitation rate",
        ("mtpr", "pr", "PRECTOT", "PRECTOTCORR"),
    ),
    # top-of-atmosphere fluxes (CMIP6 sign convention: positive in the named direction)
    Variable(
        "toa_incident_shortwave_flux",
        "W m-2",
        "flux",
        "surface",
        "TOA incident shortwave flux",
        ("rsdt",),
    ),
    Variable(
        "toa_outgoing_shortwave_flux",
        "W m-2",
        "flux",
        "surface",
        "TOA outgoing shortwave flux",
        ("rsut",),
    ),
    Variable(
        "toa_outgoing_longwave_flux",
        "W m-2",
        "flux",
        "surface",
        "TOA outgoing longwave flux",
        ("rlut",),
    ),
    Variable(
        "diurnal_temperature_range",
        "K",
        "temperature_difference",
        "surface",
        "Diurnal temperature range",
        ("dtr",),
    ),
    Variable(
        "precipitation_90th_percentile",
        "kg m-2 s-1",
        "precipitation_rate",
        "surface",
        "90th percentile of daily precipitation rate",
        ("pr90",),
    ),
    # constants
    Variable(
        "land_sea_mask",
        "1",
        "fraction",
        "constant",
        "Land-sea mask (land fraction)",
        ("lsm", "sftlf", "FRLAND"),
    ),
    Variable(
        "geopotential_at_surface",
        "m2 s-2",
        "geopotential",
        "constant",
        "Surface geopotential (orography times g)",
        ("orog", "PHIS"),
    ),
    Variable("cell_area", "m2", "area", "constant", "Grid-cell area", ("areacella",)),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}

_ALIASES: dict[str, str] = {}
for _v in VARIABLES:
    _ALIASES[_v.name] = _v.name
    for _a in _v.aliases:
        if _a in _ALIASES:
            raise AssertionError(f"alias {_a!r} is defined twice")  # table bug, not input
        _ALIASES[_a] = _v.name

# Level-suffixed names: MERRA-2 (H500, T850, U250), WeatherBench 1 / ClimateLearn (z500, t850).
_LEVEL_SUFFIX = re.compile(r"^(H|T|U|V|QV|OMEGA|z|t|u|v|q|r|w)(\d{2,4})$")
_LEVEL_PREFIX_TO_NAME = {
    "H": "geopotential",
    "z": "geopotential",
    "T": "temperature",
    "t": "temperature",
    "U": "u_component_of_wind",
    "u": "u_component_of_wind",
    "V": "v_component_of_wind",
    "v": "v_component_of_wind",
    "QV": "specific_humidity",
    "q": "specific_humidity",
    "r": "relative_humidity",
    "OMEGA": "vertical_velocity",
    "w": "vertical_velocity",
}

# In files without a level coordinate, ERA5's ``z`` is the surface geopotential.
SURFACE_MEANING = {"geopotential": "geopotential_at_surface"}


def resolve(name: str) -> tuple[Variable, float | None] | None:
    """Map a source name to ``(canonical variable, pressure level in hPa or None)``.

    Returns None for names outside the vocabulary (they are kept unchanged).

    >>> resolve("tas")[0].name
    '2m_temperature'
    >>> resolve("H500")
    (Variable(name='geopotential', ...), 500.0)
    """
    if name in _ALIASES:
        return BY_NAME[_ALIASES[name]], None
    match = _LEVEL_SUFFIX.match(name)
    if match:
        return BY_NAME[_LEVEL_PREFIX_TO_NAME[match.group(1)]], float(match.group(2))
    return None


def canonical_name(name: str) -> str:
    """Canonical name of a vocabulary name or alias; unknown names are returned unchanged."""
    found = resolve(name)
    return name if found is None or found[1] is not None else found[0].name


def known_names() -> list[str]:
    """All canonical names, for error messages and ``climbench data vocabulary``."""
    return [v.name for v in VARIABLES]


#: Physically plausible ``(low, high)`` of each canonical variable in its canonical unit,
#: wide enough for any real field on Earth at any pressure level of ERA5 (1-1000 hPa), and
#: narrow enough to catch a wrong unit label (kelvin values labelled degC give ~550 K; mm
#: labelled m give metres of rain) or a corrupt value (1e30). A value outside is refused by
#: the loaders (override: ``valid_ranges=``) and by the scorer.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "geopotential": (-1.0e4, 6.0e5),  # below sea level at 1000 hPa .. ~60 km at 0.1 hPa
    "temperature": (100.0, 400.0),
    "u_component_of_wind": (-250.0, 250.0),
    "v_component_of_wind": (-250.0, 250.0),
    "specific_humidity": (-1.0e-3, 0.06),  # ERA5 has tiny negative values aloft
    "relative_humidity": (-0.05, 1.6),  # ERA5 reaches 1.5 over ice
    "vertical_velocity": (-60.0, 60.0),
    "2m_temperature": (160.0, 350.0),
    "maximum_2m_temperature": (160.0, 360.0),
    "minimum_2m_temperature": (160.0, 350.0),
    "2m_dewpoint_temperature": (150.0, 340.0),
    "skin_temperature": (150.0, 380.0),
    "sea_surface_temperature": (260.0, 320.0),
    "10m_u_component_of_wind": (-120.0, 120.0),
    "10m_v_component_of_wind": (-120.0, 120.0),
    "10m_wind_speed": (0.0, 120.0),
    "mean_sea_level_pressure": (8.0e4, 1.15e5),
    "surface_pressure": (3.0e4, 1.15e5),
    "2m_specific_humidity": (-1.0e-3, 0.06),
    "total_column_water_vapour": (-1.0, 150.0),
    "total_cloud_cover": (-0.01, 1.01),
    "total_precipitation": (-1.0e-3, 1.0),  # m per step; interpolation leaves tiny negatives
    "total_precipitation_6hr": (-1.0e-3, 1.0),
    "total_precipitation_24hr": (-1.0e-3, 2.0),
    "mean_total_precipitation_rate": (-1.0e-4, 0.1),  # kg m-2 s-1; 0.1 is 360 mm per hour
    "toa_incident_shortwave_flux": (-1.0, 1500.0),
    "toa_outgoing_shortwave_flux": (-1.0, 1500.0),
    "toa_outgoing_longwave_flux": (0.0, 600.0),
    "diurnal_temperature_range": (-30.0, 80.0),  # changes of DTR are negative
    "precipitation_90th_percentile": (-1.0e-4, 0.1),
    "land_sea_mask": (-0.01, 1.01),
    "geopotential_at_surface": (-5.0e3, 1.0e5),
    "cell_area": (0.0, 1.0e13),
}


def plausible_range(name: str) -> tuple[float, float] | None:
    """``(low, high)`` of a canonical variable (or alias) in its canonical unit, or None
    for names outside the vocabulary (their values are not checked)."""
    found = resolve(name)
    return None if found is None else PLAUSIBLE_RANGES.get(found[0].name)
