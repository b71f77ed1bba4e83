"""Bad input is refused with the specific ``climbench.errors`` class and a clear message.

Every broken file is written under ``tmp_path`` (the reference data is never modified);
messages must name the file and say what was expected and what was found.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import climbench
from climbench.errors import (
    CalendarError,
    ClimbenchError,
    CoordinateError,
    DataFileError,
    DataValueError,
    TimeAxisError,
    UnitsError,
    VariableNotFoundError,
)
from tests.test_open_real_files import (
    ERA5_EDA,
    ERA5_UK,
    ERAINT,
    ERSST,
    OGGM,
    ROCKETPY,
    TAS_HIST,
    TAS_PI,
)

T2M = f"{OGGM}/sel_era5_monthly_t2m_1979-2018.nc"


def assert_clear(err: ClimbenchError, path: Path | str) -> str:
    """The message names the file and says what was expected and what was found."""
    message = str(err)
    assert str(path) in message, message
    assert err.expected and err.found, message
    assert "expected" in message and "found" in message
    return message


# --------------------------------------------------------------------------------------
# unreadable files
# --------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "t2m.nc"
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "not found" in assert_clear(info.value, path)


def test_missing_glob(tmp_path: Path) -> None:
    pattern = tmp_path / "MERRA2_*.nc4"
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(str(pattern))
    assert_clear(info.value, pattern)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "0 bytes" in assert_clear(info.value, path)


@pytest.mark.parametrize("name", ["random.nc", "random.grib", "random.zarr.nc"])
def test_corrupt_random_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(42).bytes(4096))
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "format" in assert_clear(info.value, path)


def test_html_error_page_saved_as_netcdf(tmp_path: Path) -> None:
    path = tmp_path / "download.nc"
    path.write_text("<!DOCTYPE html><html><body>403 Forbidden</body></html>")
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "HTML" in assert_clear(info.value, path)


def test_corrupt_netcdf4_body(tmp_path: Path, shared_file) -> None:
    """Right magic bytes and size, garbage inside: the engine's error becomes ours."""
    src = shared_file(T2M)
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(1)
    data[64:4096] = rng.bytes(4096 - 64)
    path = tmp_path / "garbled.nc"
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError) as info:
        ds = climbench.open_dataset(path)
        ds.load()
    assert_clear(info.value, path)


@pytest.mark.parametrize("relative", [T2M, ERSST, ROCKETPY])
@pytest.mark.parametrize("fraction", [0.5, 0.95])
def test_truncated_netcdf4(tmp_path: Path, shared_file, relative: str, fraction: float) -> None:
    data = shared_file(relative).read_bytes()
    path = tmp_path / "cut.nc"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    message = assert_clear(info.value, path)
    assert "truncated" in message and str(len(data)) in message


@pytest.mark.parametrize("fraction", [0.5, 0.999])
def test_truncated_netcdf3(tmp_path: Path, shared_file, fraction: float) -> None:
    """netCDF-3 (ERA-Interim): the library itself would read a cut file as zeros."""
    data = shared_file(ERAINT).read_bytes()
    assert data[:3] == b"CDF"
    path = tmp_path / "eraint_cut.nc"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "truncated" in assert_clear(info.value, path)


def test_netcdf3_with_record_dimension_is_not_called_truncated(
    tmp_path: Path, make_dataset
) -> None:
    """The netCDF-3 size check must accept valid files with an unlimited (record) dim."""
    ds = make_dataset(ntime=5)
    for fmt in ("NETCDF3_CLASSIC", "NETCDF3_64BIT"):
        path = tmp_path / f"{fmt}.nc"
        ds.to_netcdf(path, format=fmt, unlimited_dims=["time"])
        opened = climbench.open_dataset(path)
        assert opened.attrs["climbench_format"] == "netcdf3"
        np.testing.assert_array_equal(
            opened["2m_temperature"].values, ds["t2m"].values[:, ::-1, [1, 2, 3, 0]]
        )
        cut = tmp_path / f"{fmt}_cut.nc"
        cut.write_bytes(path.read_bytes()[:-20])
        with pytest.raises(DataFileError, match="truncated"):
            climbench.open_dataset(cut)


def grib_messages(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each GRIB1 message; ECMWF pads messages with zeros."""
    out, offset = [], 0
    while 0 <= offset < len(data):
        length = int.from_bytes(data[offset + 4 : offset + 7], "big")
        assert data[offset + length - 4 : offset + length] == b"7777"
        out.append((offset, length))
        offset = data.find(b"GRIB", offset + length)
    return out


@pytest.mark.parametrize("relative", [ERA5_UK, ERA5_EDA])
@pytest.mark.parametrize("where", ["mid_message", "inside_header", "end_marker"])
def test_truncated_grib(tmp_path: Path, shared_file, relative: str, where: str) -> None:
    data = shared_file(relative).read_bytes()
    messages = grib_messages(data)
    assert len(messages) > 100
    offset, length = messages[len(messages) // 2]
    last_offset, last_length = messages[-1]
    cut = {
        "mid_message": offset + length // 2,
        "inside_header": offset + 7,  # 'GRIB' and part of the length only
        "end_marker": last_offset + last_length - 2,
    }[where]  # half of the final '7777'
    path = tmp_path / "cut.grib"
    path.write_bytes(data[:cut])
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "truncated" in assert_clear(info.value, path)


def test_grib_zero_padding_is_not_truncation(tmp_path: Path, shared_file) -> None:
    data = shared_file(ERA5_EDA).read_bytes()
    last_offset, last_length = grib_messages(data)[-1]
    path = tmp_path / "unpadded.grib"
    path.write_bytes(data[: last_offset + last_length])  # drop the trailing zero padding
    assert climbench.open_dataset(path).sizes["member"] == 10


def test_grib_with_garbage_between_messages(tmp_path: Path, shared_file) -> None:
    data = shared_file(ERA5_EDA).read_bytes()
    length = int.from_bytes(data[4:7], "big")
    path = tmp_path / "garbage.grib"
    path.write_bytes(data[:length] + b"not grib at all" + data[length:])
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(path)
    assert "corrupt" in assert_clear(info.value, path)


def test_directory_that_is_not_a_zarr_store(tmp_path: Path) -> None:
    (tmp_path / "store.zarr").mkdir()
    (tmp_path / "store.zarr" / "readme.txt").write_text("hi")
    with pytest.raises(DataFileError) as info:
        climbench.open_dataset(tmp_path / "store.zarr")
    assert_clear(info.value, tmp_path / "store.zarr")


# --------------------------------------------------------------------------------------
# variables
# --------------------------------------------------------------------------------------


def test_requested_variable_missing_lists_available(shared_file) -> None:
    path = shared_file(T2M)
    with pytest.raises(VariableNotFoundError) as info:
        climbench.open_dataset(path, variables=["t2m", "nope"])
    err = info.value
    assert err.variable == "nope"
    message = assert_clear(err, path)
    assert "'nope'" in message and "2m_temperature" in message
    assert isinstance(err, KeyError)  # also a KeyError, for dict-like callers


def test_requested_variable_by_alias_and_canonical_name(shared_file) -> None:
    path = shared_file(ERA5_EDA)
    by_alias = climbench.open_dataset(path, variables=["z"])
    by_name = climbench.open_dataset(path, variables=["geopotential"])
    assert list(by_alias.data_vars) == list(by_name.data_vars) == ["geopotential"]


def test_variables_outside_vocabulary_are_kept(tmp_path: Path, make_dataset) -> None:
    path = tmp_path / "mixed.nc"
    make_dataset().to_netcdf(path)
    ds = climbench.open_dataset(path)
    assert set(ds.data_vars) == {"2m_temperature", "myvar"}
    assert ds["myvar"].attrs["units"] == "furlongs"  # unknown unit: kept, not refused
    assert ds["myvar"].dims == ("time", "lat", "lon")
    assert list(climbench.open_dataset(path, variables=["myvar"]).data_vars) == ["myvar"]


def test_all_nan_variable(tmp_path: Path, make_dataset) -> None:
    ds = make_dataset()
    ds["t2m"][:] = np.nan
    path = tmp_path / "nan.nc"
    ds.to_netcdf(path)
    opened = climbench.open_dataset(path)  # lazy by default: values not read
    assert "2m_temperature" in opened
    with pytest.raises(DataValueError) as info:
        climbench.open_dataset(path, check_values=True)
    assert info.value.variable == "2m_temperature"
    assert_clear(info.value, path)


def test_partly_nan_variable_passes_value_check(shared_file) -> None:
    ds = climbench.open_dataset(shared_file(ERSST), check_values=True)  # land is NaN
    assert float(ds["sea_surface_temperature"].isnull().mean()) > 0.2


# --------------------------------------------------------------------------------------
# coordinates and time
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("drop", ["latitude", "longitude"])
def test_missing_coordinate(tmp_path: Path, make_dataset, drop: str) -> None:
    path = tmp_path / f"no_{drop}.nc"
    make_dataset().drop_vars(drop).to_netcdf(path)  # the dim stays, its values go
    with pytest.raises(CoordinateError) as info:
        climbench.open_dataset(path)
    message = assert_clear(info.value, path)
    assert drop in message


def test_coordinate_found_by_cf_units(tmp_path: Path, make_dataset) -> None:
    path = tmp_path / "renamed.nc"
    make_dataset().rename(latitude="y", longitude="x").to_netcdf(path)
    ds = climbench.open_dataset(path)
    assert ds["2m_temperature"].dims == ("time", "lat", "lon")
    assert ds["lat"].values.tolist() == [-10.0, 0.0, 10.0]


def test_curvilinear_grid_opens_on_y_x(tmp_path: Path, make_dataset) -> None:
    """2-D lat/lon open as a curvilinear grid (tests/test_real_layouts.py has the real ones)."""
    ds = make_dataset().drop_vars(["latitude", "longitude"])
    lat2d, lon2d = np.meshgrid([10.0, 0.0, -10.0], [-20.0, 0.0, 20.0, 40.0], indexing="ij")
    ds = ds.assign_coords(
        lat=(("latitude", "longitude"), lat2d, {"units": "degrees_north"}),
        lon=(("latitude", "longitude"), lon2d, {"units": "degrees_east"}),
    )
    path = tmp_path / "curvilinear.nc"
    ds.to_netcdf(path)
    opened = climbench.open_dataset(path)
    assert opened["2m_temperature"].dims == ("time", "y", "x")
    assert opened["lon"].values.min() >= 0  # wrapped to [0, 360)


def test_duplicate_times(tmp_path: Path, make_dataset) -> None:
    ds = make_dataset()
    t = ds["time"].values
    path = tmp_path / "dup.nc"
    ds.assign_coords(time=[t[0], t[1], t[1], t[2]]).to_netcdf(path)
    with pytest.raises(TimeAxisError) as info:
        climbench.open_dataset(path)
    message = assert_clear(info.value, path)
    assert "duplicate" in message and "06:00" in message


def test_non_monotonic_times(tmp_path: Path, make_dataset) -> None:
    ds = make_dataset()
    t = ds["time"].values
    path = tmp_path / "shuffled.nc"
    ds.assign_coords(time=[t[0], t[2], t[1], t[3]]).to_netcdf(path)
    with pytest.raises(TimeAxisError) as info:
        climbench.open_dataset(path)
    assert "not increasing" in assert_clear(info.value, path)
    assert isinstance(info.value, CoordinateError)


def test_files_split_by_time_are_concatenated(tmp_path: Path, make_dataset) -> None:
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    make_dataset(start="2000-01-01").to_netcdf(a)
    make_dataset(start="2000-01-02", seed=1).to_netcdf(b)
    ds = climbench.open_dataset([b, a])  # order of the list does not matter
    assert ds.sizes["time"] == 8
    assert ds.indexes["time"].is_monotonic_increasing


def test_overlapping_files_refused(tmp_path: Path, make_dataset) -> None:
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    make_dataset(start="2000-01-01").to_netcdf(a)
    make_dataset(start="2000-01-01T12", seed=1).to_netcdf(b)  # 2 of 4 times overlap
    with pytest.raises(ClimbenchError) as info:
        climbench.open_dataset([a, b])
    assert str(a) in str(info.value) and str(b) in str(info.value)


# --------------------------------------------------------------------------------------
# calendars
# --------------------------------------------------------------------------------------


def test_incompatible_calendars_cftime_and_numpy(shared_file) -> None:
    pi, hist = shared_file(TAS_PI), shared_file(TAS_HIST)
    with pytest.raises(CalendarError) as info:
        climbench.open_dataset([pi, hist])
    message = str(info.value)
    assert pi.name in message and hist.name in message
    assert "proleptic_gregorian" in message and "datetime64" in message


def test_incompatible_calendars_noleap_and_standard(tmp_path: Path, make_dataset) -> None:
    std, noleap = tmp_path / "standard.nc", tmp_path / "noleap.nc"
    make_dataset().to_netcdf(std)
    make_dataset(calendar="noleap", start="2000-01-02").to_netcdf(noleap)
    opened = climbench.open_dataset(noleap)
    assert opened["time"].values[0].calendar == "noleap"  # kept, not converted
    with pytest.raises(CalendarError) as info:
        climbench.open_dataset([std, noleap])
    message = assert_clear(info.value, std)
    assert "noleap" in message and str(noleap) in message


def test_same_cftime_calendar_combines(tmp_path: Path, make_dataset) -> None:
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    make_dataset(calendar="360_day", start="2000-02-29").to_netcdf(a)
    make_dataset(calendar="360_day", start="2000-02-30").to_netcdf(b)
    ds = climbench.open_dataset([a, b])
    assert ds.sizes["time"] == 8
    assert ds["time"].values[0].calendar == "360_day"


# --------------------------------------------------------------------------------------
# units
# --------------------------------------------------------------------------------------


def test_unknown_units(tmp_path: Path, make_dataset) -> None:
    ds = make_dataset()
    ds["t2m"].attrs["units"] = "furlongs"
    path = tmp_path / "bad_units.nc"
    ds.to_netcdf(path)
    with pytest.raises(UnitsError) as info:
        climbench.open_dataset(path)
    err = info.value
    assert err.variable == "t2m"
    message = assert_clear(err, path)
    assert "'furlongs'" in message and "degc" in message
    assert "units={'t2m'" in message and "--units t2m=" in message  # the override hint


def test_missing_units(tmp_path: Path, make_dataset) -> None:
    ds = make_dataset()
    del ds["t2m"].attrs["units"]
    path = tmp_path / "no_units.nc"
    ds.to_netcdf(path)
    with pytest.raises(UnitsError) as info:
        climbench.open_dataset(path)
    assert info.value.variable == "t2m"
    message = assert_clear(info.value, path)
    assert "no 'units'" in message and "units={'t2m'" in message


@pytest.mark.parametrize("key", ["t2m", "2m_temperature"])
def test_unit_override_fixes_it(tmp_path: Path, make_dataset, key: str) -> None:
    ds = make_dataset()
    ds["t2m"].attrs["units"] = "mm d-1"  # wrong, the values are degC
    ds["t2m"] = ds["t2m"] - 273.15
    path = tmp_path / "wrong_units.nc"
    ds.to_netcdf(path)
    with pytest.raises(UnitsError):
        climbench.open_dataset(path)
    fixed = climbench.open_dataset(path, units={key: "degC"})
    t2m = fixed["2m_temperature"]
    assert t2m.attrs["units"] == "K"
    # lat was descending and lon -20..40: canonical (lat=10, lon=340) is raw [0, 0]
    np.testing.assert_allclose(
        float(t2m.isel(time=0).sel(lat=10.0, lon=340.0)),
        float(ds["t2m"][0, 0, 0]) + 273.15,
        rtol=1e-6,
    )


def test_unit_override_on_variable_outside_vocabulary(tmp_path: Path, make_dataset) -> None:
    path = tmp_path / "mixed.nc"
    make_dataset().to_netcdf(path)
    ds = climbench.open_dataset(path, units={"myvar": "m"})
    assert ds["myvar"].attrs["units"] == "m"


def test_unknown_source_name(shared_file) -> None:
    path = shared_file(T2M)
    with pytest.raises(ClimbenchError) as info:
        climbench.open_dataset(path, source="ncep")
    assert "ncep" in str(info.value) and "era5" in str(info.value)


def test_reference_data_untouched(shared_file, tmp_path: Path) -> None:
    """Opening never writes next to the data (no cfgrib .idx files)."""
    src = shared_file(ERA5_EDA)
    folder = tmp_path / "ro"
    folder.mkdir()
    copy = folder / src.name
    shutil.copyfile(src, copy)
    climbench.open_dataset(copy).load()
    assert sorted(p.name for p in folder.iterdir()) == [src.name]
