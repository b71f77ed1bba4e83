"""Benchmark of the scorer (``climbench.evaluate``) on WeatherBench 2's anchor workload.

Run from the repository root (see ``benchmarks/README.md``, section "evaluate")::

    python benchmarks/bench_evaluate.py                       # about 4 min (+2 min to build once)
    python benchmarks/bench_evaluate.py --reference-inits 0   # ours only
    python benchmarks/bench_evaluate.py --init-chunk 1        # predictions 1 init per chunk

Workload (the one behind WeatherBench 2's figures in the peers README): one year of
forecasts at 5.625 degrees (32 x 64), 732 init times (00 and 12 UTC from 2018-01-01 to
2019-01-01) x 40 leads (6 to 240 h) x 5 variables: ``geopotential`` and ``temperature``
with a ``level`` dim (500, 850 hPa), ``2m_temperature``, 10 m u and v wind; 7 fields,
1.68 GB of float32 in a Zarr store. Metrics: rmse, mse, 10 m wind-vector RMSE, acc, bias
and mae over the global, tropics and extratropics regions, each with a 95 % bootstrap
interval (``--resamples``, default 1000).

What it does:

1. Builds a task spec for this workload in code (a variant of ``forecast/synthetic-5.625``
   with daily inits, the 7 target fields and the metrics above) and its data: synthetic
   weather 2016-2019 (train 2016, validate 2017, test inits 2018-01-01 .. 2019-01-01
   12 UTC, truth to 2019-01-11 12 UTC) and the training-split climatology.
2. Writes a predictions store in the WeatherBench 2 layout, ``(init_time, lead_time,
   [level], lat, lon)``: the truth at each valid time plus Gaussian noise whose size grows
   with the lead time, plus a small bias; float32, Zarr v3, default compressor (zstd).
   Chunks: ``--init-chunk`` init times (default 4) x all leads x all levels x the whole
   grid (2.6 MB for a level variable). WeatherBench 2 asks for "single chunks in space but
   small chunks in time" and is run with ``--input_chunks=init_time=1``.
   Steps 1 and 2 are cached under ``--cache`` (default ``$CLIMBENCH_BENCH_EVALUATE`` or
   ``/tmp/climbench-bench-evaluate``) and reused.
3. Runs ``climbench.evaluate(path, task, baselines=False)`` end to end in a fresh Python
   process: opening the Zarr store, validation, the one statistics pass, aggregation with
   bootstrap intervals, and ``Results.write``. Reports its wall time, CPU time and the
   process's own peak RSS (``ru_maxrss``), ``--repeat`` times, and the load average (the
   machine may be shared: CPU seconds are the figure that load does not inflate).
4. Runs a reference in another fresh process: the same metrics written the way WeatherBench
   2's ``evaluate_in_memory`` computes them (lazy xarray/dask per metric and per region;
   ACC loads the climatology at every valid time, per region; ``xr.merge``; written to
   netCDF, which computes), on the first ``--reference-inits`` init times (default all 732:
   about 2.5 minutes and 10 GB of memory; fewer are scaled linearly to the year, which
   overstates the time, as the reference's fixed costs are large; 0 skips it). It is our
   rewrite of that code path, not WeatherBench 2 itself (which does not install here); it
   also checks that its scores equal ours on the same inits. WeatherBench 2's own figures
   on a 2-core machine (125 s, 9.7-10 GB) are printed as the anchor.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")

#: WeatherBench 2 ``evaluate_in_memory`` on this workload, 2 cores (peers README)
ANCHOR_WALL_S = 125.0
ANCHOR_RSS_GB = (9.7, 10.0)
TARGET_WALL_S = 12.0
TARGET_RSS_GB = 1.5
LEVELS = (500.0, 850.0)
LEVEL_VARIABLES = ("geopotential", "temperature")
SURFACE = ("2m_temperature", "10m_u_component_of_wind", "10m_v_component_of_wind")
WIND = SURFACE[1:]
#: noise standard deviation of the predictions at 240 h (units of the variable)
NOISE_240H = {
    "geopotential": 600.0,
    "temperature": 3.0,
    "2m_temperature": 3.0,
    "10m_u_component_of_wind": 4.0,
    "10m_v_component_of_wind": 4.0,
}
PREDICTIONS_VERSION = 2
GB = 1e9


def default_cache() -> Path:
    return Path(os.environ.get("CLIMBENCH_BENCH_EVALUATE", "/tmp/climbench-bench-evaluate"))


# --------------------------------------------------------------------------------------------
# 1. the task


def bench_spec():
    """The WeatherBench 2 anchor protocol as a :class:`~climbench.tasks.spec.TaskSpec`."""
    from climbench.tasks.registry import get_spec
    from climbench.tasks.spec import Field, Headline, Period

    base = get_spec("forecast/synthetic-5.625@1")  # the protocol the figures were taken on
    targets = (
        *(Field(v, lev) for v in LEVEL_VARIABLES for lev in LEVELS),
        *(Field(v) for v in SURFACE),
    )
    return dataclasses.replace(
        base,
        name="bench/wb2-anchor-5.625",
        title="WeatherBench 2 anchor workload: one year of daily 00/12 UTC inits, 5.625 deg",
        description="benchmarks/bench_evaluate.py",
        dataset=dataclasses.replace(
            base.dataset, params={"grid": "5.625", "years": [2016, 2019], "seed": 0}
        ),
        targets=targets,
        inputs=targets,
        constants=(),
        splits={
            "train": Period("2016-01-01", "2016-12-31"),
            "validation": Period("2017-01-01", "2017-12-31"),
            "test": Period("2018-01-01", "2019-01-01T12:00"),
        },
        forecast=dataclasses.replace(base.forecast, init_every_days=1),
        metrics=("rmse", "mse", "acc", "bias", "mae", "wind_vector_rmse"),
        regions=("global", "tropics", "extratropics"),
        headline=Headline("rmse", "geopotential_500", "global", 72),
    )


def bench_task(cache: Path):
    from climbench.tasks import Task

    return Task(bench_spec(), cache / "data")


# --------------------------------------------------------------------------------------------
# 2. the predictions store


def write_predictions(task, path: Path, init_chunk: int) -> None:
    """Truth + lead-growing noise in the WeatherBench 2 layout (see the module docstring)."""
    import dask.array as dsa
    import pandas as pd
    import xarray as xr

    from climbench.data.prepare import load_prepared
    from climbench.io import atomic_directory
    from climbench.tasks import forecast as protocol

    template = task.template()
    inits, leads = template["init_time"].values, template["lead_time"].values
    times = task.truth()["time"].values
    store = load_prepared(
        task.data_dir / protocol.PREPARED, [*LEVEL_VARIABLES, *SURFACE], (times[0], times[-1])
    ).sel(level=list(LEVELS))
    pos = np.searchsorted(times, inits[:, None] + leads[None, :])
    hours = pd.TimedeltaIndex(leads).total_seconds().to_numpy() / 3600
    growth = np.sqrt(hours / hours.max()).astype(np.float32)
    data = {}
    for k, name in enumerate((*LEVEL_VARIABLES, *SURFACE)):
        truth = np.asarray(store[name].values, dtype=np.float32)
        scale = NOISE_240H[name] * growth.reshape(1, -1, *([1] * (truth.ndim - 1)))

        def block(block_info=None, truth=truth, scale=scale, k=k):  # noqa: ANN001, ANN202
            start, stop = block_info[None]["array-location"][0]
            y = truth[pos[start:stop]]
            noise = np.stack(  # drawn per init: the same values whatever the chunking
                [
                    np.random.default_rng([PREDICTIONS_VERSION, k, i]).standard_normal(
                        y.shape[1:], dtype=np.float32
                    )
                    for i in range(start, stop)
                ]
            )
            return y + scale * (noise + np.float32(0.1))

        shape = (inits.size, leads.size, *truth.shape[1:])
        chunks = dsa.core.normalize_chunks((init_chunk, *shape[1:]), shape)
        data[name] = xr.DataArray(
            dsa.map_blocks(block, chunks=chunks, dtype=np.float32),
            dims=("init_time", "lead_time", *store[name].dims[1:]),
            attrs={"units": store[name].attrs.get("units", "")},
        )
    ds = xr.Dataset(
        data,
        coords={"init_time": inits, "lead_time": leads, "level": list(LEVELS)}
        | {c: template[c].values for c in ("lat", "lon")},
        attrs={**task.attrs(), "model": "truth-plus-noise"},
    )
    encoding = {n: {"chunks": tuple(c[0] for c in ds[n].chunks)} for n in ds.data_vars}
    with atomic_directory(path, "predictions", overwrite=True) as tmp:
        ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=True)


def build(cache: Path, init_chunk: int) -> Path:
    """Task data and predictions store, built once per cache folder and reused."""
    task = bench_task(cache)
    if not task.is_prepared():
        t0 = time.perf_counter()
        print(f"building the task data under {task.data_dir} ...", flush=True)
        task.prepare_data()
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    path = cache / f"predictions-v{PREDICTIONS_VERSION}-chunk{init_chunk}.zarr"
    if not (path / "zarr.json").is_file():
        t0 = time.perf_counter()
        print(f"writing predictions {path} ...", flush=True)
        write_predictions(task, path, init_chunk)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------------------------
# 3. our scorer (child process)


def child_score(cache: Path, predictions: Path, resamples: int) -> dict:
    """``climbench.evaluate`` end to end; its results folder goes to ``cache/results``."""
    from climbench.evaluation.evaluate import evaluate

    task = bench_task(cache)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    results = evaluate(predictions, task, baselines=False, resamples=resamples)
    t1 = time.perf_counter()
    results.write(cache / "results", overwrite=True)
    t2 = time.perf_counter()
    head = results.headline()
    return {
        "evaluate_s": t1 - t0,
        "write_s": t2 - t1,
        "wall_s": t2 - t0,
        "cpu_s": _cpu_seconds() - c0,
        "rows": len(results.table),
        "headline": f"rmse z500 72 h global {head.value.iloc[0]:.2f} "
        f"[{head.ci_low.iloc[0]:.2f}, {head.ci_high.iloc[0]:.2f}]",
    }


# --------------------------------------------------------------------------------------------
# 4. the reference: WeatherBench 2's evaluate_in_memory code path (child process)


def child_reference(cache: Path, predictions: Path, ninit: int) -> dict:
    """Per metric, per region, lazily; merged, then written to netCDF (which computes).

    Follows ``weatherbench2.evaluation._metric_and_region_loop`` and ``metrics.MSE`` (with
    ``WindVectorMSE``), ``ACC``, ``Bias``, ``MAE`` and ``_spatial_average``; data opened as
    ``evaluate_in_memory`` does (``chunks="auto"``), truth selected at the valid times.
    """
    import xarray as xr

    from climbench.data.grids import cell_area_weights
    from climbench.tasks import forecast as protocol

    task = bench_task(cache)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    forecast = xr.open_zarr(predictions, chunks="auto").isel(init_time=slice(0, ninit))
    forecast = forecast.assign_coords(valid_time=forecast.init_time + forecast.lead_time)
    obs = xr.open_zarr(task.data_dir / protocol.PREPARED, chunks="auto")
    truth = obs[list(forecast.data_vars)].sel(level=list(LEVELS)).sel(time=forecast.valid_time)
    stored = protocol.climatology(task)
    climatology = xr.Dataset(
        {
            v: xr.concat([stored[f"{v}_{lev:g}"] for lev in LEVELS], "level").assign_coords(
                level=list(LEVELS)
            )
            for v in LEVEL_VARIABLES
        }
        | {v: stored[v] for v in SURFACE}
    )
    lat_weights = xr.DataArray(
        cell_area_weights(forecast.lat.values), dims="lat", coords={"lat": forecast.lat}
    )

    def spatial_average(ds, region):
        weights = lat_weights
        if region == "tropics":  # SliceRegion(lat_slice=slice(-20, 20))
            ds, weights = ds.sel(lat=slice(-20, 20)), weights.sel(lat=slice(-20, 20))
        elif region == "extratropics":  # ExtraTropicalRegion
            weights = weights * (np.abs(weights.lat) >= 20)
        if region is not None:
            ds = ds.where(weights > 0, 0)
        return ds.weighted(weights).mean(["lat", "lon"], skipna=False)

    def mse(f, t, region):
        out = spatial_average((f - t) ** 2, region)
        d = f - t
        out["10m_wind"] = spatial_average(d[WIND[0]] ** 2 + d[WIND[1]] ** 2, region)
        return out

    def acc(f, t, region):
        sel = {"dayofyear": f.valid_time.dt.dayofyear, "hour": f.valid_time.dt.hour}
        c = climatology.sel(sel).compute()
        fa, ta = f - c, t - c
        return spatial_average(fa * ta, region) / np.sqrt(
            spatial_average(fa**2, region) * spatial_average(ta**2, region)
        )

    metrics = {
        "mse": mse,
        "acc": acc,
        "bias": lambda f, t, r: spatial_average(f - t, r),
        "mae": lambda f, t, r: spatial_average(abs(f - t), r),
    }
    results = []
    for name, metric in metrics.items():
        per_region = [
            metric(forecast, truth, region)
            .mean("init_time")
            .expand_dims(metric=[name], region=[region or "global"])
            for region in (None, "tropics", "extratropics")
        ]
        results.append(xr.concat(per_region, "region"))
    merged = xr.merge(results)
    data = merged.to_netcdf()
    out = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_seconds() - c0, "inits": ninit}
    out["max_rel_diff_to_ours"] = _compare(xr.load_dataset(data), cache / "results", ninit)
    return out


def _compare(reference, results: Path, ninit: int) -> dict[str, float]:
    """Largest relative difference per metric between the reference and our per-sample
    statistics (``results/samples``) averaged over the same first ``ninit`` inits."""
    import xarray as xr

    samples = next((results / "samples").glob("*.nc"))
    ours = xr.load_dataset(samples).isel(init_time=slice(0, ninit))
    worst: dict[str, float] = {}
    for name in ours.data_vars:
        s = ours[name]
        stat = s.dims[-1]
        mean = {str(k): s.sel({stat: k}, drop=True) for k in s[stat].values}
        if name == "10m_wind":
            mine = {"mse": mean["vse"].mean("init_time")}
            ref = reference["10m_wind"]
        else:
            variable, _, level = str(name).rpartition("_")
            if variable in LEVEL_VARIABLES:
                ref = reference[variable].sel(level=float(level))
            else:
                ref = reference[str(name)]
            mine = {
                "mse": mean["se"].mean("init_time"),
                "mae": mean["ae"].mean("init_time"),
                "bias": mean["e"].mean("init_time"),
                "acc": (mean["fo"] / np.sqrt(mean["ff"] * mean["oo"])).mean("init_time"),
            }
        for metric, value in mine.items():
            want = ref.sel(metric=metric, region=value["region"].values)
            want = want.transpose(*value.dims).values
            rel = float(np.max(np.abs(value.values - want) / np.abs(want)))
            worst[metric] = max(worst.get(metric, 0.0), rel)
    return worst


# --------------------------------------------------------------------------------------------
# driver


def _run_child(kind: str, args: argparse.Namespace, predictions: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--cache", str(args.cache)]
    cmd += ["--predictions", str(predictions), "--resamples", str(args.resamples)]
    cmd += ["--reference-inits", str(args.reference_inits)]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"the {kind} child failed")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t0
    out["load"] = (load, os.getloadavg()[0])
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, default=default_cache(), help="data and results")
    p.add_argument("--init-chunk", type=int, default=4, help="init times per predictions chunk")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--repeat", type=int, default=3, help="runs of our scorer")
    p.add_argument(
        "--reference-inits", type=int, default=732, help="inits the reference scores (0: skip)"
    )
    p.add_argument("--child", choices=["score", "reference"], help=argparse.SUPPRESS)
    p.add_argument("--predictions", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        if args.child == "score":
            out = child_score(args.cache, args.predictions, args.resamples)
        else:
            out = child_reference(args.cache, args.predictions, args.reference_inits)
        out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(out))
        return

    predictions = build(args.cache, args.init_chunk)
    print(
        f"predictions: {predictions} ({_dir_bytes(predictions) / GB:.2f} GB on disk, "
        f"{args.init_chunk} inits per chunk); {os.cpu_count()} cores; "
        f"{args.resamples} bootstrap resamples"
    )
    runs = [_run_child("score", args, predictions) for _ in range(max(1, args.repeat))]
    for r in runs:
        print(
            f"  ours: evaluate {r['evaluate_s']:.2f} s + write {r['write_s']:.2f} s = "
            f"{r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, peak RSS "
            f"{r['peak_rss_bytes'] / GB:.2f} GB (process with imports {r['process_s']:.1f} s; "
            f"load average {r['load'][0]:.1f} -> {r['load'][1]:.1f}); {r['headline']}"
        )
    wall = float(np.median([r["wall_s"] for r in runs]))
    cpu = float(np.median([r["cpu_s"] for r in runs]))
    rss = max(r["peak_rss_bytes"] for r in runs) / GB
    met = wall <= TARGET_WALL_S and rss <= TARGET_RSS_GB
    print(
        f"OURS (median of {len(runs)}): {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.2f} GB"
        f"  [target <= {TARGET_WALL_S:g} s and <= {TARGET_RSS_GB:g} GB: "
        f"{'met' if met else 'NOT met'}]"
    )
    if args.reference_inits:
        ref = _run_child("reference", args, predictions)
        scale = 732 / ref["inits"]
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in ref["max_rel_diff_to_ours"].items())
        print(
            f"REFERENCE (our rewrite of WB2's evaluate_in_memory path, xarray/dask) on "
            f"{ref['inits']} of 732 inits: {ref['wall_s']:.1f} s wall, {ref['cpu_s']:.1f} s CPU, "
            f"peak RSS {ref['peak_rss_bytes'] / GB:.2f} GB (load average {ref['load'][0]:.1f} -> "
            f"{ref['load'][1]:.1f}); max relative difference to ours on those inits: {diffs}"
        )
        if scale != 1:
            print(
                f"  scaled linearly x{scale:.2f} to the year (time only, an overestimate): "
                f"{ref['wall_s'] * scale:.0f} s wall, {ref['cpu_s'] * scale:.0f} s CPU"
            )
        print(
            f"  ratio reference / ours: {ref['wall_s'] * scale / wall:.1f}x wall, "
            f"{ref['cpu_s'] * scale / cpu:.1f}x CPU"
            + (f", {ref['peak_rss_bytes'] / GB / rss:.1f}x peak RSS" if scale == 1 else "")
        )
    print(
        f"ANCHOR (WeatherBench 2 evaluate_in_memory, peers README, 2 cores): "
        f"{ANCHOR_WALL_S:g} s, {ANCHOR_RSS_GB[0]:g}-{ANCHOR_RSS_GB[1]:g} GB peak RSS; "
        f"ratio to ours {ANCHOR_WALL_S / wall:.1f}x time, "
        f"{ANCHOR_RSS_GB[0] / rss:.1f}-{ANCHOR_RSS_GB[1] / rss:.1f}x memory"
    )


if __name__ == "__main__":
    main()
