"""Real layouts beyond regular grids open canonically and say something physical.

One test per layout class of the issue (time axes from other variables, ensemble dims,
hindcast init x lead x member, files without attributes, curvilinear / rotated / projected
grids, station files), on the real files of ../shared/data where one exists and on small
generated files for the namings the real files do not cover.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import xarray as xr

import climbench
from climbench.data.curvilinear import crs_of, is_moving
from climbench.data.schema import validate
from climbench.errors import ConfigError, TimeAxisError
from tests.test_open_real_files import (
    ARM_MET,
    CESM_DMI,
    CORDEX_OROG,
    KNMI,
    ORCA2,
    SALEM_WRF,
    WRF_MERCATOR,
)

G0 = 9.80665
TAS = np.full((2, 3, 2, 4), 288.0)


def open_quiet(path, **kwargs) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return climbench.open_dataset(path, **kwargs)


# --------------------------------------------------------------------------------------
# WRF: character Times, projection from global attributes, a moving nest
# --------------------------------------------------------------------------------------


def test_wrf_katrina_t2_over_the_gulf_in_august(shared_file) -> None:
    ds = open_quiet(shared_file(WRF_MERCATOR))
    validate(ds)
    assert ds.attrs["climbench_source"] == "wrf"
    times = pd.DatetimeIndex(ds["time"].values)
    assert times.strftime("%Y-%m-%d %H").tolist() == [
        "2005-08-28 12",
        "2005-08-28 15",
        "2005-08-28 18",
        "2005-08-28 21",
    ]
    t2 = ds["2m_temperature"]
    assert t2.dims == ("time", "y", "x") and t2.attrs["units"] == "K"
    assert float(t2.min()) > 295.0 and float(t2.max()) < 305.0  # the Gulf of Mexico in August
    # the vortex-following nest moves: its positions depend on time
    assert is_moving(ds) and ds["lat"].dims == ("time", "y", "x")
    assert float(ds["lat"].min()) > 20 and float(ds["lat"].max()) < 32
    assert float(ds["lon"].min()) > 265 and float(ds["lon"].max()) < 280  # 95-80 W
    # Katrina: central surface pressure near 900 hPa on 28 August 2005
    psfc = ds["surface_pressure"]
    assert psfc.attrs["units"] == "Pa" and 88_000 < float(psfc.min()) < 95_000
    crs = crs_of(ds)
    assert crs is not None and crs.to_dict()["proj"] == "merc"
    # Mercator: grid-relative winds are earth-relative, so they take canonical names
    assert "10m_u_component_of_wind" in ds and "U" not in ds  # staggered U dropped
    assert "U" in ds.attrs["wrf_dropped"] and "QVAPOR" in ds.attrs["wrf_dropped"]


def test_wrf_lambert_nest_lies_inside_its_parent(shared_file) -> None:
    """salem's Tibetan Plateau pair: d1 30 km, d2 10 km, Lambert conformal; the nest's
    cells lie inside the parent and both say the same at their common time."""
    d1, d2 = (open_quiet(shared_file(SALEM_WRF.format(d))) for d in (1, 2))
    for ds, dx in ((d1, 30_000.0), (d2, 10_000.0)):
        validate(ds)
        assert not is_moving(ds)
        assert crs_of(ds).to_dict()["proj"] == "lcc"
        np.testing.assert_allclose(np.diff(ds["x"].values), dx, rtol=1e-9)
        np.testing.assert_allclose(np.diff(ds["y"].values), dx, rtol=1e-9)
        # the projection reproduces the file's own XLAT/XLONG (checked on open, to 2 % of
        # a cell); here independently: centres from x, y through pyproj
        to_lonlat = pyproj.Transformer.from_crs(crs_of(ds), "EPSG:4326", always_xy=True)
        xx, yy = np.meshgrid(ds["x"].values, ds["y"].values)
        lon, lat = to_lonlat.transform(xx, yy)
        assert np.abs(lat - ds["lat"].values).max() < 0.01
        assert np.abs((lon % 360) - ds["lon"].values).max() < 0.01
    assert float(d2["lat"].min()) > float(d1["lat"].min())
    assert float(d2["lat"].max()) < float(d1["lat"].max())
    assert float(d2["lon"].min()) > float(d1["lon"].min())
    assert float(d2["lon"].max()) < float(d1["lon"].max())
    common = np.intersect1d(d1["time"].values, d2["time"].values)
    assert common.tolist() == [np.datetime64("2005-09-21T00:00", "ns").item()]
    # at the common time, d1 bilinear at d2's cells follows d2 (the terrain-driven field)
    from climbench.data.regrid_curvilinear import bilinear_matrix

    weights = bilinear_matrix(
        d1["lat"].values, d1["lon"].values, d2["lat"].values, d2["lon"].values
    )
    coarse = weights @ d1["2m_temperature"].sel(time=common[0]).values.ravel()
    fine = d2["2m_temperature"].sel(time=common[0]).values.ravel()
    assert np.corrcoef(coarse, fine)[0, 1] > 0.9
    assert abs(coarse.mean() - fine.mean()) < 2.0  # K


def test_times_override_replaces_wrf_times(shared_file) -> None:
    given = pd.date_range("2005-08-28T12", periods=4, freq="3h") + pd.Timedelta("30min")
    ds = open_quiet(shared_file(WRF_MERCATOR), times=given)
    assert pd.DatetimeIndex(ds["time"].values).equals(given)
    with pytest.raises(TimeAxisError, match="wrong number of steps"):
        open_quiet(shared_file(WRF_MERCATOR), times=given[:3])
    with pytest.raises(ConfigError, match="not dates"):
        open_quiet(shared_file(WRF_MERCATOR), times=["soon"] * 4)


# --------------------------------------------------------------------------------------
# CORDEX rotated pole, NEMO ORCA2
# --------------------------------------------------------------------------------------


def test_cordex_rotated_pole_orography(shared_file) -> None:
    ds = open_quiet(shared_file(CORDEX_OROG))
    validate(ds)
    orog = ds["geopotential_at_surface"]
    assert orog.dims == ("y", "x") and ds.sizes == {"y": 412, "x": 424, "vertices": 4}
    crs = crs_of(ds)
    cf = crs.to_cf()
    assert cf["grid_mapping_name"] == "rotated_latitude_longitude"
    assert cf["grid_north_pole_latitude"] == 39.25
    # the file's lat/lon follow from rlat/rlon through the rotated pole (pyproj), though
    # only to 0.08 deg (lat) and 0.21 deg (lon): a quirk of this REMO file, which is why
    # regridding uses the file's own lat/lon and vertices and never recomputes them
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    rlon, rlat = np.meshgrid(ds["x"].values, ds["y"].values)
    lon, lat = to_lonlat.transform(rlon, rlat)
    assert np.abs(lat - ds["lat"].values).max() < 0.1
    assert np.abs((lon - ds["lon"].values + 180) % 360 - 180).max() < 0.25
    # each cell centre lies inside its four vertices
    assert float(abs(ds["lat_vertices"].mean("vertices") - ds["lat"]).max()) < 0.03
    assert ds["lat_vertices"].dims == ("y", "x", "vertices")
    height = orog / G0
    assert 3000 < float(height.max()) < 4810  # the Alps, below Mont Blanc
    # the domain reaches the Dead Sea (shore at -430 m); the sea is 0
    assert -440 < float(height.min()) < -300 and float((height == 0).mean()) > 0.3


def test_orca2_without_attributes_opens_with_units(shared_file) -> None:
    ds = open_quiet(shared_file(ORCA2), units={"sst": "degC"})
    validate(ds)
    sst = ds["sea_surface_temperature"]
    assert sst.dims == ("y", "x") and sst.attrs["units"] == "K"
    assert sst.attrs["climbench_original_units"] == "degC"
    assert "no attributes" in ds.attrs["climbench_note"]
    assert 0.35 < float(sst.isnull().mean()) < 0.43  # land
    assert float(sst.min()) > 269 and float(sst.max()) < 306
    # warm tropics, cold high latitudes
    lat = ds["lat"]
    assert float(sst.where(abs(lat) < 10).mean()) > float(sst.where(abs(lat) > 50).mean()) + 15
    assert crs_of(ds) is None  # no projection: bilinear regridding only


# --------------------------------------------------------------------------------------
# hindcasts: init x lead x member
# --------------------------------------------------------------------------------------


def test_cesm_hindcast_skill_falls_with_lead(shared_file) -> None:
    """CESM IOD hindcasts: inits every 3 months from decimal years, 20 members, leads in
    months. Scored against the lead-0 ensemble mean at the valid time (the initialised
    state), the ensemble-mean correlation falls with lead."""
    ds = open_quiet(shared_file(CESM_DMI), units={"lead": "months"})
    validate(ds)
    dmi = ds["dmi"]
    assert dmi.dims == ("init_time", "lead_time", "member")
    assert ds.sizes == {"init_time": 552, "lead_time": 12, "member": 20}
    assert ds["lead_time"].attrs["units"] == "months"
    inits = pd.DatetimeIndex(ds["init_time"].values)
    assert inits[0] == pd.Timestamp("1880-01-01") and inits[-1] == pd.Timestamp("2017-10-01")
    assert set(inits.month) == {1, 4, 7, 10}
    valid = ds["valid_time"].sel(init_time="1880-10-01", lead_time=5).values
    assert pd.Timestamp(valid) == pd.Timestamp("1881-03-01")
    mean = dmi.mean("member")
    truth = pd.Series(mean.sel(lead_time=0).values, index=inits)
    skill = []
    for lead in (3, 6, 9):
        forecast = pd.Series(
            mean.sel(lead_time=lead).values,
            index=pd.DatetimeIndex(ds["valid_time"].sel(lead_time=lead).values),
        )
        both = pd.concat([forecast, truth], axis=1, join="inner").dropna()
        assert len(both) > 500
        skill.append(float(np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]))
    assert skill[0] > skill[1] > skill[2], skill
    assert skill[0] > 0.5, skill


@pytest.mark.parametrize(
    ("init", "lead", "units", "first_valid"),
    [
        ("reftime", "leadtime", "days", "2001-01-03"),
        ("init", "lead", "years", "2003-01-01"),
        ("time", "step", "hours", "2001-01-01T12"),
    ],
)
def test_hindcast_namings_become_the_forecast_layout(
    tmp_path: Path, init: str, lead: str, units: str, first_valid: str
) -> None:
    inits = pd.date_range("2001-01-01", periods=3, freq="MS")
    values = np.random.default_rng(1).normal(280, 2, (3, 2, 4, 3, 5)).astype("float32")
    ds = xr.Dataset(
        {"t2m": ((init, lead, "realization", "lat", "lon"), values, {"units": "K"})},
        coords={
            init: inits,
            lead: (lead, [2, 4] if units != "hours" else [12, 24], {"units": units}),
            "realization": [1, 2, 3, 4],
            "lat": [10.0, 11.0, 12.0],
            "lon": np.arange(5.0),
        },
    )
    path = tmp_path / "hindcast.nc"
    ds.to_netcdf(path)
    out = climbench.open_dataset(path)
    validate(out)
    t2m = out["2m_temperature"]
    assert t2m.dims == ("init_time", "lead_time", "member", "lat", "lon")
    assert out["member"].values.tolist() == [1, 2, 3, 4]
    assert pd.Timestamp(out["valid_time"].values[0, 0]) == pd.Timestamp(first_valid)
    np.testing.assert_array_equal(t2m.values, values)


def test_ensemble_member_dims_keep_member_metadata(tmp_path: Path) -> None:
    """CMIP6 catalogues stack models on `member_id` with institution and source as
    coordinates: the dim becomes `member`, the metadata stay."""
    ds = xr.Dataset(
        {
            "tas": (
                ("member_id", "time", "lat", "lon"),
                np.full((2, 3, 2, 4), 288.0),
                {"units": "K"},
            )
        },
        coords={
            "member_id": ["r1i1p1f1", "r2i1p1f1"],
            "institution_id": ("member_id", ["CSIRO", "NCAR"]),
            "source_id": ("member_id", ["ACCESS-ESM1-5", "CESM2"]),
            "time": pd.date_range("2000-01-01", periods=3, freq="MS"),
            "lat": [-45.0, 45.0],
            "lon": [0.0, 90.0, 180.0, 270.0],
        },
    )
    path = tmp_path / "members.nc"
    ds.to_netcdf(path)
    out = climbench.open_dataset(path)
    validate(out)
    assert out["2m_temperature"].dims == ("time", "member", "lat", "lon")
    assert out["member"].values.tolist() == ["r1i1p1f1", "r2i1p1f1"]
    assert out["institution_id"].dims == ("member",)
    assert out["source_id"].values.tolist() == ["ACCESS-ESM1-5", "CESM2"]


def test_decimal_years_off_months_are_refused_naming_times(tmp_path: Path) -> None:
    ds = xr.Dataset(
        {"dmi": (("time", "lead"), np.zeros((3, 2)))},
        coords={"time": [1880.01, 1880.37, 1880.5], "lead": ("lead", [0, 1], {"units": "months"})},
    )
    path = tmp_path / "decimal.nc"
    ds.to_netcdf(path)
    with pytest.raises(TimeAxisError) as info:
        climbench.open_dataset(path)
    assert "times=[...]" in str(info.value) and str(path) in str(info.value)
    given = ["1880-01-05", "1880-05-15", "1880-07-01"]
    out = climbench.open_dataset(path, times=given)
    assert pd.DatetimeIndex(out["init_time"].values).equals(pd.DatetimeIndex(given))


# --------------------------------------------------------------------------------------
# stations: CF timeSeries (KNMI), a single station with scalar position (ARM)
# --------------------------------------------------------------------------------------


def test_knmi_stations_join_along_time(shared_file) -> None:
    paths = [shared_file(KNMI.format(hhmm)) for hhmm in ("1720", "1730")]
    ds = open_quiet(paths)
    validate(ds)
    assert ds.sizes == {"time": 2, "station": 69}
    assert pd.DatetimeIndex(ds["time"].values).strftime("%H:%M").tolist() == ["17:20", "17:30"]
    assert ds["station"].values[0] == "06201" and ds["station_name"].values[0] == "D15-FA-1"
    t2m = ds["2m_temperature"]
    assert t2m.dims == ("time", "station") and t2m.attrs["units"] == "K"
    netherlands = (ds["lat"] > 50.5) & (ds["lat"] < 54) & (ds["lon"] > 3) & (ds["lon"] < 7.5)
    assert int(netherlands.sum()) > 30
    dutch = t2m.where(netherlands, drop=True) - 273.15
    assert float(dutch.min()) > 0.0 and float(dutch.max()) < 30.0  # May afternoon, degC
    mslp = ds["mean_sea_level_pressure"]
    assert mslp.attrs["units"] == "Pa" and 98_000 < float(mslp.mean()) < 104_000
    # KNMI's t10 is the temperature 10 cm above ground, not at 10 hPa: kept aside
    assert "temperature" not in ds and "obs_t10" in ds
    assert float(ds["obs_t10"].max()) < 60  # still degC, unconverted
    assert float(ds["elevation"].min()) > -10 and float(ds["elevation"].max()) < 400


def test_arm_single_station_with_quality_flags(shared_file) -> None:
    path = shared_file(ARM_MET)
    ds = open_quiet(path)
    validate(ds)
    assert ds.sizes == {"time": 1440, "station": 1}
    assert ds["station"].values.tolist() == ["sgpE13"]
    assert float(ds["lat"][0]) == pytest.approx(36.605)
    assert float(ds["lon"][0]) == pytest.approx(360 - 97.485)
    assert float(ds["elevation"][0]) == 318.0
    t2m = ds["2m_temperature"].isel(station=0)
    assert t2m.attrs["units"] == "K"
    assert float(t2m.min()) > 263 and float(t2m.max()) < 290  # Oklahoma, 1 January
    ps = ds["surface_pressure"].isel(station=0)
    assert ps.attrs["units"] == "Pa" and 95_000 < float(ps.mean()) < 100_000  # 318 m
    # flags: values whose qc bits are assessed Bad are NaN, the others untouched
    raw = xr.open_dataset(path)
    bad = (raw["qc_temp_mean"].values & 0b111) != 0
    assert np.isnan(t2m.values[bad]).all()
    np.testing.assert_allclose(t2m.values[~bad], raw["temp_mean"].values[~bad] + 273.15, 1e-6)


def test_cmip6_native_ocean_grid_opens_curvilinear(tmp_path: Path) -> None:
    """A CMIP6 ocean variable on its native grid (2-D lat/lon on j, i with vertices) keeps
    its DRS metadata and opens as a curvilinear grid."""
    lat = np.linspace(-60, 60, 5)[:, None] + np.zeros((1, 6))
    lon = np.linspace(0, 300, 6)[None, :] + 2.0 * np.arange(5)[:, None]
    ds = xr.Dataset(
        {"tos": (("time", "j", "i"), np.full((2, 5, 6), 15.0), {"units": "degC"})},
        coords={
            "time": pd.date_range("2000-01-16", periods=2, freq="MS"),
            "latitude": (("j", "i"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "longitude": (("j", "i"), lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"mip_era": "CMIP6", "source_id": "ACCESS-OM2", "variable_id": "tos"},
    )
    path = tmp_path / "tos_Omon_ACCESS-OM2_historical_r1i1p1f1_gn_200001-200002.nc"
    ds.to_netcdf(path)
    out = climbench.open_dataset(path)
    validate(out)
    assert out.attrs["climbench_source"] == "cmip6" and out.attrs["source_id"] == "ACCESS-OM2"
    assert out["sea_surface_temperature"].dims == ("time", "y", "x")
    assert float(out["sea_surface_temperature"].max()) == pytest.approx(288.15)


def test_time_axis_from_other_variables(tmp_path: Path) -> None:
    """A time dim without coordinate: a reference time plus a lead per step, or one
    datetime variable along it, give the times; decimal years on month centres too."""
    base = xr.Dataset(
        {"t2m": (("time", "lat", "lon"), np.full((3, 2, 2), 280.0, "float32"), {"units": "K"})},
        coords={"lat": [10.0, 20.0], "lon": [0.0, 10.0]},
    )
    ref = base.assign(
        forecast_reference_time=((), np.datetime64("2020-03-01T00", "ns")),
        lead=("time", [6.0, 12.0, 18.0], {"units": "hours"}),
    )
    ref.to_netcdf(tmp_path / "ref.nc")
    out = climbench.open_dataset(tmp_path / "ref.nc")
    assert pd.DatetimeIndex(out["time"].values).strftime("%d %H").tolist() == [
        "01 06",
        "01 12",
        "01 18",
    ]
    dated = base.assign(date=("time", pd.date_range("2020-01-01", periods=3, freq="D")))
    dated.to_netcdf(tmp_path / "dated.nc")
    out = climbench.open_dataset(tmp_path / "dated.nc")
    assert pd.DatetimeIndex(out["time"].values)[-1] == pd.Timestamp("2020-01-03")
    decimal = base.assign_coords(time=[2001 + (m + 0.5) / 12 for m in range(3)])
    decimal.to_netcdf(tmp_path / "decimal.nc")
    out = climbench.open_dataset(tmp_path / "decimal.nc")
    validate(out)
    assert pd.DatetimeIndex(out["time"].values).strftime("%Y-%m").tolist() == [
        "2001-01",
        "2001-02",
        "2001-03",
    ]
    # a lead without units is not certain: refused, naming the candidates and times=
    ref.assign(lead=("time", [6.0, 12.0, 18.0])).to_netcdf(tmp_path / "nounits.nc")
    with pytest.raises(TimeAxisError) as info:
        climbench.open_dataset(tmp_path / "nounits.nc")
    message = str(info.value)
    assert "times=[...]" in message and "['forecast_reference_time', 'lead']" in message
    out = climbench.open_dataset(tmp_path / "nounits.nc", units={"lead": "hours"})
    assert pd.DatetimeIndex(out["time"].values)[0] == pd.Timestamp("2020-03-01T06")
