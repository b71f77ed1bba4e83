"""Every real reference file opens into the canonical schema, with its physical facts.

The files are real data with real quirks (../shared/data/README.md); each test names the
quirk it checks and asserts canonical names, units, coordinate order and something the
data must say physically (so a wrong conversion or a shuffled axis fails).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cftime
import numpy as np
import pytest
import xarray as xr

import climbench
from climbench.data.grids import cell_area_weights
from climbench.data.layouts import layout_of
from climbench.data.schema import validate
from climbench.data.vocabulary import BY_NAME
from climbench.errors import (
    ClimbenchError,
    DataFileError,
    TimeAxisError,
    UnitsError,
)

G0 = 9.80665
CMIP6 = "Climate-REF+ref-sample-data/data/CMIP6"
ACCESS = f"{CMIP6}/CMIP/CSIRO/ACCESS-ESM1-5"
TAS_PI = (
    f"{ACCESS}/piControl/r1i1p1f1/Amon/tas/gn/v20210316/"
    "tas_Amon_ACCESS-ESM1-5_piControl_r1i1p1f1_gn_010101-018012.nc"
)
TAS_1PCT = (
    f"{ACCESS}/1pctCO2/r1i1p1f1/Amon/tas/gn/v20191115/"
    "tas_Amon_ACCESS-ESM1-5_1pctCO2_r1i1p1f1_gn_010101-018012.nc"
)
TAS_4X = (
    f"{ACCESS}/abrupt-4xCO2/r1i1p1f1/Amon/tas/gn/v20191115/"
    "tas_Amon_ACCESS-ESM1-5_abrupt-4xCO2_r1i1p1f1_gn_010101-012512.nc"
)
TAS_HIST = (
    f"{ACCESS}/historical/r1i1p1f1/Amon/tas/gn/v20191115/"
    "tas_Amon_ACCESS-ESM1-5_historical_r1i1p1f1_gn_200001-201412.nc"
)
PR_HIST = (
    f"{ACCESS}/historical/r1i1p1f1/Amon/pr/gn/v20191115/"
    "pr_Amon_ACCESS-ESM1-5_historical_r1i1p1f1_gn_200001-201412.nc"
)
TAS_SSP126 = (
    f"{CMIP6}/ScenarioMIP/CSIRO/ACCESS-ESM1-5/ssp126/r1i1p1f1/Amon/tas/gn/"
    "v20210318/tas_Amon_ACCESS-ESM1-5_ssp126_r1i1p1f1_gn_201501-202512.nc"
)
AREACELLA = (
    f"{ACCESS}/piControl/r1i1p1f1/fx/areacella/gn/v20210316/"
    "areacella_fx_ACCESS-ESM1-5_piControl_r1i1p1f1_gn.nc"
)
OGGM = "OGGM+oggm-sample-data/test-workflow/climate"
QUEBEC = "hydrologie+xhydro-testdata/data/precip_oi/ERA5_land_3_variables_raw_subset.nc"
ERA5_UK = "pydata+xarray-data/era5-2mt-2019-03-uk.grib"
ERA5_EDA = "ecmwf+cfgrib/tests/sample-data/era5-levels-members.grib"
ERAINT = "pydata+xarray-data/eraint_uvz.nc"
ERSST = "xarray-contrib+xarray-tutorial/data/sst.mnmean.nc"
ROCKETPY = "RocketPy-Team+RocketPy/data/weather/hedy_euroc_2025_weather_data.nc"
MERRA2_DIR = "KANISHKLEGENDARY+ISRO-Hackathon-AeroSphinX-Project-/merra_downloads"
CLIMATEBENCH_CSV = "duncanwp+ClimateBench/inputs_NorESM2_ERF.csv"
WRF_MERCATOR = "NCAR+wrf-python/test/ci_tests/ci_test_file.nc"
SALEM_WRF = "fmaussion+salem-sample-data/salem-test/grid/wrf_tip_d{}.nc"
CORDEX_OROG = (
    "euro-cordex+py-cordex/examples/plots/data/"
    "orog_EUR-11_ECMWF-ERAINT_evaluation_r0i0p0_GERICS-REMO2015_v1_fx.nc"
)
ORCA2 = "NCAS-CMS+cf-plot/docs/source/data/orca2.nc"
KNMI = (
    "tintin10q+KNMI.nl-Dataloader/data_engineering_project/data_engineering_project/"
    "KMDS__OPER_P___10M_OBS_L2_20240516{}.nc"
)
ARM_MET = "ARM-DOE+arm-test-data/data/sgpmetE13.b1.20190101.000000.cdf"
CESM_DMI = "XunshuS+CESM-138-year-IOD-hindcast/CESM_fc_dmi.nc"
WGUST_ENS = "ecmwf+metview-python/examples/wgust_ens.grib"

#: files that open only with an override the file cannot supply itself
OVERRIDES = {
    QUEBEC: {"units": {"tasmax": "degC", "tasmin": "degC"}},  # degC labelled "mm d-1"
    ORCA2: {"units": {"sst": "degC"}},  # no attributes at all
    CESM_DMI: {"units": {"lead": "months", "dmi": "K"}},  # no attributes at all
}
#: what each file in OVERRIDES raises without its override, and the override it names
REFUSED_WITHOUT_OVERRIDE = {
    QUEBEC: (UnitsError, "units={'tasmax'"),
    ORCA2: (UnitsError, "units={'sst'"),
    CESM_DMI: (TimeAxisError, "units={'lead': 'months'}"),
}
#: the canonical layout of every file that is not on a regular grid (the others are)
LAYOUTS = {
    WRF_MERCATOR: "curvilinear",
    SALEM_WRF.format(1): "curvilinear",
    SALEM_WRF.format(2): "curvilinear",
    CORDEX_OROG: "curvilinear",
    ORCA2: "curvilinear",
    KNMI.format("1720"): "station",
    KNMI.format("1730"): "station",
    ARM_MET: "station",
    CESM_DMI: "index",
}
SPATIAL_DIMS = {
    "regular": ("lat", "lon"),
    "curvilinear": ("y", "x"),
    "station": ("station",),
    "index": (),
}


def global_mean(da: xr.DataArray) -> xr.DataArray:
    """Area-weighted mean over lat and lon (cell-area weights of the design)."""
    w = xr.DataArray(cell_area_weights(da["lat"].values), dims="lat", coords={"lat": da["lat"]})
    return da.weighted(w).mean(["lat", "lon"])


def assert_dims(da: xr.DataArray, dims: tuple[str, ...]) -> None:
    assert da.dims == dims, f"{da.name}: dims {da.dims}, expected {dims}"


def open_quiet(path, **kwargs) -> xr.Dataset:
    """open_dataset, ignoring the expected CMIP6 path/attribute notices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return climbench.open_dataset(path, **kwargs)


# --------------------------------------------------------------------------------------
# every gridded file in the reference folder
# --------------------------------------------------------------------------------------


def _data_files() -> list[str]:
    from tests.conftest import shared_data_dir

    root = shared_data_dir()
    if not root.is_dir():
        return []
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".nc", ".grib", ".grb", ".nc4", ".cdf")
    )


@pytest.mark.parametrize("relative", _data_files() or ["<no reference data>"])
def test_every_data_file_opens_canonical(shared_data: Path, relative: str) -> None:
    """Every netCDF / GRIB file of the reference folder opens into its canonical layout
    (with the override OVERRIDES names, where the file cannot say it itself)."""
    path = shared_data / relative
    if not path.exists():
        pytest.skip("no reference data")
    ds = open_quiet(path, **OVERRIDES.get(relative, {}))
    validate(ds, relative)
    layout = LAYOUTS.get(relative, "regular")
    assert layout_of(ds) == layout
    assert ds.data_vars, "no variables"
    spatial = SPATIAL_DIMS[layout]
    for name, da in ds.data_vars.items():
        # names outside the vocabulary keep the file's attributes (salem's `roi` has none)
        assert name not in BY_NAME or "units" in da.attrs, f"{name} has no units"
        assert da.dims[len(da.dims) - len(spatial) :] == spatial, f"{name}: {da.dims}"


@pytest.mark.parametrize("relative", sorted(REFUSED_WITHOUT_OVERRIDE))
def test_file_needing_an_override_is_refused_naming_it(shared_file, relative: str) -> None:
    """Without its override the file is refused with a ClimbenchError that names the
    file, what was expected and found, and the override to pass."""
    path = shared_file(relative)
    expected, override = REFUSED_WITHOUT_OVERRIDE[relative]
    error = _refusal(path)
    assert isinstance(error, expected), type(error).__name__
    message = str(error)
    assert str(path) in message and error.expected and error.found, message
    assert override in message, message


def test_ecmwf_ensemble_grib_opens_in_the_forecast_layout(shared_file) -> None:
    """ENS wind gusts: the single init becomes init_time, the steps lead_time, number
    member; latitude ascending, -20..30 E wrapped to [0, 360)."""
    ds = open_quiet(shared_file(WGUST_ENS))
    validate(ds)
    assert ds.attrs["climbench_source"] == "ecmwf-ens" and ds.attrs["product"] == "ECMWF-ENS"
    assert ds.attrs["ecmwf_data_type"] == "pf"  # perturbed members only, no control
    gust = ds["fg10_6"]
    assert gust.dims == ("init_time", "lead_time", "member", "lat", "lon")
    assert ds.sizes["member"] == 50 and ds.sizes["lead_time"] == 3
    assert ds["init_time"].values.tolist() == [np.datetime64("2018-11-20T12:00", "ns").item()]
    hours = ds["lead_time"].values / np.timedelta64(1, "h")
    assert hours.tolist() == [60.0, 66.0, 72.0]
    assert (np.diff(ds["lat"].values) > 0).all() and ds["lat"].values[0] == 35.0
    assert ds["lon"].values.min() == 0.0 and ds["lon"].values.max() == 359.0
    assert float(gust.min()) > 0.0 and float(gust.max()) < 60.0  # m s-1


def _refusal(path: Path) -> ClimbenchError:
    with pytest.raises(ClimbenchError) as info:
        open_quiet(path)
    return info.value


# --------------------------------------------------------------------------------------
# CMIP6 ACCESS-ESM1-5
# --------------------------------------------------------------------------------------


def test_cmip6_1pctco2_minus_picontrol_warming_is_about_2k(shared_file) -> None:
    pi = open_quiet(shared_file(TAS_PI))["2m_temperature"]
    pct = open_quiet(shared_file(TAS_1PCT))["2m_temperature"]
    years = slice("0161-01-01", "0180-12-31")  # years 61-80 of runs starting at 0101
    pi, pct = pi.sel(time=years), pct.sel(time=years)
    assert pi.sizes["time"] == pct.sizes["time"] == 240
    delta = float(global_mean(pct).mean() - global_mean(pi).mean())
    assert 1.5 < delta < 2.5, delta

    # the same with the model's own cell areas (areacella)
    area = open_quiet(shared_file(AREACELLA))["cell_area"]
    delta_area = float(pct.weighted(area).mean() - pi.weighted(area).mean())
    assert 1.5 < delta_area < 2.5
    assert abs(delta - delta_area) < 0.1


def test_cmip6_drs_metadata_and_cftime_calendar(shared_file) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = climbench.open_dataset(shared_file(TAS_PI))
    # path and file disagree only on the version, which is not a conflict worth a warning
    assert not [w for w in caught if "CMIP6" in str(w.message)]
    expected = {
        "activity_id": "CMIP",
        "institution_id": "CSIRO",
        "source_id": "ACCESS-ESM1-5",
        "experiment_id": "piControl",
        "member_id": "r1i1p1f1",
        "table_id": "Amon",
        "variable_id": "tas",
        "grid_label": "gn",
        # the DRS directory (ESGF publication) version, not the file's CMOR-time label
        "version": "v20210316",
    }
    assert {k: ds.attrs.get(k) for k in expected} == expected
    assert ds.attrs["file_version"] == "v20191112"  # the file's own attribute, kept
    assert ds.attrs["climbench_source"] == "cmip6"
    tas = ds["2m_temperature"]
    assert_dims(tas, ("time", "lat", "lon"))
    assert tas.attrs["units"] == "K"
    assert tas.attrs["climbench_source_name"] == "tas"
    # year 0101 cannot be a numpy datetime64: the calendar is kept as cftime
    first = ds["time"].values[0]
    assert isinstance(first, cftime.datetime)
    assert not np.issubdtype(ds["time"].dtype, np.datetime64)
    assert (first.year, first.month) == (101, 1)
    assert first.calendar == "proleptic_gregorian"
    assert ds.sizes["time"] == 960
    assert ds.sizes["lat"] == 19 and ds.sizes["lon"] == 36
    assert "height" not in ds.coords
    assert 280 < float(global_mean(tas).mean()) < 292


def test_cmip6_drs_metadata_forced_source(shared_file) -> None:
    ds = open_quiet(shared_file(TAS_1PCT), source="cmip6")
    assert ds.attrs["experiment_id"] == "1pctCO2"
    assert ds.attrs["version"] == "v20191115"
    assert ds.attrs["activity_id"] == "CMIP"
    # forcing the generic CF adapter gives the same data without DRS metadata
    cf = open_quiet(shared_file(TAS_1PCT), source="cf")
    assert cf.attrs["climbench_source"] == "cf"
    xr.testing.assert_identical(
        cf["2m_temperature"].isel(time=0).reset_coords(drop=True),
        ds["2m_temperature"].isel(time=0).reset_coords(drop=True),
    )


def test_cmip6_abrupt4xco2_warms_faster_than_1pctco2(shared_file) -> None:
    ds = open_quiet(shared_file(TAS_4X))
    assert ds.attrs["experiment_id"] == "abrupt-4xCO2"
    tas4x = global_mean(ds["2m_temperature"].sel(time=slice("0121", "0125"))).mean()
    pi = global_mean(
        open_quiet(shared_file(TAS_PI))["2m_temperature"].sel(time=slice("0121", "0125"))
    ).mean()
    assert 3.0 < float(tas4x - pi) < 6.0  # years 21-25 after quadrupling CO2


def test_cmip6_toa_energy_budget(shared_file) -> None:
    def budget(experiment: str, version: str) -> float:
        parts = {}
        for var in ("rsdt", "rsut", "rlut"):
            path = shared_file(
                f"{ACCESS}/{experiment}/r1i1p1f1/Amon/{var}/gn/{version}/"
                f"{var}_Amon_ACCESS-ESM1-5_{experiment}_r1i1p1f1_gn_"
                "010101-012512.nc"
            )
            ds = open_quiet(path)
            (name,) = ds.data_vars
            assert ds[name].attrs["units"] == "W m-2"
            parts[var] = float(global_mean(ds[name]).mean())
        assert 338 < parts["rsdt"] < 344  # solar constant / 4
        assert 230 < parts["rlut"] < 255
        assert 80 < parts["rsut"] < 110
        return parts["rsdt"] - parts["rsut"] - parts["rlut"]

    assert abs(budget("piControl", "v20210316")) < 1.5  # control: near balance
    assert budget("abrupt-4xCO2", "v20191115") > 2.0  # quadrupled CO2: Earth gains energy


def test_cmip6_historical_pr_units_and_numpy_time(shared_file) -> None:
    ds = open_quiet(shared_file(PR_HIST))
    pr = ds["mean_total_precipitation_rate"]
    assert pr.attrs["units"] == "kg m-2 s-1"
    assert pr.attrs["climbench_source_name"] == "pr"
    assert_dims(pr, ("time", "lat", "lon"))
    assert ds.attrs["variable_id"] == "pr" and ds.attrs["experiment_id"] == "historical"
    assert np.issubdtype(ds["time"].dtype, np.datetime64)  # 2000-2014 fits numpy dates
    mm_per_day = float(global_mean(pr).mean()) * 86400
    assert 2.5 < mm_per_day < 3.5  # global precipitation about 1 m per year


def test_cmip6_ssp126_warmer_than_picontrol(shared_file) -> None:
    ssp = open_quiet(shared_file(TAS_SSP126))
    hist = open_quiet(shared_file(TAS_HIST))
    assert ssp.attrs["activity_id"] == "ScenarioMIP"
    assert ssp.attrs["experiment_id"] == "ssp126"
    assert str(ssp["time"].values[0])[:7] == "2015-01"
    pi = float(global_mean(open_quiet(shared_file(TAS_PI))["2m_temperature"]).mean())
    t_hist = float(global_mean(hist["2m_temperature"]).mean())
    t_ssp = float(global_mean(ssp["2m_temperature"]).mean())
    assert 0.3 < t_hist - pi < 2.0
    assert t_ssp > t_hist


def test_cmip6_areacella_follows_cell_area_weights(shared_file) -> None:
    ds = open_quiet(shared_file(AREACELLA))
    area = ds["cell_area"]
    assert area.attrs["units"] == "m2"
    assert_dims(area, ("lat", "lon"))
    assert "time" not in ds.dims
    assert ds.attrs["table_id"] == "fx" and ds.attrs["variable_id"] == "areacella"
    # The file was regridded upstream (native-grid cell areas sampled at 10 deg points),
    # so it does not sum to the Earth's area, but it is uniform along longitude and its
    # shape in latitude is the cell-area weights of our grids (away from the pole rows).
    assert float(area.std("lon").max() / area.mean()) < 1e-3
    row = area.mean("lon").values
    row = row / row.mean()
    np.testing.assert_allclose(row[1:-1], cell_area_weights(ds["lat"].values)[1:-1], rtol=0.01)
    assert row.argmax() == len(row) // 2  # lat ascending: the equator row is the middle


# --------------------------------------------------------------------------------------
# ERA5 family
# --------------------------------------------------------------------------------------


def test_era5_uk_grib(shared_file) -> None:
    path = shared_file(ERA5_UK)
    ds = climbench.open_dataset(path)
    validate(ds)
    t2m = ds["2m_temperature"]
    assert list(ds.data_vars) == ["2m_temperature"]
    assert_dims(t2m, ("time", "lat", "lon"))
    assert t2m.attrs["units"] == "K" and t2m.attrs["climbench_source_name"] == "t2m"
    assert ds.attrs["climbench_format"] == "grib" and ds.attrs["climbench_source"] == "era5"
    assert ds.sizes == {"time": 744, "lat": 33, "lon": 49}
    assert str(ds["time"].values[0])[:13] == "2019-03-01T00"
    assert str(ds["time"].values[-1])[:13] == "2019-03-31T23"
    # latitude was descending in the file; longitude -10..2 wraps to 350..359.75 and 0..2
    assert ds["lat"].values[0] == 50.0 and ds["lat"].values[-1] == 58.0
    assert set(ds["lon"].values) == set(np.arange(-10, 2.01, 0.25) % 360)
    raw = xr.open_dataset(path, engine="cfgrib", backend_kwargs={"indexpath": ""})
    np.testing.assert_array_equal(
        t2m.sel(lat=50.0, lon=350.0).values, raw["t2m"].sel(latitude=50.0, longitude=-10.0).values
    )
    mean = float(t2m.mean())
    assert 275 < mean < 285  # UK in March: a few degrees C
    assert float(t2m.min()) > 255 and float(t2m.max()) < 295


def test_era5_eda_members_grib(shared_file) -> None:
    ds = climbench.open_dataset(shared_file(ERA5_EDA))
    validate(ds)
    z = ds["geopotential"]
    assert_dims(z, ("time", "member", "level", "lat", "lon"))
    assert_dims(ds["temperature"], ("time", "member", "level", "lat", "lon"))
    assert ds.sizes["member"] == 10 and ds.sizes["time"] == 4
    assert ds["level"].values.tolist() == [500.0, 850.0]
    assert ds["level"].attrs["units"] == "hPa"
    assert ds.sizes["lat"] == 61 and ds.sizes["lon"] == 120
    assert ds["lat"].values[0] == -90.0 and ds["lat"].values[-1] == 90.0
    assert (np.diff(ds["lat"].values) > 0).all()
    assert z.attrs["units"] == "m2 s-2"
    # z500 is about 5500 gpm; the EDA spread of z500 is of the order of 10 m2 s-2
    z500 = z.sel(level=500)
    assert 4.5e4 < float(z500.mean()) < 6e4
    spread = float(z500.std("member").mean())
    assert 1.0 < spread < 100.0, spread
    # members differ from each other but not by much; 850 hPa is warmer than 500 hPa
    t = ds["temperature"]
    assert float(t.sel(level=850).mean()) > float(t.sel(level=500).mean()) + 10


def test_erainterim_longitudes_shifted_values_preserved(shared_file) -> None:
    path = shared_file(ERAINT)
    ds = climbench.open_dataset(path)
    validate(ds)
    with warnings.catch_warnings():  # the file's NaN _FillValue on float64 data
        warnings.simplefilter("ignore", xr.SerializationWarning)
        raw = xr.open_dataset(path)
    assert float(raw["longitude"].min()) == -180.0
    lon = ds["lon"].values
    assert lon[0] == 0.0 and lon[-1] == pytest.approx(359.25)
    assert lon.size == 480 and (np.diff(lon) > 0).all()
    assert ds["lat"].values[0] == -90.0
    z = ds["geopotential"]
    assert_dims(z, ("month", "level", "lat", "lon"))  # no time axis: month comes first
    assert ds["level"].values.tolist() == [200.0, 500.0, 850.0]
    for lon_raw, lat in ((-180.0, 0.0), (-90.75, 45.0), (179.25, -30.0), (0.0, 60.0)):
        np.testing.assert_array_equal(
            z.sel(lon=lon_raw % 360, lat=lat).values,
            raw["z"].sel(longitude=lon_raw, latitude=lat).values,
        )
    # physical: z500 in January, global mean about 5.5e4 m2 s-2; 200 hPa above 500 hPa
    z_jan = global_mean(z.sel(month=1))
    assert 5.2e4 < float(z_jan.sel(level=500)) < 5.8e4
    assert float(z_jan.sel(level=200)) > float(z_jan.sel(level=500)) > float(z_jan.sel(level=850))
    # westerlies: zonal-mean u at 200 hPa, 30-45N in January is strongly positive
    u = ds["u_component_of_wind"].sel(month=1, level=200, lat=slice(30, 45)).mean()
    assert float(u) > 15


def test_ersst_degc_to_kelvin_and_land_nan(shared_file) -> None:
    path = shared_file(ERSST)
    ds = climbench.open_dataset(path)
    validate(ds)
    sst = ds["sea_surface_temperature"]
    assert_dims(sst, ("time", "lat", "lon"))
    assert sst.attrs["units"] == "K"
    assert sst.attrs["climbench_original_units"].lower().startswith("deg")
    assert ds.sizes["time"] == 128
    assert (np.diff(ds["lat"].values) > 0).all()
    nan_fraction = float(sst.isnull().mean())
    assert 0.29 < nan_fraction < 0.33
    assert float(sst.min()) > 270 and float(sst.max()) < 310
    raw = xr.open_dataset(path)
    np.testing.assert_allclose(
        float(sst.isel(time=5).sel(lat=0.0, lon=200.0)),
        float(raw["sst"].isel(time=5).sel(lat=0.0, lon=200.0)) + 273.15,
        rtol=1e-6,
    )


def test_new_cds_netcdf_layout(shared_file) -> None:
    path = shared_file(ROCKETPY)
    ds = climbench.open_dataset(path)
    validate(ds)
    assert set(ds.data_vars) == {
        "geopotential",
        "temperature",
        "u_component_of_wind",
        "v_component_of_wind",
    }
    for da in ds.data_vars.values():
        assert_dims(da, ("time", "level", "lat", "lon"))
    assert "valid_time" not in ds.variables and "pressure_level" not in ds.variables
    assert "expver" not in ds.variables and "member" not in ds.variables
    assert ds.sizes["time"] == 6 and ds.sizes["level"] == 17
    level = ds["level"].values
    assert level[0] == 450.0 and level[-1] == 1000.0 and (np.diff(level) > 0).all()
    assert (np.diff(ds["lat"].values) > 0).all()
    assert ds["lon"].values.min() >= 350  # -10..-6 wrapped
    # geopotential decreases and temperature increases towards the ground
    z = ds["geopotential"].mean(["time", "lat", "lon"]).values
    t = ds["temperature"].mean(["time", "lat", "lon"]).values
    assert (np.diff(z) < 0).all()
    assert t[-1] > t[0] + 20
    raw = xr.open_dataset(path)
    np.testing.assert_array_equal(
        ds["temperature"].isel(time=0).sel(level=850.0, lat=38.0, lon=351.0).values,
        raw["t"].isel(valid_time=0).sel(pressure_level=850.0, latitude=38.0, longitude=-9.0).values,
    )


def test_oggm_era5_and_era5_land_t2m_correlate(shared_file) -> None:
    era5 = climbench.open_dataset(shared_file(f"{OGGM}/sel_era5_monthly_t2m_1979-2018.nc"))
    land = climbench.open_dataset(shared_file(f"{OGGM}/sel_era5_land_monthly_t2m_1981-2018.nc"))
    for ds in (era5, land):
        validate(ds)
        assert_dims(ds["2m_temperature"], ("time", "lat", "lon"))
        assert ds["2m_temperature"].attrs["units"] == "K"
    assert era5.attrs["product"] == "ERA5" and land.attrs["product"] == "ERA5-Land"
    assert era5.sizes["time"] == 480 and land.sizes["time"] == 456
    a, b = xr.align(
        era5["2m_temperature"].mean(["lat", "lon"]), land["2m_temperature"].mean(["lat", "lon"])
    )
    assert a.sizes["time"] == 456  # 1981-2018
    r = float(np.corrcoef(a.values, b.values)[0, 1])
    assert r > 0.99, r
    # the ERA5-Land grid is finer and sits inside the ERA5 grid
    assert land.sizes["lat"] > era5.sizes["lat"]
    assert float(land.lat.min()) >= float(era5.lat.min()) - 0.125


@pytest.mark.parametrize(
    "name", ["sel_era5_monthly_prcp_1979-2018.nc", "sel_era5_land_monthly_prcp_1981-2018.nc"]
)
def test_oggm_precipitation(shared_file, name: str) -> None:
    ds = climbench.open_dataset(shared_file(f"{OGGM}/{name}"))
    validate(ds)
    # ERA5 monthly means of tp are mean daily totals, so tp becomes a 24-hour total
    assert "total_precipitation" not in ds.data_vars
    tp = ds["total_precipitation_24hr"]
    assert tp.attrs["units"] == "m" and tp.attrs["climbench_source_name"] == "tp24"
    assert "daily totals" in tp.attrs["cell_methods"]
    assert_dims(tp, ("time", "lat", "lon"))
    assert float(tp.min()) >= 0
    # a few mm per day in the Alps
    assert 1e-3 < float(tp.mean()) < 1e-2


@pytest.mark.parametrize("name", ["sel_era5_invariant.nc", "sel_era5_land_invariant.nc"])
def test_oggm_invariants_have_no_time(shared_file, name: str) -> None:
    ds = climbench.open_dataset(shared_file(f"{OGGM}/{name}"))
    validate(ds)
    assert "time" not in ds.dims  # the length-1 time of constants is dropped
    assert set(ds.data_vars) == {"land_sea_mask", "geopotential_at_surface"}
    assert_dims(ds["geopotential_at_surface"], ("lat", "lon"))
    assert ds["geopotential_at_surface"].attrs["units"] == "m2 s-2"
    assert ds["land_sea_mask"].attrs["units"] == "1"
    assert float(ds["land_sea_mask"].min()) >= 0.0 and float(ds["land_sea_mask"].max()) <= 1
    height = float(ds["geopotential_at_surface"].mean()) / G0
    assert 1500 < height < 3500  # the Oetztal Alps


def test_quebec_wrong_units_refused_naming_tasmax(shared_file) -> None:
    path = shared_file(QUEBEC)
    with pytest.raises(UnitsError) as info:
        climbench.open_dataset(path)
    err = info.value
    assert err.variable == "tasmax"
    message = str(err)
    assert "tasmax" in message and "mm d-1" in message and str(path) in message
    assert "units={'tasmax'" in message  # says how to override


def test_quebec_units_override(shared_file) -> None:
    ds = climbench.open_dataset(shared_file(QUEBEC), units={"tasmax": "degC", "tasmin": "degC"})
    validate(ds)
    assert set(ds.data_vars) == {
        "total_precipitation",
        "maximum_2m_temperature",
        "minimum_2m_temperature",
    }
    tmax, tmin = ds["maximum_2m_temperature"], ds["minimum_2m_temperature"]
    # stored as (longitude, latitude, time), latitude descending: reordered
    assert_dims(tmax, ("time", "lat", "lon"))
    assert (np.diff(ds["lat"].values) > 0).all()
    assert ds.sizes == {"time": 365, "lat": 30, "lon": 30}
    assert tmax.attrs["units"] == "K" and tmax.attrs["climbench_original_units"] == "degC"
    jan = float(tmax.sel(time="1970-01").mean())
    jul = float(tmax.sel(time="1970-07").mean())
    assert 250 < jan < 273  # southern Quebec: below freezing in January
    assert 290 < jul < 305  # and warm in July
    assert bool((tmax >= tmin - 1e-3).all())
    # tp carries mm d-1 on daily steps: a known period, so it becomes metres per day
    tp = ds["total_precipitation"]
    assert tp.attrs["units"] == "m"
    annual = float(tp.sum("time").mean())
    assert 0.7 < annual < 1.4  # about a metre of precipitation a year


def test_merra2_daily_files_open_as_one(shared_data: Path) -> None:
    files = sorted((shared_data / MERRA2_DIR).glob("MERRA2_400.tavg1_2d_slv_Nx.202401*.nc"))
    if len(files) != 31:
        pytest.skip("MERRA-2 reference files missing")
    ds = climbench.open_dataset(files)
    validate(ds)
    assert ds.sizes["time"] == 93
    assert ds.indexes["time"].is_monotonic_increasing
    assert str(ds["time"].values[0])[:16] == "2024-01-01T11:30"
    assert str(ds["time"].values[-1])[:16] == "2024-01-31T13:30"
    assert ds.sizes["lat"] == 1 and ds.sizes["lon"] == 1
    for canonical, source in (
        ("2m_temperature", "T2M"),
        ("mean_sea_level_pressure", "SLP"),
        ("10m_u_component_of_wind", "U10M"),
        ("10m_v_component_of_wind", "V10M"),
        ("surface_pressure", "PS"),
        ("2m_specific_humidity", "QV2M"),
        ("2m_dewpoint_temperature", "T2MDEW"),
        ("skin_temperature", "TS"),
    ):
        assert ds[canonical].attrs["climbench_source_name"] == source
        assert_dims(ds[canonical], ("time", "lat", "lon"))
    for kept in ("T10M", "QV10M", "TQI", "TQL"):  # outside the vocabulary: unchanged
        assert kept in ds.data_vars
    assert ds.attrs["climbench_source"] == "merra2"
    assert ds.attrs["merra2_collection"] == "tavg1_2d_slv_Nx"
    assert ds.attrs["merra2_stream"] == "400"
    t2m = ds["2m_temperature"]
    assert t2m.attrs["units"] == "K"
    assert 280 < float(t2m.mean()) < 300  # Delhi, January, midday
    assert bool((ds["2m_dewpoint_temperature"] <= t2m + 1e-3).all())
    slp = ds["mean_sea_level_pressure"]
    assert slp.attrs["units"] == "Pa"
    assert 1.0e5 < float(slp.mean()) < 1.03e5


def test_merra2_glob_and_single_file_metadata(shared_data: Path) -> None:
    pattern = str(shared_data / MERRA2_DIR / "MERRA2_400.tavg1_2d_slv_Nx.2024010[1-3].SUB.nc")
    ds = climbench.open_dataset(pattern)
    assert ds.sizes["time"] == 9
    one = climbench.open_dataset(
        shared_data / MERRA2_DIR / "MERRA2_400.tavg1_2d_slv_Nx.20240115.SUB.nc"
    )
    assert one.attrs["merra2_date"] == "20240115"
    assert one.attrs["merra2_subset"] == "yes"
    assert one.attrs["merra2_original_file_name"] == "MERRA2_400.tavg1_2d_slv_Nx.20240115.nc4"
    assert one.sizes["time"] == 3


def test_climatebench_csv_is_refused_as_unknown_format(shared_file) -> None:
    """The ERF table is global scalars, not a gridded file: open_dataset refuses it
    clearly (tabular forcing inputs are read by the emulation task, not the loaders)."""
    path = shared_file(CLIMATEBENCH_CSV)
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    message = str(info.value)
    assert str(path) in message
    assert "unknown" in message and "year,CO2" in message
