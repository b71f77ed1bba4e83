"""Unit conversion onto the canonical SI units of the vocabulary.

Why a table and not a general units library: the conversions a weather or climate file needs
are few and must be *certain*. A table of the spellings used in the wild (``K``, ``degC``,
``m**2 s**-2``, ``millibars``, ``kg m-2 s-1``, ``(0 - 1)``, ``%`` ...) and their exact
factors converts those, and refuses everything else with a message that names the variable,
the unit found and the units accepted, plus how to override a wrong ``units`` attribute.

Conversions across quantities that are certain:
- geopotential height (m, gpm, dam) -> geopotential (m2 s-2): times standard gravity
  g0 = 9.80665 m s-2 (the WMO constant ERA5 and CMIP6 use).
- precipitation rate <-> accumulation when the period is known: a rate in kg m-2 s-1
  (= mm s-1) times the period in seconds, divided by the density of water
  (1000 kg m-3), gives metres.

All conversions are affine, ``canonical = value * scale + offset``, and stay lazy on dask.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from climbench.errors import UnitsError

STANDARD_GRAVITY = 9.80665  # m s-2, WMO / ECMWF / CMIP6 value
WATER_DENSITY = 1000.0  # kg m-3, the convention that makes 1 kg m-2 equal 1 mm

# quantity -> {normalised unit spelling: (scale, offset)} to the canonical unit
_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {
        "k": (1.0, 0.0),
        "kelvin": (1.0, 0.0),
        "degk": (1.0, 0.0),
        "deg_k": (1.0, 0.0),
        "degc": (1.0, 273.15),
        "deg_c": (1.0, 273.15),
        "celsius": (1.0, 273.15),
        "degreesc": (1.0, 273.15),
        "c": (1.0, 273.15),
        "°c": (1.0, 273.15),
        # CF "degree_Celsius" / "degrees_Celsius": normalise_unit makes them "deg_celsius"
        "deg_celsius": (1.0, 273.15),
        "degcelsius": (1.0, 273.15),
        "degf": (5 / 9, 273.15 - 32 * 5 / 9),
        "deg_f": (5 / 9, 273.15 - 32 * 5 / 9),
        "fahrenheit": (5 / 9, 273.15 - 32 * 5 / 9),
    },
    "temperature_difference": {
        "k": (1.0, 0.0),
        "kelvin": (1.0, 0.0),
        "degc": (1.0, 0.0),
        "deg_c": (1.0, 0.0),
        "celsius": (1.0, 0.0),
        "deg_celsius": (1.0, 0.0),
        "degcelsius": (1.0, 0.0),
    },
    "geopotential": {
        "m2s-2": (1.0, 0.0),
        "m2/s2": (1.0, 0.0),
        "j/kg": (1.0, 0.0),
        "jkg-1": (1.0, 0.0),
        # geopotential height
        "m": (STANDARD_GRAVITY, 0.0),
        "gpm": (STANDARD_GRAVITY, 0.0),
        "dam": (10 * STANDARD_GRAVITY, 0.0),
        "gpdam": (10 * STANDARD_GRAVITY, 0.0),
    },
    "pressure": {
        "pa": (1.0, 0.0),
        "hpa": (100.0, 0.0),
        "mbar": (100.0, 0.0),
        "mb": (100.0, 0.0),
        "millibars": (100.0, 0.0),
        "millibar": (100.0, 0.0),
        "kpa": (1000.0, 0.0),
        "bar": (1e5, 0.0),
    },
    "speed": {
        "ms-1": (1.0, 0.0),
        "m/s": (1.0, 0.0),
        "kmh-1": (1 / 3.6, 0.0),
        "km/h": (1 / 3.6, 0.0),
        "knots": (0.514444, 0.0),
        "kt": (0.514444, 0.0),
    },
    "pressure_velocity": {"pas-1": (1.0, 0.0), "pa/s": (1.0, 0.0), "hpas-1": (100.0, 0.0)},
    "specific_humidity": {
        "kgkg-1": (1.0, 0.0),
        "kg/kg": (1.0, 0.0),
        "1": (1.0, 0.0),
        "gkg-1": (1e-3, 0.0),
        "g/kg": (1e-3, 0.0),
    },
    "fraction": {
        "1": (1.0, 0.0),
        "(0-1)": (1.0, 0.0),
        "0-1": (1.0, 0.0),
        "fraction": (1.0, 0.0),
        "": (1.0, 0.0),
        "%": (0.01, 0.0),
        "percent": (0.01, 0.0),
    },
    "column_mass": {"kgm-2": (1.0, 0.0), "mm": (1.0, 0.0), "kg/m2": (1.0, 0.0)},
    "precipitation_amount": {
        "m": (1.0, 0.0),
        "mm": (1e-3, 0.0),
        "kgm-2": (1e-3, 0.0),
        "kg/m2": (1e-3, 0.0),
        "cm": (1e-2, 0.0),
    },
    "precipitation_rate": {
        "kgm-2s-1": (1.0, 0.0),
        "kg/m2/s": (1.0, 0.0),
        "mms-1": (1.0, 0.0),
        "mm/s": (1.0, 0.0),
        "ms-1": (WATER_DENSITY, 0.0),
        "m/s": (WATER_DENSITY, 0.0),
        "mmh-1": (1 / 3600, 0.0),
        "mm/h": (1 / 3600, 0.0),
        "mm/hr": (1 / 3600, 0.0),
        "mmd-1": (1 / 86400, 0.0),
        "mm/d": (1 / 86400, 0.0),
        "mm/day": (1 / 86400, 0.0),
        "mmday-1": (1 / 86400, 0.0),
        "md-1": (WATER_DENSITY / 86400, 0.0),
        "m/day": (WATER_DENSITY / 86400, 0.0),
    },
    "flux": {"wm-2": (1.0, 0.0), "w/m2": (1.0, 0.0), "w/m^2": (1.0, 0.0)},
    "area": {"m2": (1.0, 0.0), "km2": (1e6, 0.0)},
}


def normalise_unit(unit: str) -> str:
    """A spelling-independent key for a unit string.

    ``m**2 s**-2``, ``m^2 s^-2`` and ``m2 s-2`` all give ``m2s-2``; case is folded.
    """
    text = unit.strip().lower().replace("**", "").replace("^", "")
    text = re.sub(r"\s+", "", text)
    return text.replace("degrees", "deg").replace("degree", "deg")


def accepted_units(quantity: str) -> list[str]:
    """Unit spellings (normalised) accepted for a quantity, for error messages."""
    return sorted(k for k in _TABLE[quantity] if k)


def conversion(unit: str, quantity: str) -> tuple[float, float] | None:
    """``(scale, offset)`` from ``unit`` to the canonical unit of ``quantity``, or None."""
    key = normalise_unit(unit)
    table = _TABLE[quantity]
    if key in table:
        return table[key]
    # "deg_K" -> "degk"
    return table.get(key.replace("deg_", "deg"))


def to_canonical(
    da: xr.DataArray,
    quantity: str,
    canonical_units: str,
    *,
    path: str | None = None,
    variable: str | None = None,
    time_step: pd.Timedelta | None = None,
) -> xr.DataArray:
    """Convert ``da`` (with a ``units`` attribute) to the canonical unit of its quantity.

    A precipitation *amount* given in rate units (e.g. ERA5-Land daily totals written as
    ``mm d-1``) is multiplied by the data's regular ``time_step``, which is then the known
    accumulation period. Raises :class:`UnitsError` when the unit is missing or unknown.
    """
    name = variable or str(da.name)
    unit = da.attrs.get("units")
    if unit is None:
        raise UnitsError(
            "has no 'units' attribute",
            path=path,
            variable=name,
            expected=f"units of {quantity} ({canonical_units})",
            found="none",
            hint=f"pass units={{'{name}': '<unit>'}} to say what they are",
        )
    factor = conversion(str(unit), quantity)
    if factor is None and quantity == "precipitation_amount":
        rate = conversion(str(unit), "precipitation_rate")
        if rate is not None and time_step is not None:
            seconds = time_step / pd.Timedelta("1s")
            factor = (rate[0] * seconds / WATER_DENSITY, 0.0)
    if factor is None:
        raise UnitsError(
            f"has units that are not a unit of {quantity.replace('_', ' ')}",
            path=path,
            variable=name,
            expected=f"one of {accepted_units(quantity)} (canonical '{canonical_units}')",
            found=f"'{unit}'",
            hint=(
                f"if the attribute is wrong, pass units={{'{name}': '<true unit>'}} "
                f"(CLI: --units {name}=<true unit>)"
            ),
        )
    scale, offset = factor
    out = da if (scale == 1.0 and offset == 0.0) else da * scale + offset
    out = out.astype(da.dtype) if np.issubdtype(da.dtype, np.floating) else out
    out.attrs = {**da.attrs, "units": canonical_units}
    if normalise_unit(str(unit)) != normalise_unit(canonical_units):
        out.attrs["climbench_original_units"] = str(unit)
    return out


def rate_to_accumulation(rate: xr.DataArray, period: str | pd.Timedelta) -> xr.DataArray:
    """Precipitation rate (kg m-2 s-1) to the amount (m) accumulated over ``period``.

    ``period`` is a pandas offset string (``"6h"``, ``"1D"``). The rate is taken as the mean
    over the period: amount = rate * seconds / 1000 kg m-3.
    """
    seconds = pd.Timedelta(period) / pd.Timedelta("1s")
    out = rate * (seconds / WATER_DENSITY)
    out.attrs = {**rate.attrs, "units": "m", "accumulation_period": str(pd.Timedelta(period))}
    return out


def accumulation_to_rate(amount: xr.DataArray, period: str | pd.Timedelta) -> xr.DataArray:
    """Precipitation amount (m) accumulated over ``period`` to a mean rate (kg m-2 s-1)."""
    seconds = pd.Timedelta(period) / pd.Timedelta("1s")
    out = amount * (WATER_DENSITY / seconds)
    attrs = {k: v for k, v in amount.attrs.items() if k != "accumulation_period"}
    out.attrs = {**attrs, "units": "kg m-2 s-1"}
    return out


def accumulate(amount: xr.DataArray, period: str | pd.Timedelta) -> xr.DataArray:
    """Sum per-step accumulations (ERA5 hourly ``tp``) into ``period`` totals.

    WeatherBench 2 convention: the value at time t is the total over (t - period, t], so the
    first ``period / step - 1`` steps, which lack a full window, are dropped.
    """
    step = pd.Timedelta(np.diff(amount["time"].values[:2])[0])
    n = int(pd.Timedelta(period) / step)
    if n * step != pd.Timedelta(period) or n < 1:
        raise UnitsError(
            "cannot accumulate over a period that is not a multiple of the time step",
            variable=str(amount.name),
            expected=f"a multiple of {step}",
            found=str(period),
        )
    out = amount.rolling(time=n).sum().isel(time=slice(n - 1, None))
    out.attrs = {**amount.attrs, "units": "m", "accumulation_period": str(pd.Timedelta(period))}
    return out
