"""Tensor caches and the torch datasets over them: values, reuse, errors, batching, loaders."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from climbench.data.grids import get_grid
from climbench.data.prepare import open_prepared, prepare, read_manifest
from climbench.data.samples import FieldPairSamples, ForecastSamples, make_loader
from climbench.data.synthetic import weather
from climbench.data.tensor_cache import (
    Channel,
    TensorCache,
    build_tensor_cache,
    ensure_tensor_cache,
)
from climbench.errors import (
    ClimbenchError,
    CoordinateError,
    StoreError,
    VariableNotFoundError,
)

CHANNELS = [
    Channel("geopotential", 500),
    Channel("temperature", 850),
    Channel("2m_temperature"),
    Channel("10m_u_component_of_wind"),
    Channel("land_sea_mask"),
    Channel("geopotential_at_surface"),
]
STEPS = 40  # 10 days, 6-hourly


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A prepared store of 40 steps of synthetic weather on the 5.625-degree grid."""
    ds = weather("5.625", years="2016", seed=0).isel(time=slice(0, STEPS))
    return prepare(ds, tmp_path_factory.mktemp("store") / "weather.zarr")


@pytest.fixture(scope="module")
def cache(store, tmp_path_factory):
    return TensorCache.open(
        build_tensor_cache(store, CHANNELS, tmp_path_factory.mktemp("cache") / "tensors")
    )


def expected(store, channel: Channel, time=slice(None)) -> np.ndarray:
    """The store's field, normalised with the manifest's statistics, in float64."""
    da = open_prepared(store)[channel.variable]
    stats = read_manifest(store)["stats"][channel.variable]
    mean, std = stats["mean"], stats["std"]
    if channel.level is not None:
        position = stats["level"].index(channel.level)
        da, mean, std = da.sel(level=channel.level), mean[position], std[position]
    if "time" in da.dims:
        da = da.isel(time=time)
    return (da.values.astype(np.float64) - mean) / std


# --------------------------------------------------------------------------------------
# building and reading


def test_cache_holds_the_normalised_store(store, cache):
    assert cache.data.shape == (STEPS, 4, 32, 64) and cache.data.dtype == np.float32
    assert isinstance(cache.data, np.memmap) and cache.data.mode == "r"
    assert [c.name for c in cache.channels] == [
        "geopotential_500",
        "temperature_850",
        "2m_temperature",
        "10m_u_component_of_wind",
    ]
    assert [c.name for c in cache.constant_channels] == [
        "land_sea_mask",
        "geopotential_at_surface",
    ]
    for i, channel in enumerate(cache.channels):
        np.testing.assert_allclose(cache.data[:, i], expected(store, channel), atol=1e-6)
    for i, channel in enumerate(cache.constant_channels):
        np.testing.assert_allclose(cache.constants[i], expected(store, channel), atol=1e-6)
    ds = open_prepared(store)
    np.testing.assert_array_equal(cache.times, ds["time"].values)
    np.testing.assert_array_equal(cache.lat, ds["lat"].values)
    np.testing.assert_array_equal(cache.lon, ds["lon"].values)
    manifest = read_manifest(store)
    assert cache.mean[0] == manifest["stats"]["geopotential"]["mean"][0]
    assert cache.std[2] == manifest["stats"]["2m_temperature"]["std"]
    assert cache.sidecar["times"][1] == "2016-01-01T06:00:00"
    assert cache.sidecar["store"]["manifest_created"] == manifest["created"]
    assert cache.channel_index("2m_temperature") == 2
    assert cache.index_of("2016-01-02T06:00") == 5
    assert cache.index_of(np.datetime64("2016-01-02T12")) == 6
    np.testing.assert_array_equal(cache.hours[:3], [0.0, 6.0, 12.0])


def test_raw_values_and_time_range(store, tmp_path):
    path = build_tensor_cache(
        store,
        [Channel("temperature", 850), Channel("geopotential_at_surface")],
        tmp_path / "raw",
        time_range=("2016-01-02", "2016-01-04T18"),
        normalise=False,
    )
    raw = TensorCache.open(path)
    assert not raw.normalised
    surface = open_prepared(store)["geopotential_at_surface"].values
    np.testing.assert_array_equal(raw.constants[0], surface)
    truth = open_prepared(store)["temperature"].sel(
        level=850, time=slice("2016-01-02", "2016-01-04T18")
    )
    np.testing.assert_array_equal(raw.data[:, 0], truth.values)
    np.testing.assert_array_equal(raw.times, truth["time"].values)
    assert raw.sidecar["time_range"] == ["2016-01-02", "2016-01-04T18"]


def test_ensure_reuses_and_rebuilds(store, tmp_path):
    first = ensure_tensor_cache(store, CHANNELS[:3], tmp_path)
    mtime = os.stat(first.path / "data.npy").st_mtime_ns
    again = ensure_tensor_cache(store, CHANNELS[:3], tmp_path)
    assert again.path == first.path
    assert os.stat(again.path / "data.npy").st_mtime_ns == mtime  # not rebuilt
    other = ensure_tensor_cache(store, CHANNELS[:2], tmp_path)
    assert other.path != first.path and len(other.channels) == 2
    ranged = ensure_tensor_cache(store, CHANNELS[:3], tmp_path, time_range=("2016-01-03", None))
    assert ranged.path != first.path and len(ranged.times) == STEPS - 8
    # a damaged cache is rebuilt, with a warning (first's memmap is not read after this)
    values = np.array(first.data)
    with open(first.path / "data.npy", "r+b") as f:
        f.truncate(1000)
    with pytest.warns(UserWarning, match="truncated"):
        rebuilt = ensure_tensor_cache(store, CHANNELS[:3], tmp_path)
    np.testing.assert_array_equal(rebuilt.data, values)


def test_build_refuses_existing_output(store, cache):
    with pytest.raises(StoreError, match="already exists"):
        build_tensor_cache(store, CHANNELS, cache.path)


def test_open_errors_name_the_file(store, tmp_path):
    with pytest.raises(StoreError, match="cache.json") as err:
        TensorCache.open(tmp_path)
    assert "not a tensor cache" in str(err.value)
    path = build_tensor_cache(store, CHANNELS[:2], tmp_path / "c")
    data = path / "data.npy"
    size = data.stat().st_size
    with open(data, "r+b") as f:
        f.truncate(size - 4)
    with pytest.raises(StoreError, match="truncated") as err:
        TensorCache.open(path)
    assert err.value.path == str(data) and err.value.expected == f"{size} bytes"
    data.unlink()
    with pytest.raises(StoreError, match="data.npy"):
        TensorCache.open(path)
    np.save(data, np.zeros((3, 2, 32, 64), np.float32))
    with pytest.raises(StoreError, match="does not match its sidecar"):
        TensorCache.open(path)


def test_bad_channel_requests(store, tmp_path):
    with pytest.raises(VariableNotFoundError, match="relative_humidity"):
        build_tensor_cache(store, [Channel("relative_humidity", 500)], tmp_path / "a")
    with pytest.raises(CoordinateError, match="needs a level"):
        build_tensor_cache(store, [Channel("geopotential")], tmp_path / "b")
    with pytest.raises(CoordinateError, match="300"):
        build_tensor_cache(store, [Channel("geopotential", 300)], tmp_path / "c")
    with pytest.raises(CoordinateError, match="without levels"):
        build_tensor_cache(store, [Channel("2m_temperature", 850)], tmp_path / "d")
    with pytest.raises(ClimbenchError, match="no time-varying channel"):
        build_tensor_cache(store, [Channel("land_sea_mask")], tmp_path / "e")
    with pytest.raises(ClimbenchError, match="more than once"):
        build_tensor_cache(store, [Channel("2m_temperature")] * 2, tmp_path / "f")
    with pytest.raises(CoordinateError, match="no time step"):
        build_tensor_cache(store, CHANNELS[:1], tmp_path / "g", time_range=("2017", "2018"))
    assert not any(tmp_path.iterdir())  # nothing was written


def test_non_standard_calendar(tmp_path):
    grid = get_grid("5.625")
    time = xr.date_range("2001-02-27", periods=12, freq="6h", calendar="noleap", use_cftime=True)
    values = np.arange(12 * 32 * 64, dtype=np.float32).reshape(12, 32, 64)
    ds = xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), 250 + values / values.max(), {"units": "K"})},
        coords={"time": time, **grid.coords()},
    )
    store = prepare(ds, tmp_path / "noleap.zarr")
    cache = TensorCache.open(build_tensor_cache(store, [Channel("2m_temperature")], tmp_path / "c"))
    assert cache.calendar == "noleap"
    assert cache.index_of("2001-03-01T00:00:00") == 8  # no 29 February in noleap
    assert cache.hours[8] == 48.0
    with pytest.raises(CoordinateError, match="not in the tensor cache"):
        cache.index_of("2001-03-05")


def test_pickling_reopens_instead_of_copying(cache):
    payload = pickle.dumps(cache)
    assert len(payload) < 10_000
    copy = pickle.loads(payload)
    assert isinstance(copy.data, np.memmap)
    np.testing.assert_array_equal(copy.data[3], cache.data[3])


# --------------------------------------------------------------------------------------
# samples


def test_forecast_sample_matches_the_store(store, cache):
    inputs = [0, 2]  # geopotential_500, 2m_temperature
    targets = [1]  # temperature_850
    samples = ForecastSamples(cache, inputs, targets, [5, 9], [2, 4], history=(-1, 0))
    assert len(samples) == 4
    sample = samples[3]  # init 9, lead 4 steps
    assert sample["init_index"] == 9
    assert sample["lead_hours"].dtype == torch.float32 and float(sample["lead_hours"]) == 24.0
    x, y = sample["x"].numpy(), sample["y"].numpy()
    assert x.shape == (2 * 2 + 2, 32, 64) and y.shape == (1, 32, 64)
    z500, t2m = cache.channels[0], cache.channels[2]
    np.testing.assert_allclose(x[0], expected(store, z500, 8), atol=1e-6)  # t - 6 h
    np.testing.assert_allclose(x[1], expected(store, t2m, 8), atol=1e-6)
    np.testing.assert_allclose(x[2], expected(store, z500, 9), atol=1e-6)  # t
    np.testing.assert_allclose(x[3], expected(store, t2m, 9), atol=1e-6)
    np.testing.assert_allclose(x[4], expected(store, Channel("land_sea_mask")), atol=1e-6)
    np.testing.assert_allclose(y[0], expected(store, cache.channels[1], 13), atol=1e-6)
    without = ForecastSamples(cache, inputs, targets, [5], [2], include_constants=False)
    assert without[0]["x"].shape == (2, 32, 64)


def test_get_batch_equals_stacked_items(cache):
    samples = ForecastSamples(cache, [3, 0, 1], [2, 0], range(2, 30), [1, 3, 8], history=(-2, 0))
    indices = [7, 0, 50, 7, 83, 12]  # unsorted, repeated
    batch = samples.get_batch(indices)
    items = [samples[i] for i in indices]
    for key in ("x", "y", "lead_hours"):
        torch.testing.assert_close(batch[key], torch.stack([item[key] for item in items]))
    assert batch["init_index"].tolist() == [item["init_index"] for item in items]
    assert batch["x"].shape == (6, 2 * 3 + 2, 32, 64)


def test_out_of_range_times_are_refused(cache):
    with pytest.raises(ValueError, match=r"time index 0 \(2016-01-01T00.*-1 steps"):
        ForecastSamples(cache, [0], [0], [0, 1], [1], history=(-1, 0))
    with pytest.raises(ValueError, match=r"lead \+4 steps needs time index 41"):
        ForecastSamples(cache, [0], [0], [30, 37], [4])
    with pytest.raises(ValueError, match="channel index 4"):
        ForecastSamples(cache, [4], [0], [0], [1])
    samples = ForecastSamples(cache, [0], [0], [0], [1])
    with pytest.raises(IndexError):
        samples.get_batch([1])


def test_loader_shuffle_is_seeded_and_whole(cache):
    samples = ForecastSamples(cache, [0, 1, 2], [2], range(1, 30), [2, 4], history=(-1, 0))

    def order(seed: int, workers: int = 0) -> list[int]:
        loader = make_loader(samples, batch_size=8, shuffle=True, seed=seed, num_workers=workers)
        batches = list(loader)
        assert batches[0]["x"].shape == (8, 2 * 3 + 2, 32, 64)
        pairs = [
            (int(i), float(h))
            for b in batches
            for i, h in zip(b["init_index"], b["lead_hours"], strict=True)
        ]
        assert sorted(pairs) == sorted((i, h) for i in range(1, 30) for h in (12.0, 24.0))
        return pairs

    assert order(0) == order(0) == order(0, workers=2)
    assert order(0) != order(1)
    loader = make_loader(samples, batch_size=8, shuffle=False)
    assert next(iter(loader))["init_index"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]


def test_field_pairs_on_two_caches(store, cache, tmp_path):
    targets = TensorCache.open(
        build_tensor_cache(
            store,
            [Channel("2m_temperature"), Channel("temperature", 850)],
            tmp_path / "targets",
            time_range=("2016-01-03", None),
        )
    )
    pairs = FieldPairSamples(cache, targets, [0, 3], [1], [10, 20, 39])
    sample = pairs[1]
    assert sample["time_index"] == 20 and sample["x"].shape == (4, 32, 64)
    np.testing.assert_allclose(sample["x"][1], expected(store, cache.channels[3], 20), atol=1e-6)
    np.testing.assert_allclose(sample["x"][2], cache.constants[0])
    np.testing.assert_allclose(sample["y"][0], expected(store, targets.channels[1], 20), atol=1e-6)
    batch = pairs.get_batch([2, 0])
    assert batch["y"].shape == (2, 1, 32, 64) and batch["time_index"].tolist() == [39, 10]
    with pytest.raises(CoordinateError, match="not in the tensor cache"):
        FieldPairSamples(cache, targets, [0], [0], [3])  # 2016-01-01T18 precedes the targets
    with pytest.raises(ValueError, match="time index 40 is outside"):
        FieldPairSamples(cache, targets, [0], [0], [40])


def test_pandas_timestamps_are_times(cache):
    assert cache.index_of(pd.Timestamp("2016-01-01T18")) == 3
