"""The metrics API on lazy (dask, Zarr) inputs gives the numbers of in-memory inputs.

Covers the lazy paths the benchmark measures: truth gathered per forecast block
(``align_to_forecast``), the climatology gathered the same way (``acc``), all regions in one
pass, any chunking of the inputs (one init per chunk, a climatology chunked along lat as
WeatherBench 2 ships it), and the prepared store's shard-backed dask arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import climbench.metrics as cm
from climbench.metrics import layout

REGIONS = ["global", "tropics", "extratropics"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    lat = np.linspace(-87.1875, 87.1875, 16)
    lon = np.arange(0, 360, 11.25)
    times = pd.date_range("2020-01-01", periods=120, freq="6h")
    truth = xr.DataArray(
        rng.standard_normal((times.size, lat.size, lon.size)).astype(np.float32),
        dims=("time", "lat", "lon"),
        coords={"time": times, "lat": lat, "lon": lon},
        name="t2m",
    )
    inits = times[:40:2]
    leads = pd.to_timedelta([6, 12, 24, 48], unit="h")
    valid = inits.values[:, None] + leads.values[None, :]
    y = truth.sel(time=valid.ravel()).values.reshape(inits.size, leads.size, lat.size, lon.size)
    forecast = xr.DataArray(
        y + 0.5 * rng.standard_normal(y.shape).astype(np.float32),
        dims=("init_time", "lead_time", "lat", "lon"),
        coords={"init_time": inits, "lead_time": leads, "lat": lat, "lon": lon},
        name="t2m",
    )
    clim = xr.DataArray(
        rng.standard_normal((366, 4, lat.size, lon.size)).astype(np.float32),
        dims=("dayofyear", "hour", "lat", "lon"),
        coords={"dayofyear": np.arange(1, 367), "hour": [0, 6, 12, 18], "lat": lat, "lon": lon},
        name="t2m",
    )
    return forecast, truth, clim


@pytest.mark.parametrize("init_chunk", [1, 3])
@pytest.mark.parametrize("truth_chunk", [1, 7, None])
def test_align_to_forecast_lazy_equals_eager(data, init_chunk, truth_chunk):
    forecast, truth, _ = data
    eager = cm.align_to_forecast(forecast, truth)
    lazy_truth = truth if truth_chunk is None else truth.chunk({"time": truth_chunk})
    lazy = cm.align_to_forecast(forecast.chunk({"init_time": init_chunk}), lazy_truth)
    assert lazy.chunks is not None and lazy.chunksizes["init_time"][0] == init_chunk
    xr.testing.assert_identical(lazy.compute(), eager)


@pytest.mark.parametrize("lat_chunk", [None, 4])
def test_climatology_for_forecast_equals_label_selection(data, lat_chunk, monkeypatch):
    forecast, _, clim = data
    expected = cm.climatology_at(clim, cm.valid_time(forecast))
    source = clim if lat_chunk is None else clim.chunk({"lat": lat_chunk, "dayofyear": 100})
    lazy = layout.climatology_for_forecast(source, forecast.chunk({"init_time": 2}))
    np.testing.assert_array_equal(lazy.values, expected.transpose(*lazy.dims).values)
    # a climatology above the in-memory limit is gathered by rows from a chunked array
    monkeypatch.setattr(layout, "_CLIMATOLOGY_CHUNK_BYTES", 2**16)
    chunked = layout.climatology_for_forecast(source, forecast.chunk({"init_time": 2}))
    np.testing.assert_array_equal(chunked.values, lazy.values)


def test_climatology_stored_one_hour_per_chunk_is_gathered_as_views(data, monkeypatch):
    """A climatology as the tasks store it (one chunk per hour) becomes one chunk of (day x
    hour) rows in one task, not a rechunk: every init whose valid times stay in one year is
    then read as a view of that chunk, none copied row by row."""
    import dask

    forecast, _, clim = data
    forecast = forecast.assign_coords(lead_time=pd.to_timedelta([6, 12, 18, 24], unit="h"))
    stored = clim.chunk({"dayofyear": -1, "hour": 1})
    lazy = layout.climatology_for_forecast(stored, forecast.chunk({"init_time": 2}))
    graph = dict(lazy.data.__dask_graph__())
    names = {k[0] for k in graph if isinstance(k, tuple)}
    assert not [n for n in names if n.startswith("rechunk")]
    joined = [k for k in graph if k[0].startswith("joined-rows-")]
    assert len(joined) == 1  # one task joins the four hour chunks
    (source,) = dask.compute(
        dask.array.Array(lazy.data.dask, joined[0][0], ((366 * 4,), (16,), (32,)), dtype=np.float32)
    )
    np.testing.assert_array_equal(source, clim.values.reshape(366 * 4, 16, 32))
    copies = []
    take = layout.GatheredRows._take
    monkeypatch.setattr(
        layout.GatheredRows, "_take", lambda self, rows: copies.append(rows) or take(self, rows)
    )
    block = dask.compute(lazy.data.blocks[0])[0]
    assert isinstance(block, layout.GatheredRows)
    for i in range(block.shape[0]):
        assert np.shares_memory(block[i : i + 1], block.blocks[0])
    assert not copies
    expected = cm.climatology_at(clim, cm.valid_time(forecast))
    np.testing.assert_array_equal(lazy.values, expected.transpose(*lazy.dims).values)


def test_climatology_missing_hour_is_refused(data):
    forecast, _, clim = data
    with pytest.raises(cm.layout.CoordinateError, match="lacks an hour"):
        layout.climatology_for_forecast(clim.sel(hour=[0, 12]), forecast.chunk({"init_time": 2}))


def test_scores_on_lazy_inputs_equal_in_memory_scores(data):
    forecast, truth, clim = data
    lazy_f = forecast.chunk({"init_time": 1})
    lazy_t = cm.align_to_forecast(lazy_f, truth.chunk({"time": 5}))
    eager_t = cm.align_to_forecast(forecast, truth)
    for name, lazy, eager in (
        (
            "rmse",
            cm.rmse(lazy_f, lazy_t, region=REGIONS),
            cm.rmse(forecast, eager_t, region=REGIONS),
        ),
        (
            "acc",
            cm.acc(lazy_f, lazy_t, clim.chunk({"lat": 4}), region=REGIONS),
            cm.acc(forecast, eager_t, clim, region=REGIONS),
        ),
        (
            "bias",
            cm.bias(lazy_f, lazy_t, region="tropics"),
            cm.bias(forecast, eager_t, region="tropics"),
        ),
    ):
        assert lazy.chunks is not None, name
        np.testing.assert_allclose(lazy.values, eager.values, rtol=2e-6, err_msg=name)
    # all regions in one pass (one matrix product with a column per region) give what each
    # region gives alone, for 3 regions and for 5
    bands = ["global", "tropics", "northern-extratropics", "southern-extratropics", "arctic"]
    for regions in (REGIONS, bands):
        together = cm.mse(forecast, eager_t, region=regions)
        for region in regions:
            alone = cm.mse(forecast, eager_t, region=region)
            np.testing.assert_allclose(
                together.sel(region=region).values, alone.values, rtol=1e-6
            )  # float32 sums: BLAS kernels differ


def test_dataset_fields_chunked_differently_are_scored(data):
    """A forecast Dataset whose fields are chunked differently along init_time (as
    ``xr.open_zarr(chunks="auto")`` chunks a store of 2-D and 3-D fields, where
    ``Dataset.chunks`` raises) is aligned and scored field by field, each truth and
    climatology gathered on its own field's chunks, with the in-memory numbers."""
    forecast, truth, clim = data
    fields = {"t2m": forecast, "z500": forecast * 2.0}
    eager_f = xr.Dataset(fields)
    eager_t = cm.align_to_forecast(eager_f, xr.Dataset({"t2m": truth, "z500": truth * 2.0}))
    climatology = xr.Dataset({"t2m": clim, "z500": clim * 2.0})
    lazy_f = xr.Dataset(
        {"t2m": forecast.chunk({"init_time": 3}), "z500": (forecast * 2.0).chunk({"init_time": 7})}
    )
    with pytest.raises(ValueError):
        lazy_f.chunks  # noqa: B018 (xarray refuses the Dataset-wide chunks)
    truth_ds = xr.Dataset({"t2m": truth, "z500": truth * 2.0}).chunk({"time": 9})
    lazy_t = cm.align_to_forecast(lazy_f, truth_ds)
    for name in fields:
        assert lazy_t[name].chunksizes["init_time"] == lazy_f[name].chunksizes["init_time"]
    for metric, lazy, eager in (
        (
            "rmse",
            cm.rmse(lazy_f, lazy_t, region=REGIONS),
            cm.rmse(eager_f, eager_t, region=REGIONS),
        ),
        (
            "acc",
            cm.acc(lazy_f, lazy_t, climatology.chunk({"lat": 4}), region=REGIONS),
            cm.acc(eager_f, eager_t, climatology, region=REGIONS),
        ),
        ("mae", cm.mae(lazy_f, lazy_t), cm.mae(eager_f, eager_t)),
    ):
        for name in fields:
            assert lazy[name].chunks is not None, (metric, name)
            np.testing.assert_allclose(
                lazy[name].values, eager[name].values, rtol=2e-6, err_msg=f"{metric} {name}"
            )


def test_dask_backed_static_field_beside_in_memory_fields_aligns_eagerly(data):
    """Only the forecast's fields with init times decide the lazy path: a dask-backed
    static field (a mask) beside in-memory forecast fields leaves the truth in memory."""
    forecast, truth, _ = data
    mask = xr.ones_like(forecast.isel(init_time=0, lead_time=0, drop=True)).chunk()
    aligned = cm.align_to_forecast(xr.Dataset({"t2m": forecast, "mask": mask}), truth.to_dataset())
    assert aligned["t2m"].chunks is None
    expected = cm.align_to_forecast(forecast, truth)
    np.testing.assert_array_equal(aligned["t2m"].values, expected.values)


def test_store_opened_with_auto_chunks_is_scored(data, tmp_path):
    """The README's way of opening a store, ``xr.open_zarr(path, chunks="auto")``, on a
    store of a 2-D and a 3-D field one init per chunk: dask's auto chunks (here with a small
    target size) differ between the fields, and the scores equal the in-memory ones."""
    import dask

    forecast, truth, clim = data
    levels = [500.0, 850.0]
    z = xr.concat([forecast * 2.0, forecast * 3.0], dim=xr.Variable("level", levels))
    z = z.transpose("init_time", "lead_time", "level", "lat", "lon")
    store = tmp_path / "forecast.zarr"
    xr.Dataset({"t2m": forecast, "z": z}).chunk({"init_time": 1}).to_zarr(store)
    truth_z = xr.concat([truth * 2.0, truth * 3.0], dim=xr.Variable("level", levels))
    truth_ds = xr.Dataset({"t2m": truth, "z": truth_z.transpose("time", "level", "lat", "lon")})
    with dask.config.set({"array.chunk-size": "64KiB"}):
        lazy_f = xr.open_zarr(store, chunks="auto")
    sizes = {k: lazy_f[k].chunksizes["init_time"] for k in ("t2m", "z")}
    assert sizes["t2m"] != sizes["z"] and max(sizes["t2m"]) > 1
    eager_f = lazy_f.compute()  # (load() would load lazy_f in place)
    lazy_t = cm.align_to_forecast(lazy_f, truth_ds.chunk({"time": 9}))
    eager_t = cm.align_to_forecast(eager_f, truth_ds)
    climatology = xr.Dataset(
        {"t2m": clim, "z": xr.concat([clim * 2.0, clim * 3.0], dim=xr.Variable("level", levels))}
    )
    lazy = cm.acc(lazy_f, lazy_t, climatology, region=REGIONS)
    eager = cm.acc(eager_f, eager_t, climatology, region=REGIONS)
    for name in ("t2m", "z"):
        assert lazy[name].chunks is not None
        np.testing.assert_allclose(lazy[name].values, eager[name].values, rtol=2e-6)
    np.testing.assert_allclose(
        cm.rmse(lazy_f, lazy_t)["z"].values, cm.rmse(eager_f, eager_t)["z"].values, rtol=2e-6
    )


def test_regions_are_independent_where_cells_are_masked(data):
    """A NaN cell inside one region must not change another region's mean."""
    forecast, truth, _ = data
    t = cm.align_to_forecast(forecast, truth).copy()
    t[:, :, 0, 0] = np.nan  # a polar cell: outside the tropics
    both = cm.mse(forecast, t, region=["tropics", "global"])
    alone = cm.mse(forecast, t, region="tropics")
    np.testing.assert_allclose(
        both.sel(region="tropics").values, alone.values, rtol=1e-6
    )  # float32 sums: BLAS kernels differ
    assert np.isfinite(both.sel(region="global").values).all()


def test_prepared_store_is_read_lazily_by_shards(tmp_path):
    from climbench.data.prepare import load_prepared, open_prepared, prepare
    from climbench.data.synthetic import weather

    source = tmp_path / "source.zarr"
    weather("5.625", (2016, 2016), seed=0, variables=["2m_temperature", "temperature"]).sel(
        time=slice("2016-01-01", "2016-02-15")
    ).to_zarr(source, mode="w")
    store = prepare(source, tmp_path / "prepared.zarr", progress=False)
    lazy = open_prepared(store)
    assert lazy["2m_temperature"].chunks is not None
    assert len(lazy["2m_temperature"].chunks[0]) < lazy.sizes["time"]  # not one per step
    window = ("2016-01-10", "2016-02-01T06")
    loaded = load_prepared(store, ["2m_temperature", "temperature"], window)
    part = lazy[["2m_temperature", "temperature"]].sel(time=slice(*window)).compute()
    xr.testing.assert_identical(part, loaded)
    with xr.open_zarr(store, chunks=None) as plain:
        np.testing.assert_array_equal(plain["temperature"].values, lazy["temperature"].values)


def test_prepared_store_opened_over_a_time_range_reads_only_that_range(tmp_path, monkeypatch):
    """``open_prepared(time_range=)`` starts its chunks at the range: no step outside it is
    read, and the values are those of selecting the range afterwards."""
    from climbench.data import shard_reader
    from climbench.data.prepare import open_prepared, prepare
    from climbench.data.synthetic import weather

    source = tmp_path / "source.zarr"
    weather("5.625", (2016, 2016), seed=0, variables=["2m_temperature", "temperature"]).sel(
        time=slice("2016-01-01", "2016-02-15")
    ).to_zarr(source, mode="w")
    store = prepare(source, tmp_path / "prepared.zarr", progress=False)
    window = ("2016-01-10T06", "2016-02-01T18")
    whole = open_prepared(store)
    first, last = (int(whole.indexes["time"].get_loc(pd.Timestamp(t))) for t in window)
    reads = []
    read = shard_reader._read_time_steps
    monkeypatch.setattr(
        shard_reader, "_read_time_steps", lambda a, s, e: reads.append((s, e)) or read(a, s, e)
    )
    part = open_prepared(store, time_range=window)
    assert part.sizes["time"] == last - first + 1
    values = part[["2m_temperature", "temperature"]].compute()
    assert reads and min(s for s, _ in reads) == first and max(e for _, e in reads) == last + 1
    expected = whole[["2m_temperature", "temperature"]].sel(time=slice(*window))
    xr.testing.assert_identical(values, expected.compute())
    outside = open_prepared(store, time_range=("2017-01-01", "2017-02-01"))
    assert outside.sizes["time"] == 0


@pytest.mark.parametrize("task_bytes", [1, 3 * 4 * 16 * 32 * 4, 1 << 30])
def test_kernel_tasks_group_forecast_blocks_and_agree(data, task_bytes, monkeypatch):
    """Groups of forecast blocks per kernel task (one block, three, all) give the in-memory
    scores, with a forecast also chunked along lead_time and a fixed climatology field."""
    from climbench.metrics import _reduce

    monkeypatch.setattr(_reduce, "_TASK_BYTES", task_bytes)
    forecast, truth, clim = data
    lazy_f = forecast.chunk({"init_time": 1, "lead_time": 2})
    lazy_t = cm.align_to_forecast(lazy_f, truth.chunk({"time": 9}))
    eager_t = cm.align_to_forecast(forecast, truth)
    fixed = clim.isel(dayofyear=0, hour=0, drop=True)  # (lat, lon), broadcast to every sample
    (per_sample,) = _reduce.spatial_means(
        _reduce._k_identity, [lazy_f], cm.area_weights(forecast["lat"], forecast["lon"]), ["m"]
    )
    groups = {1: 20, 3 * 4 * 16 * 32 * 4: 7, 1 << 30: 1}[task_bytes]
    assert len(per_sample.chunks[0]) == groups  # 20 one-init blocks in groups of 3, or all
    for lazy, eager in (
        (cm.rmse(lazy_f, lazy_t, region=REGIONS), cm.rmse(forecast, eager_t, region=REGIONS)),
        (
            cm.acc(lazy_f, lazy_t, fixed, region=REGIONS),
            cm.acc(forecast, eager_t, fixed, region=REGIONS),
        ),
        (cm.area_mean(lazy_f), cm.area_mean(forecast)),
    ):
        assert lazy.chunks is not None
        # float32 sums in another order; the area means of noise are near 0 (atol)
        np.testing.assert_allclose(lazy.values, eager.values, rtol=2e-6, atol=1e-6)


def test_kernel_tasks_gather_truth_and_climatology_inline(data):
    """The truth and climatology rows of a forecast block are gathered inside the kernel's
    task (no gather task of their own left in the optimised graph), and the gathered
    arrays still compute on their own in the same call."""
    import dask

    forecast, truth, clim = data
    lazy_f = forecast.chunk({"init_time": 2})
    lazy_t = cm.align_to_forecast(lazy_f, truth.chunk({"time": 9}))
    score = cm.acc(lazy_f, lazy_t, clim.chunk({"lat": 4}), region=REGIONS)
    (optimised,) = dask.optimize(score.data)
    names = {k[0] if isinstance(k, tuple) else k for k in dict(optimised.__dask_graph__())}
    assert not [n for n in names if n.startswith("gather-rows-")]
    lazy_score, truth_mean = dask.compute(score, lazy_t.mean())
    eager_t = cm.align_to_forecast(forecast, truth)
    eager = cm.acc(forecast, eager_t, clim, region=REGIONS)
    np.testing.assert_allclose(lazy_score.values, eager.values, rtol=2e-6)
    np.testing.assert_allclose(truth_mean.values, eager_t.mean().values, rtol=1e-5)


def test_gathered_rows_are_views_only_where_they_step_evenly(data):
    _, truth, _ = data
    source = truth.values
    rows = np.array([[3, 5, 7, 9], [4, 6, 8, 11]])
    gathered = layout.GatheredRows([source[:60], source[60:]], rows, np.array([0, 60, 120]))
    even = gathered[0:1]  # rows 3, 5, 7, 9: a strided view of the first block
    assert not even.flags.writeable and np.shares_memory(even, source)
    np.testing.assert_array_equal(even, source[[[3, 5, 7, 9]]])
    uneven = gathered[1:2]  # rows 4, 6, 8, 11: copied
    assert not np.shares_memory(uneven, source)
    np.testing.assert_array_equal(uneven, source[[[4, 6, 8, 11]]])
    np.testing.assert_array_equal(gathered[0], source[[3, 5, 7, 9]])  # an integer index
    np.testing.assert_array_equal(gathered[0:1, 1:3], source[[[5, 7]]])  # part of a row: copied
    np.testing.assert_array_equal(gathered[0:2], source[rows])  # two inits: copied
    bounds = np.array([0, 60, 120])
    across = layout.GatheredRows([source[:60], source[60:]], np.array([[56, 58, 60, 62]]), bounds)
    np.testing.assert_array_equal(across[0:1], source[[[56, 58, 60, 62]]])  # two blocks: copied
    whole = np.asarray(layout.GatheredRows([source], rows[:1], np.array([0, 120])))
    assert whole.flags.writeable and not np.shares_memory(whole, source)  # numpy gets a copy


@pytest.mark.parametrize("members", [4, 13])
def test_crps_ensemble_lazy_equals_eager(data, members):
    """The ensemble CRPS in one kernel pass (members chunked, one init per chunk, a NaN
    member) gives the in-memory numbers; 4 members take the pairwise form, 13 the sorted."""
    forecast, truth, _ = data
    rng = np.random.default_rng(members)
    noise = rng.standard_normal((members, *forecast.shape)).astype(np.float32)
    ensemble = (forecast + xr.DataArray(noise, dims=("member", *forecast.dims))).transpose(
        "init_time", "lead_time", "member", "lat", "lon"
    )
    ensemble[0, 0, 1, 2, 3] = np.nan  # a missing member at one point: dropped there
    eager_t = cm.align_to_forecast(forecast, truth)
    eager = cm.crps_ensemble(ensemble, eager_t, region=REGIONS)
    lazy_f = ensemble.chunk({"init_time": 1, "member": 2})
    lazy = cm.crps_ensemble(
        lazy_f, cm.align_to_forecast(lazy_f, truth.chunk({"time": 5})), region=REGIONS
    )
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, eager.values, rtol=2e-6)
    # against the pointwise field averaged by area_mean (the formula, not the kernel)
    field = cm.crps_ensemble_pointwise(ensemble, eager_t)
    direct = cm.area_mean(field, region=REGIONS).mean("init_time")
    np.testing.assert_allclose(eager.values, direct.values, rtol=2e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_sums_are_the_bits_of_matmul_in_every_layout(dtype):
    """The engine's products go through ``np.dot`` (which releases the GIL) where the block
    is contiguous: the region means must stay the bits ``q @ w`` gives, for one row (gemv)
    and many, any number of regions, and a broadcast row (which keeps ``matmul``)."""
    from climbench.metrics._reduce import (
        _BLAS_MULTIPLY_ADDS,
        _product,
        _weighted_sums,
        region_weight_matrix,
    )

    rng = np.random.default_rng(5)
    for rows in (1, 2, 3, 17, 40, 43, 64, 160):
        for nregion in (1, 3, 5):
            q = (rng.standard_normal((rows, 2048)) ** 2).astype(dtype)
            w = region_weight_matrix(rng.random((nregion, 32, 64))).astype(dtype)
            res = np.empty((rows, nregion), dtype=np.float64)
            _weighted_sums(q, w, res)
            step = max(1, _BLAS_MULTIPLY_ADDS // (2048 * nregion))  # (as the engine splits)
            expected = np.concatenate([q[a : a + step] @ w for a in range(0, rows, step)])
            np.testing.assert_array_equal(res, expected)
            row = np.broadcast_to(q[:1], q.shape)
            np.testing.assert_array_equal(_product(row, w), row @ w)
