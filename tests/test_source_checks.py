"""Source files that used to open silently wrong, or with a raw traceback, are refused.

One section per defect found by probing the loaders (``open_dataset``, ``prepare``,
``climbench data info`` / ``data prepare``): latitudes that are not degrees, Zarr stores
with missing chunks, implausible values (a wrong units label), unreadable files, time
dimensions without dates, station data, and Zarr stores with an array's metadata lost or an
array folder given for a store. Every file is generated under ``tmp_path``; each test
asserts the error class and that the message names the file and what was found.
"""

from __future__ import annotations

import builtins
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import climbench
from climbench import cli
from climbench.data import formats
from climbench.errors import (
    ClimbenchError,
    CoordinateError,
    DataFileError,
    DataValueError,
    TimeAxisError,
)
from tests.test_cli_data_info import run_main

TIMES = pd.date_range("2000-01-01", periods=4, freq="6h")


def grid_dataset(
    lat: list[float] | None = None,
    lon: list[float] | None = None,
    t2m: np.ndarray | None = None,
    units: str = "K",
) -> xr.Dataset:
    """``t2m`` (time 4 x lat x lon, about 280 K unless given) on a regular grid."""
    lat = [-10.0, 0.0, 10.0] if lat is None else lat
    lon = [0.0, 90.0, 180.0, 270.0] if lon is None else lon
    if t2m is None:
        t2m = np.random.default_rng(0).normal(280.0, 3.0, (4, len(lat), len(lon)))
    return xr.Dataset(
        {"t2m": (("time", "lat", "lon"), t2m.astype("float32"), {"units": units})},
        coords={
            "time": TIMES,
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
    )


def assert_names(err: ClimbenchError, path: Path | str, *found: str) -> str:
    """The message names the file, says what was expected and found, and contains
    each of ``found``."""
    message = str(err)
    assert str(path) in message, message
    assert err.expected and err.found, message
    for text in found:
        assert text in message, f"{text!r} not in: {message}"
    return message


# --------------------------------------------------------------------------------------
# 1. latitudes and longitudes that are not degrees
# --------------------------------------------------------------------------------------


def test_latitudes_outside_minus_90_90_are_refused(tmp_path: Path) -> None:
    """A 0..180 latitude (colatitude, or a row number) used to open, and regridding then
    dropped every row above 90 silently."""
    path = tmp_path / "colatitude.nc"
    grid_dataset(lat=[0.0, 60.0, 120.0, 180.0]).to_netcdf(path)
    with pytest.raises(CoordinateError) as info:
        climbench.open_dataset(path)
    assert info.value.variable == "lat"
    assert_names(info.value, path, "'lat'", "0..180", "[-90, 90]")


def test_longitudes_outside_minus_360_720_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lon_index.nc"
    grid_dataset(lon=[0.0, 400.0, 800.0, 1200.0]).to_netcdf(path)
    with pytest.raises(CoordinateError) as info:
        climbench.open_dataset(path)
    assert_names(info.value, path, "'lon'", "0..1200", "[-360, 720]")


def test_longitudes_from_minus_180_still_open(tmp_path: Path) -> None:
    path = tmp_path / "lon180.nc"
    grid_dataset(lon=[-180.0, -90.0, 0.0, 90.0]).to_netcdf(path)
    ds = climbench.open_dataset(path)
    assert ds["lon"].values.tolist() == [0.0, 90.0, 180.0, 270.0]


# --------------------------------------------------------------------------------------
# 2. a source Zarr store with a missing chunk file
# --------------------------------------------------------------------------------------


def _chunk_file(store: Path, array: str, index: int, zarr_format: int) -> Path:
    """The file of chunk ``index`` along the first axis (one step per chunk)."""
    if zarr_format == 3:
        return store / array / "c" / str(index)
    ndim = len(xr.open_zarr(store, consolidated=None)[array].dims)
    return store / array / ".".join([str(index)] + ["0"] * (ndim - 1))


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_store_with_a_missing_chunk_is_refused(tmp_path: Path, zarr_format: int) -> None:
    """A lost chunk reads as NaN: it used to become an all-NaN step without a warning."""
    store = tmp_path / "source.zarr"
    grid_dataset().to_zarr(store, encoding={"t2m": {"chunks": (1, 3, 4)}}, zarr_format=zarr_format)
    _remove(_chunk_file(store, "t2m", 2, zarr_format))
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(store)
    assert info.value.variable == "t2m"
    assert_names(info.value, store, "'t2m'", "3 of 4", "missing", "allow_missing_chunks")
    with pytest.raises(DataFileError, match="3 of 4"):
        climbench.prepare(store, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()


def test_corrupt_source_chunk_is_reported_by_prepare(tmp_path: Path) -> None:
    """A chunk whose bytes are damaged is found while prepare reads it: the error names
    the source, not the engine's decompression traceback, and nothing is published."""
    store = tmp_path / "source.zarr"
    grid_dataset().to_zarr(store, encoding={"t2m": {"chunks": (1, 3, 4)}}, zarr_format=3)
    chunk = next(p for p in _chunk_file(store, "t2m", 2, 3).rglob("*") if p.is_file())
    chunk.write_bytes(b"\x13" * chunk.stat().st_size)
    with pytest.raises(DataFileError) as info:
        climbench.prepare(store, tmp_path / "out.zarr")
    assert_names(info.value, store, "reading the sources failed")
    assert not (tmp_path / "out.zarr").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.zarr")]


def test_missing_coordinate_chunk_is_damage_too(tmp_path: Path) -> None:
    store = tmp_path / "source.zarr"
    grid_dataset().to_zarr(store, zarr_format=3)
    _remove(store / "lat" / "c")
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(store)
    assert_names(info.value, store, "'lat'", "0 of 1")


def test_allow_missing_chunks_opens_the_gap_as_nan(tmp_path: Path, monkeypatch, capsys) -> None:
    """Stores that leave out all-fill-value chunks on purpose (zarr-python 3's default)
    open with the override, in the API, in prepare and in the CLI."""
    store = tmp_path / "source.zarr"
    grid_dataset().to_zarr(store, encoding={"t2m": {"chunks": (1, 3, 4)}}, zarr_format=3)
    _remove(_chunk_file(store, "t2m", 2, 3))
    ds = climbench.open_dataset(store, allow_missing_chunks=True)
    t2m = ds["2m_temperature"]
    assert bool(t2m.isel(time=2).isnull().all()) and bool(t2m.isel(time=1).notnull().all())
    out = climbench.prepare(store, tmp_path / "out.zarr", allow_missing_chunks=True)
    assert climbench.open_dataset(out)["2m_temperature"].sizes["time"] == 4
    code, text = run_main(monkeypatch, capsys, "data", "info", str(store))
    assert code == 2 and "--allow-missing-chunks" in text, text
    code, text = run_main(monkeypatch, capsys, "data", "info", str(store), "--allow-missing-chunks")
    assert code == 0, text
    args = ("data", "prepare", str(store), "--out", str(tmp_path / "cli.zarr"))
    code, text = run_main(monkeypatch, capsys, *args)
    assert code == 2 and "3 of 4" in text, text
    code, text = run_main(monkeypatch, capsys, *args, "--allow-missing-chunks")
    assert code == 0, text


# --------------------------------------------------------------------------------------
# 3. implausible values: a wrong units label or a corrupt value
# --------------------------------------------------------------------------------------


def test_kelvin_values_labelled_degc_are_refused(tmp_path: Path) -> None:
    """Kelvin values labelled degC convert to about 553 K."""
    path = tmp_path / "t2m_labelled_degC.nc"
    grid_dataset(units="degC").to_netcdf(path)
    climbench.open_dataset(path)  # no values read by default
    with pytest.raises(DataValueError) as info:
        climbench.open_dataset(path, check_values=True)
    assert info.value.variable == "2m_temperature"
    assert_names(
        info.value,
        path,
        "minimum 54",  # about 553 K: 280 + 273.15
        "K at time",
        "[160, 350] K",
        "converted from 'degC'",
        "'t2m'",
        "units={'t2m'",
        "valid_ranges={'2m_temperature'",
        "--range 2m_temperature=LO:HI",
    )


def test_millimetres_labelled_metres_are_refused_by_prepare(tmp_path: Path) -> None:
    """prepare checks the values in the pass that computes its statistics, and writes
    nothing when one is implausible."""
    ds = grid_dataset()
    tp = np.full((4, 3, 4), 12.0)  # 12 mm in 6 hours, labelled m
    ds["tp"] = (("time", "lat", "lon"), tp.astype("float32"), {"units": "m"})
    path = tmp_path / "tp_mm_labelled_m.nc"
    ds.to_netcdf(path)
    out = tmp_path / "prepared.zarr"
    with pytest.raises(DataValueError) as info:
        climbench.prepare(path, out)
    assert info.value.variable == "total_precipitation"
    assert_names(info.value, path, "maximum 12 m", "[-0.001, 1] m", "nothing was written")
    assert not out.exists()


def test_a_corrupt_value_is_located(tmp_path: Path) -> None:
    t2m = np.full((4, 3, 4), 280.0)
    t2m[1, 2, 3] = 1e30
    path = tmp_path / "spike.nc"
    grid_dataset(t2m=t2m).to_netcdf(path)
    with pytest.raises(DataValueError) as info:
        climbench.open_dataset(path, check_values=True)
    assert_names(info.value, path, "maximum 1e+30 K", "time 2000-01-01T06:00:00 (step 1)")


def test_nan_and_variables_outside_the_vocabulary_are_not_checked(tmp_path: Path) -> None:
    t2m = np.full((4, 3, 4), 280.0)
    t2m[:, 0, :] = np.nan  # masked rows are legitimate
    ds = grid_dataset(t2m=t2m)
    ds["myvar"] = ds["t2m"].fillna(0) * 1e6
    ds["myvar"].attrs["units"] = "furlongs"
    path = tmp_path / "masked.nc"
    ds.to_netcdf(path)
    opened = climbench.open_dataset(path, check_values=True)
    assert set(opened.data_vars) == {"2m_temperature", "myvar"}


def test_valid_ranges_and_units_overrides(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "t2m_labelled_degC.nc"
    grid_dataset(units="degC").to_netcdf(path)
    wide = {"2m_temperature": (100.0, 600.0)}
    ds = climbench.open_dataset(path, check_values=True, valid_ranges=wide)
    assert float(ds["2m_temperature"].max()) > 550
    climbench.open_dataset(path, check_values=True, units={"t2m": "K"})
    out = climbench.prepare(path, tmp_path / "a.zarr", valid_ranges={"t2m": (100.0, 600.0)})
    assert out.is_dir()
    code, text = run_main(monkeypatch, capsys, "data", "info", str(path), "--stats")
    assert code == 2 and "--range 2m_temperature=LO:HI" in text, text
    args = ("data", "info", str(path), "--stats", "--range", "2m_temperature=100:600")
    code, text = run_main(monkeypatch, capsys, *args)
    assert code == 0, text
    code, text = run_main(monkeypatch, capsys, "data", "info", str(path), "--range", "t2m=9")
    assert code == 2 and "VARIABLE=LO:HI" in text, text
    args = ("data", "prepare", str(path), "--out", str(tmp_path / "b.zarr"))
    code, text = run_main(monkeypatch, capsys, *args)
    assert code == 2 and "plausible range" in text, text
    code, text = run_main(monkeypatch, capsys, *args, "--range", "2m_temperature=100:600")
    assert code == 0, text


# --------------------------------------------------------------------------------------
# 4. permission denied
# --------------------------------------------------------------------------------------


def test_unreadable_file_permission_denied(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    path = tmp_path / "secret.nc"
    grid_dataset().to_netcdf(path)
    path.chmod(0)
    try:
        with pytest.raises(DataFileError) as info:
            climbench.open_dataset(path)
    finally:
        path.chmod(0o644)
    assert_names(info.value, path, "permission denied", "chmod")


def test_unreadable_zarr_store_permission_denied(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads directories whatever their mode")
    store = tmp_path / "secret.zarr"
    grid_dataset().to_zarr(store)
    store.chmod(0)
    try:
        with pytest.raises(DataFileError) as info:
            climbench.open_dataset(store)
    finally:
        store.chmod(0o755)
    assert_names(info.value, store, "permission denied", "chmod")


def test_permission_denied_when_reading_the_header(tmp_path: Path, monkeypatch) -> None:
    """The same refusal where chmod cannot deny (tests running as root): the first read
    of the file raises PermissionError, as it does for an unreadable file."""
    path = tmp_path / "secret.nc"
    grid_dataset().to_netcdf(path)

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(formats, "open", denied, raising=False)
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert_names(info.value, path, "permission denied", "chmod u+r")


# --------------------------------------------------------------------------------------
# 5. time dimensions without dates, and grids that are not regular
# --------------------------------------------------------------------------------------


def test_time_dimension_without_coordinate_names_candidates(tmp_path: Path) -> None:
    """Like WRF's ``Times``: the dates are strings in a variable, not a coordinate."""
    ds = grid_dataset().drop_vars("time")
    ds["Times"] = ("time", [t.strftime("%Y-%m-%d_%H:%M:%S") for t in TIMES])
    path = tmp_path / "times_as_strings.nc"
    ds.to_netcdf(path)
    with pytest.raises(TimeAxisError) as info:
        climbench.open_dataset(path)
    assert info.value.variable == "time"
    assert_names(info.value, path, "'time'", "length 4", "['Times']", "not supported")


def test_decimal_year_time_without_units_is_refused(tmp_path: Path) -> None:
    """``time`` holds decimal years and no units, off the months (on month centres or
    starts they become dates: tests/test_real_layouts.py)."""
    ds = grid_dataset().assign_coords(time=[1880.0 + 0.07 * m for m in range(4)])
    path = tmp_path / "decimal_years.nc"
    ds.to_netcdf(path)
    with pytest.raises(TimeAxisError) as info:
        climbench.open_dataset(path)
    assert_names(info.value, path, "plain numbers", "float64", "1880.0..", "units None")


def test_station_data_are_named_as_such(tmp_path: Path) -> None:
    """CF timeSeries station files (KNMI): lat and lon are per station, not grid axes."""
    ds = xr.Dataset(
        {"ta": (("station", "time"), np.full((3, 4), 12.0), {"units": "degC"})},
        coords={"station": ["06201", "06203", "06260"], "time": TIMES},
    )
    ds["lat"] = ("station", [52.1, 52.6, 53.0], {"units": "degrees_north"})
    ds["lon"] = ("station", [3.3, 4.0, 5.2], {"units": "degrees_east"})
    path = tmp_path / "stations.nc"
    ds.to_netcdf(path)
    with pytest.raises(CoordinateError) as info:
        climbench.open_dataset(path)
    assert_names(info.value, path, "station", "1-D 'lat' (station: 3)", "not supported")


def test_curvilinear_grid_opens_on_y_x(tmp_path: Path) -> None:
    """WRF-like: 2-D ``XLAT``/``XLONG`` on (south_north, west_east), no projection: a
    curvilinear grid (dims y, x; 2-D lat/lon), see tests/test_real_layouts.py."""
    lat2d, lon2d = np.meshgrid([10.0, 11.0, 12.0], [20.0, 21.0, 22.0, 23.0], indexing="ij")
    ds = grid_dataset().drop_vars(["lat", "lon"]).rename(lat="south_north", lon="west_east")
    ds = ds.assign_coords(
        XLAT=(("south_north", "west_east"), lat2d), XLONG=(("south_north", "west_east"), lon2d)
    )
    path = tmp_path / "curvilinear.nc"
    ds.to_netcdf(path)
    opened = climbench.open_dataset(path)
    assert opened["2m_temperature"].dims[-2:] == ("y", "x")
    np.testing.assert_array_equal(opened["lat"].values, lat2d)


# --------------------------------------------------------------------------------------
# 7. Zarr: an array without its metadata, an array folder given for a store
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("consolidated", [True, False])
def test_zarr_array_without_its_metadata_is_refused(tmp_path: Path, consolidated: bool) -> None:
    """Without consolidated metadata the variable used to vanish from the dataset; with
    it, the damaged store opened as if whole."""
    store = tmp_path / "store.zarr"
    grid_dataset().to_zarr(store, consolidated=consolidated, zarr_format=3)
    (store / "t2m" / "zarr.json").unlink()
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(store)
    assert info.value.variable == "t2m"
    assert_names(info.value, store, "no Zarr metadata", str(store / "t2m"), "'c'")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_array_folder_instead_of_store(tmp_path: Path, zarr_format: int) -> None:
    store = tmp_path / "store.zarr"
    grid_dataset().to_zarr(store, zarr_format=zarr_format)
    path = store / "t2m"
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    message = assert_names(info.value, path, "not a store", "array 't2m'")
    assert f"open the store that holds it ({store})" in message
    assert "variables=['t2m']" in message


def test_cli_refuses_unsupported_layout_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    ds = grid_dataset().drop_vars("time")
    path = tmp_path / "no_time.nc"
    ds.to_netcdf(path)
    code, text = run_main(monkeypatch, capsys, "data", "info", str(path))
    assert code == 2 and "Traceback" not in text
    assert text.startswith("error:") and str(path) in text and "'time'" in text
    assert cli.app is not None
