"""Unit conversions and the variable vocabulary, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from climbench.data import schema, units, vocabulary
from climbench.errors import SchemaError, UnitsError

G0 = 9.80665


def field(values, unit: str | None, name: str = "x", **coords) -> xr.DataArray:
    values = np.asarray(values, dtype="float32")
    attrs = {} if unit is None else {"units": unit}
    dims = tuple(coords) or tuple(f"d{i}" for i in range(values.ndim))
    return xr.DataArray(values, dims=dims, coords=coords or None, name=name, attrs=attrs)


# --------------------------------------------------------------------------------------
# units.to_canonical
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit", ["degC", "deg_C", "degrees_Celsius", "degree_Celsius", "celsius", "°C", "C"]
)
def test_celsius_to_kelvin(unit: str) -> None:
    out = units.to_canonical(field([-273.15, 0.0, 25.0], unit), "temperature", "K")
    np.testing.assert_allclose(out.values, [0.0, 273.15, 298.15], atol=1e-4)
    assert out.attrs["units"] == "K"
    assert out.attrs["climbench_original_units"] == unit
    assert out.dtype == np.float32  # the source precision is kept


@pytest.mark.parametrize("unit", ["K", "kelvin", "degK"])
def test_kelvin_unchanged(unit: str) -> None:
    da = field([250.0, 300.0], unit)
    out = units.to_canonical(da, "temperature", "K")
    np.testing.assert_array_equal(out.values, da.values)


def test_fahrenheit_to_kelvin() -> None:
    out = units.to_canonical(field([32.0, 212.0], "degF"), "temperature", "K")
    np.testing.assert_allclose(out.values, [273.15, 373.15], atol=1e-4)


def test_kelvin_to_celsius_round_trip() -> None:
    scale, offset = units.conversion("degC", "temperature")
    kelvin = np.array([250.0, 273.15, 310.0])
    celsius = (kelvin - offset) / scale
    np.testing.assert_allclose(celsius, [-23.15, 0.0, 36.85])
    np.testing.assert_allclose(celsius * scale + offset, kelvin)


def test_temperature_difference_has_no_offset() -> None:
    out = units.to_canonical(field([10.0], "degC"), "temperature_difference", "K")
    assert out.item() == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("m", G0),
        ("gpm", G0),
        ("dam", 10 * G0),
        ("m**2 s**-2", 1.0),
        ("m^2 s^-2", 1.0),
        ("m2 s-2", 1.0),
        ("J kg-1", 1.0),
    ],
)
def test_geopotential_height_to_geopotential(unit: str, factor: float) -> None:
    out = units.to_canonical(field([5500.0], unit), "geopotential", "m2 s-2")
    assert out.item() == pytest.approx(5500.0 * factor, rel=1e-6)
    assert out.attrs["units"] == "m2 s-2"


@pytest.mark.parametrize(
    ("unit", "factor"),
    [("Pa", 1.0), ("hPa", 100.0), ("mbar", 100.0), ("millibars", 100.0), ("kPa", 1000.0)],
)
def test_pressure_to_pascal(unit: str, factor: float) -> None:
    out = units.to_canonical(field([1013.25], unit), "pressure", "Pa")
    assert out.item() == pytest.approx(1013.25 * factor, rel=1e-6)


@pytest.mark.parametrize(
    ("unit", "fraction"),
    [("%", 0.01), ("percent", 0.01), ("(0 - 1)", 1.0), ("1", 1.0), ("0-1", 1.0)],
)
def test_percent_to_fraction(unit: str, fraction: float) -> None:
    out = units.to_canonical(field([0.0, 50.0, 100.0], unit), "fraction", "1")
    np.testing.assert_allclose(out.values, np.array([0.0, 50.0, 100.0]) * fraction, rtol=1e-6)


@pytest.mark.parametrize(
    ("unit", "per_second"),
    [
        ("kg m-2 s-1", 1.0),
        ("mm s-1", 1.0),
        ("mm/day", 1 / 86400),
        ("mm h-1", 1 / 3600),
        ("m s-1", 1000.0),
    ],
)
def test_precipitation_rate_units(unit: str, per_second: float) -> None:
    out = units.to_canonical(field([2.0], unit), "precipitation_rate", "kg m-2 s-1")
    assert out.item() == pytest.approx(2.0 * per_second, rel=1e-6)


def test_amount_in_rate_units_needs_a_known_period() -> None:
    da = field([24.0], "mm d-1")  # ERA5-Land daily totals carry a rate unit
    with pytest.raises(UnitsError) as info:
        units.to_canonical(da, "precipitation_amount", "m", variable="tp")
    assert info.value.variable == "tp" and "'mm d-1'" in str(info.value)
    daily = units.to_canonical(da, "precipitation_amount", "m", time_step=pd.Timedelta("1D"))
    assert daily.item() == pytest.approx(0.024, rel=1e-6)  # 24 mm over a day
    six_hourly = units.to_canonical(da, "precipitation_amount", "m", time_step=pd.Timedelta("6h"))
    assert six_hourly.item() == pytest.approx(0.006, rel=1e-6)


@pytest.mark.parametrize(("unit", "metres"), [("m", 1.0), ("mm", 1e-3), ("kg m-2", 1e-3)])
def test_precipitation_amount_units(unit: str, metres: float) -> None:
    out = units.to_canonical(field([5.0], unit), "precipitation_amount", "m")
    assert out.item() == pytest.approx(5.0 * metres, rel=1e-6)


def test_unknown_and_missing_units_refused_with_hint() -> None:
    with pytest.raises(UnitsError) as info:
        units.to_canonical(
            field([1.0], "furlongs"), "temperature", "K", path="f.nc", variable="t2m"
        )
    message = str(info.value)
    assert "f.nc" in message and "'furlongs'" in message and "units={'t2m'" in message
    with pytest.raises(UnitsError) as info:
        units.to_canonical(field([1.0], None), "temperature", "K", variable="t2m")
    assert info.value.found == "none" and "units={'t2m'" in str(info.value)
    # a unit of the wrong quantity is not silently accepted
    with pytest.raises(UnitsError):
        units.to_canonical(field([1.0], "m s-1"), "temperature", "K")


def test_conversion_stays_lazy_on_dask() -> None:
    da = field(np.zeros((4, 3)), "degC").chunk({"d0": 2})
    out = units.to_canonical(da, "temperature", "K")
    assert out.chunks is not None
    np.testing.assert_allclose(out.compute().values, 273.15)


def test_unit_spelling_normalisation() -> None:
    assert units.normalise_unit("m**2 s**-2") == units.normalise_unit("m^2 s^-2") == "m2s-2"
    assert units.normalise_unit(" K ") == "k"
    assert units.conversion("degrees_C", "temperature") == (1.0, 273.15)
    assert units.conversion("furlongs", "temperature") is None


# --------------------------------------------------------------------------------------
# precipitation rate <-> accumulation
# --------------------------------------------------------------------------------------


def test_rate_to_accumulation_and_back() -> None:
    rate = field([1e-4, 0.0, 5e-5], "kg m-2 s-1")
    amount = units.rate_to_accumulation(rate, "6h")
    np.testing.assert_allclose(
        amount.values, [1e-4 * 21600 / 1000, 0.0, 5e-5 * 21600 / 1000], rtol=1e-6
    )
    assert amount.attrs["units"] == "m"
    assert "accumulation_period" in amount.attrs
    back = units.accumulation_to_rate(amount, "6h")
    np.testing.assert_allclose(back.values, rate.values, rtol=1e-6)
    assert back.attrs["units"] == "kg m-2 s-1"
    assert "accumulation_period" not in back.attrs
    # 1 mm per hour for a day is 24 mm
    day = units.rate_to_accumulation(field([1 / 3600], "kg m-2 s-1"), "1D")
    assert day.item() == pytest.approx(0.024, rel=1e-6)
    # a Timedelta works like the offset string
    assert float(units.rate_to_accumulation(rate, pd.Timedelta("6h"))[0]) == pytest.approx(
        float(amount[0])
    )


def test_accumulate_hourly_to_6h_sums() -> None:
    time = pd.date_range("2020-01-01T01", periods=24, freq="h")
    hourly = xr.DataArray(
        np.arange(1.0, 25.0) * 1e-4,
        dims="time",
        coords={"time": time},
        name="tp",
        attrs={"units": "m"},
    )
    six = units.accumulate(hourly, "6h")
    # the value at t is the total over (t - 6h, t]; the first 5 steps lack a full window
    assert six.sizes["time"] == 19
    assert six["time"].values[0] == np.datetime64("2020-01-01T06:00")
    assert float(six[0]) == pytest.approx(sum(range(1, 7)) * 1e-4)
    assert float(six.sel(time="2020-01-01T12:00")) == pytest.approx(sum(range(7, 13)) * 1e-4)
    assert six.attrs["units"] == "m"
    assert pd.Timedelta(six.attrs["accumulation_period"]) == pd.Timedelta("6h")
    # totals are conserved: disjoint windows sum to the whole
    disjoint = six.sel(time=pd.date_range("2020-01-01T06", periods=4, freq="6h"))
    assert float(disjoint.sum()) == pytest.approx(float(hourly.sum()))


def test_accumulate_rejects_non_multiple_period() -> None:
    time = pd.date_range("2020-01-01", periods=8, freq="4h")
    da = xr.DataArray(
        np.ones(8), dims="time", coords={"time": time}, name="tp", attrs={"units": "m"}
    )
    with pytest.raises(UnitsError, match="multiple"):
        units.accumulate(da, "6h")


# --------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        # ERA5 short names and GRIB short names
        ("t2m", "2m_temperature"),
        ("2t", "2m_temperature"),
        ("z", "geopotential"),
        ("t", "temperature"),
        ("u10", "10m_u_component_of_wind"),
        ("tp", "total_precipitation"),
        ("msl", "mean_sea_level_pressure"),
        ("sst", "sea_surface_temperature"),
        ("lsm", "land_sea_mask"),
        # CMIP6 CMOR names
        ("tas", "2m_temperature"),
        ("pr", "mean_total_precipitation_rate"),
        ("zg", "geopotential"),
        ("ua", "u_component_of_wind"),
        ("psl", "mean_sea_level_pressure"),
        ("tasmax", "maximum_2m_temperature"),
        ("tasmin", "minimum_2m_temperature"),
        ("rlut", "toa_outgoing_longwave_flux"),
        ("areacella", "cell_area"),
        # MERRA-2
        ("T2M", "2m_temperature"),
        ("U10M", "10m_u_component_of_wind"),
        ("V10M", "10m_v_component_of_wind"),
        ("SLP", "mean_sea_level_pressure"),
        ("PRECTOT", "mean_total_precipitation_rate"),
        ("QV2M", "2m_specific_humidity"),
        # canonical names map to themselves
        ("geopotential", "geopotential"),
        ("total_precipitation_6hr", "total_precipitation_6hr"),
    ],
)
def test_aliases(alias: str, canonical: str) -> None:
    var, level = vocabulary.resolve(alias)
    assert var.name == canonical and level is None
    assert vocabulary.canonical_name(alias) == canonical


@pytest.mark.parametrize(
    ("name", "canonical", "level"),
    [
        ("H500", "geopotential", 500.0),
        ("z500", "geopotential", 500.0),
        ("T850", "temperature", 850.0),
        ("t850", "temperature", 850.0),
        ("U250", "u_component_of_wind", 250.0),
        ("QV850", "specific_humidity", 850.0),
        ("q700", "specific_humidity", 700.0),
        ("r1000", "relative_humidity", 1000.0),
    ],
)
def test_level_suffixed_names(name: str, canonical: str, level: float) -> None:
    var, found = vocabulary.resolve(name)
    assert (var.name, found) == (canonical, level)
    # a level-suffixed name is not the whole canonical variable
    assert vocabulary.canonical_name(name) == name


@pytest.mark.parametrize("name", ["myvar", "TQI", "T10M", "QV10M", "z_500", "Z", "tas_mean"])
def test_names_outside_vocabulary(name: str) -> None:
    assert vocabulary.resolve(name) is None
    assert vocabulary.canonical_name(name) == name


def test_vocabulary_table_is_consistent() -> None:
    names = vocabulary.known_names()
    assert len(names) == len(set(names))
    aliases = [a for v in vocabulary.VARIABLES for a in v.aliases]
    assert len(aliases) == len(set(aliases))
    assert not set(aliases) & set(names)
    for var in vocabulary.VARIABLES:
        assert var.kind in {"surface", "pressure", "constant"}
        # the canonical unit must itself be accepted (scale 1, offset 0) for its quantity
        assert units.conversion(var.units, var.quantity) == (1.0, 0.0), var.name


# --------------------------------------------------------------------------------------
# canonicalise: names, units and levels together
# --------------------------------------------------------------------------------------


def _grid_ds(**data_vars) -> xr.Dataset:
    coords = {
        "time": pd.date_range("2000-01-01", periods=2, freq="6h"),
        "lat": [-10.0, 10.0],
        "lon": [0.0, 90.0],
    }
    return xr.Dataset(
        {
            k: (("time", "lat", "lon"), np.full((2, 2, 2), v[0], "float32"), {"units": v[1]})
            for k, v in data_vars.items()
        },
        coords=coords,
    )


def test_canonicalise_merra2_level_names_into_one_variable() -> None:
    ds = _grid_ds(H500=(5500.0, "m"), H850=(1500.0, "m"), T2M=(300.0, "K"))
    out = schema.canonicalise(ds, "merra.nc4")
    schema.validate(out)
    z = out["geopotential"]
    assert z.dims == ("time", "level", "lat", "lon")
    assert z["level"].values.tolist() == [500.0, 850.0]
    np.testing.assert_allclose(z.sel(level=500).values, 5500.0 * G0, rtol=1e-6)
    np.testing.assert_allclose(z.sel(level=850).values, 1500.0 * G0, rtol=1e-6)
    assert out["2m_temperature"].dims == ("time", "lat", "lon")


def test_canonicalise_wb1_z500_and_surface_z() -> None:
    ds = _grid_ds(z500=(54000.0, "m2 s-2"))
    assert schema.canonicalise(ds)["geopotential"]["level"].values.tolist() == [500.0]
    surface = _grid_ds(z=(9000.0, "m**2 s**-2"))  # no level: ERA5's surface geopotential
    assert list(schema.canonicalise(surface).data_vars) == ["geopotential_at_surface"]


def test_canonicalise_two_sources_for_one_name_refused() -> None:
    ds = _grid_ds(t2m=(280.0, "K"), tas=(281.0, "K"))
    with pytest.raises(SchemaError) as info:
        schema.canonicalise(ds, "both.nc")
    assert "2m_temperature" in str(info.value) and "both.nc" in str(info.value)


@pytest.mark.parametrize(
    ("unit", "values"),
    [
        ("Pa", [85000.0, 50000.0]),
        ("hPa", [850.0, 500.0]),
        ("millibars", [850.0, 500.0]),
        ("", [85000.0, 50000.0]),
    ],
)
def test_level_coordinate_to_hpa_ascending(unit: str, values: list[float]) -> None:
    ds = xr.Dataset(
        {"t": (("time", "plev", "lat", "lon"), np.arange(8.0).reshape(1, 2, 2, 2), {"units": "K"})},
        coords={
            "time": pd.date_range("2000", periods=1),
            "plev": ("plev", values, {"units": unit}),
            "lat": [-10.0, 10.0],
            "lon": [0.0, 90.0],
        },
    )
    out = schema.canonicalise(schema.normalise_coords(ds, "levels.nc"), "levels.nc")
    schema.validate(out)
    assert out["level"].values.tolist() == [500.0, 850.0]
    assert out["level"].attrs["units"] == "hPa"
    # values follow their level: the 500 hPa field is the second one in the source
    np.testing.assert_array_equal(
        out["temperature"].sel(level=500).values.ravel(), [4.0, 5.0, 6.0, 7.0]
    )


def test_validate_reports_problems() -> None:
    good = _grid_ds(t2m=(280.0, "K"))
    schema.validate(schema.canonicalise(good))
    bad = good.rename(t2m="2m_temperature").isel(lat=[1, 0])
    bad["2m_temperature"].attrs["units"] = "degC"
    with pytest.raises(SchemaError) as info:
        schema.validate(bad, "mine")
    message = str(info.value)
    assert "'lat' is not strictly ascending" in message and "units 'degC'" in message
    assert message.startswith("mine")
