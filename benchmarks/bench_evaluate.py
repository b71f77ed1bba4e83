"""Benchmark of the scorer (``climbench.evaluate``) on WeatherBench 2's anchor workload.

Run from the repository root (see ``benchmarks/README.md``, section "evaluate")::

    python benchmarks/bench_evaluate.py                       # build once (cached), then measure
    python benchmarks/bench_evaluate.py --reference-inits 0   # ours only
    python benchmarks/bench_evaluate.py --cache /scratch/be --init-chunk 1

Workload (the one behind WeatherBench 2's figures in ``/work/shared/peers/README.md``):
one year of forecasts at 5.625 degrees (32 x 64), 732 init times (00 and 12 UTC from
2018-01-01 to 2019-01-01) x 40 leads (6 to 240 h) x 5 variables: ``geopotential`` and
``temperature`` with a ``level`` dim (500, 850 hPa), ``2m_temperature``, 10 m u and v wind;
7 fields, 1.68 GB of float32 in a Zarr store. Metrics: rmse, mse, 10 m wind-vector RMSE, acc,
bias and mae over the global, tropics and extratropics regions, with 95 % bootstrap
intervals (``--resamples``, default 1000).

What it does:

1. Builds a task spec for this workload in code (a variant of ``forecast/synthetic-5.625``
   with daily inits, 7 target fields and the metrics above) and its data: synthetic weather
   2016-2019 (train 2016, validate 2017, test inits 2018-01-01 .. 2019-01-01 12 UTC, truth
   to 2019-01-11 12 UTC) and the training-split climatology.
2. Writes a predictions store in the WeatherBench 2 layout: ``(init_time, lead_time,
   [level], lat, lon)``, each value the truth at the valid time plus Gaussian noise whose
   size grows with the lead time (plus a small bias), float32, Zarr v3 with the default
   compressor. Chunks: ``--init-chunk`` init times (default 4) x all leads x all levels x
   the whole grid: WeatherBench 2 asks for "single chunks in space but small chunks in
   time" and its users evaluate with ``--input_chunks=init_time=1``; 4 inits make 2.6 MB
   chunks for the level variables.
   Steps 1 and 2 are cached under ``--cache`` (or ``$CLIMBENCH_BENCH_EVALUATE``, default
   ``/tmp/climbench-bench-evaluate``) and reused.
3. Runs ``climbench.evaluate(path, task, baselines=False)`` end to end in a fresh Python
   process (opening the Zarr, validation, the one statistics pass, aggregation with
   bootstrap intervals, then ``Results.write``) and reports its wall time and the
   process's own peak RSS (``ru_maxrss``), ``--repeat`` times.
4. Runs a reference in another fresh process: the same metrics written the way
   WeatherBench 2's ``evaluate_in_memory`` computes them (lazy xarray/dask per metric and
   per region, climatology loaded at the valid times inside ACC, ``xr.merge``, then written
   to netCDF, which computes), on the first ``--reference-inits`` init times (default 183,
   a quarter of the year; 0 skips it), its time scaled to the whole year. It is our
   reimplementation, not WeatherBench 2 itself (which does not install here); WeatherBench
   2's own figures on a 2-core machine (125 s, 9.7 to 10 GB) are printed as the anchor.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
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
SURFACE = ("2m_temperature", "10m_u_component_of_wind", "10m_v_component_of_wind")
#: noise standard deviation at 240 h, per variable (units of the variable)
NOISE_240H = {
    "geopotential": 600.0,
    "temperature": 3.0,
    "2m_temperature": 3.0,
    "10m_u_component_of_wind": 4.0,
    "10m_v_component_of_wind": 4.0,
}
PREDICTIONS_VERSION = 1
GB = 1e9


def default_cache() -> Path:
    return Path(os.environ.get("CLIMBENCH_BENCH_EVALUATE", "/tmp/climbench-bench-evaluate"))


# --------------------------------------------------------------------------------------------
# 1. the task


def bench_spec():
    """The WeatherBench 2 anchor protocol as a :class:`~climbench.tasks.spec.TaskSpec`."""
    from climbench.tasks.registry import get_spec
    from climbench.tasks.spec import Field, Headline, Period

    base = get_spec("forecast/synthetic-5.625")
    targets = (
        *(Field(v, lev) for v in ("geopotential", "temperature") for lev in LEVELS),
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


def _truth_arrays(task) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Truth per variable (time, [level], lat, lon) over the verifying period, and its times."""
    truth = task.truth()
    times = truth["time"].values
    store = __import__("climbench.tasks.forecast", fromlist=["open_store"]).open_store(task)
    out = {}
    for name in ("geopotential", "temperature", *SURFACE):
        da = store[name].sel(time=times)
        if "level" in da.dims:
            da = da.sel(level=list(LEVELS))
        out[name] = np.asarray(da.values, dtype=np.float32)
    return out, times


def write_predictions(task, path: Path, init_chunk: int) -> None:
    """Truth + lead-growing noise in the WeatherBench 2 layout (see the module docstring)."""
    import dask.array as dsa
    import pandas as pd
    import xarray as xr

    from climbench.io import atomic_directory

    template = task.template()
    inits = template["init_time"].values
    leads = template["lead_time"].values
    truth, times = _truth_arrays(task)
    pos = np.searchsorted(times, inits[:, None] + leads[None, :])
    lead_h = pd.TimedeltaIndex(leads).total_seconds().to_numpy() / 3600
    growth = np.sqrt(lead_h / lead_h.max()).astype(np.float32)
    nlat, nlon = template.sizes["lat"], template.sizes["lon"]
    data = {}
    for k, (name, values) in enumerate(truth.items()):
        sigma = NOISE_240H[name]

        def block(block_info=None, values=values, sigma=sigma, k=k):  # noqa: ANN001, ANN202
            start, stop = block_info[None]["array-location"][0]
            rng = np.random.default_rng([PREDICTIONS_VERSION, k, start])
            y = values[pos[start:stop]]
            noise = rng.standard_normal(y.shape, dtype=np.float32)
            scale = sigma * growth.reshape(1, -1, *([1] * (y.ndim - 2)))
            return y + scale * (noise + np.float32(0.1))

        shape = (inits.size, leads.size, *values.shape[1:])
        chunks = (init_chunk, *shape[1:])
        arr = dsa.map_blocks(
            block, chunks=dsa.core.normalize_chunks(chunks, shape), dtype=np.float32
        )
        dims = ("init_time", "lead_time", *(("level",) if values.ndim == 4 else ()), "lat", "lon")
        units = task.truth()[
            f"{name}_500" if name in ("geopotential", "temperature") else name
        ].attrs.get("units", "")
        data[name] = xr.DataArray(arr, dims=dims, attrs={"units": units})
    ds = xr.Dataset(
        data,
        coords={
            "init_time": inits,
            "lead_time": leads,
            "level": list(LEVELS),
            "lat": template["lat"].values,
            "lon": template["lon"].values,
        },
        attrs={**task.attrs(), "model": "truth-plus-noise"},
    )
    encoding = {n: {"chunks": tuple(c[0] for c in ds[n].chunks)} for n in ds.data_vars}
    with atomic_directory(path, overwrite=True) as tmp:
        ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=True)


def build(cache: Path, init_chunk: int) -> tuple[object, Path]:
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
    return task, path


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# 3. our scorer, in a child process


def child_score(cache: Path, predictions: Path, resamples: int) -> dict:
    from climbench.evaluation.evaluate import evaluate

    task = bench_task(cache)
    t0 = time.perf_counter()
    results = evaluate(predictions, task, baselines=False, resamples=resamples)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            results.write(Path(tmp) / "results")
        except Exception as e:  # TEMP
            print("write failed", e, file=sys.stderr)
    t2 = time.perf_counter()
    head = results.headline()
    return {
        "evaluate_s": t1 - t0,
        "write_s": t2 - t1,
        "wall_s": t2 - t0,
        "rows": len(results.table),
        "headline_rmse_z500_72h": float(head.value.iloc[0]),
    }


# --------------------------------------------------------------------------------------------
# 4. the reference: WeatherBench 2's evaluate_in_memory, written out with xarray


def child_reference(cache: Path, predictions: Path, ninit: int) -> dict:
    """Per metric, per region, lazily; merged, then written to netCDF (which computes)."""
    import xarray as xr

    from climbench.data.grids import cell_area_weights
    from climbench.tasks import forecast as protocol

    task = bench_task(cache)
    t0 = time.perf_counter()
    forecast = xr.open_zarr(predictions, chunks="auto").isel(init_time=slice(0, ninit))
    forecast = forecast.assign_coords(valid_time=forecast.init_time + forecast.lead_time)
    obs = protocol.open_store(task)[list(forecast.data_vars)]
    obs = xr.open_zarr(task.data_dir / protocol.PREPARED, chunks="auto")[list(obs.data_vars)]
    obs = obs.sel(level=list(LEVELS))
    truth = obs.sel(time=forecast.valid_time)
    clim_store = protocol.climatology(task)
    clim = xr.Dataset(
        {
            v: xr.concat([clim_store[f"{v}_{lev:g}"] for lev in LEVELS], "level").assign_coords(
                level=list(LEVELS)
            )
            for v in ("geopotential", "temperature")
        }
        | {v: clim_store[v] for v in SURFACE}
    )
    lat_w = xr.DataArray(cell_area_weights(forecast.lat.values), dims="lat")

    def spatial_average(ds, region):
        weights = lat_w
        if region == "tropics":
            ds, weights = ds.sel(lat=slice(-20, 20)), weights.sel(lat=slice(-20, 20))
        elif region == "extratropics":
            weights = weights * (np.abs(ds.lat) >= 20)
        if region is not None:
            ds = ds.where(weights > 0, 0)
        return ds.weighted(weights).mean(["lat", "lon"], skipna=False)

    lat_w = lat_w.assign_coords(lat=forecast.lat.values)

    def mse(f, t, region):
        out = spatial_average((f - t) ** 2, region)
        d = f - t
        out["10m_wind"] = spatial_average(
            d["10m_u_component_of_wind"] ** 2 + d["10m_v_component_of_wind"] ** 2, region
        )
        return out

    def acc(f, t, region):
        sel = {"dayofyear": f.valid_time.dt.dayofyear, "hour": f.valid_time.dt.hour}
        c = clim.sel(sel).compute()
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
    regions = {"global": None, "tropics": "tropics", "extratropics": "extratropics"}
    results = []
    for name, metric in metrics.items():
        per_region = [
            metric(forecast, truth, region)
            .mean("init_time")
            .expand_dims(metric=[name], region=[rname])
            for rname, region in regions.items()
        ]
        results.append(xr.concat(per_region, "region"))
    merged = xr.merge(results)
    data = merged.to_netcdf()
    return {"wall_s": time.perf_counter() - t0, "bytes": len(data), "inits": ninit}


# --------------------------------------------------------------------------------------------
# driver


def _run_child(kind: str, args: argparse.Namespace, predictions: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--cache",
        str(args.cache),
        "--predictions",
        str(predictions),
        "--resamples",
        str(args.resamples),
        "--reference-inits",
        str(args.reference_inits),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {kind} failed")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = total
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, default=default_cache())
    p.add_argument("--init-chunk", type=int, default=4, help="init times per predictions chunk")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--repeat", type=int, default=3, help="runs of our scorer")
    p.add_argument(
        "--reference-inits", type=int, default=183, help="inits the reference scores (0: skip)"
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

    task, predictions = build(args.cache, args.init_chunk)
    size = _dir_bytes(predictions)
    print(f"predictions: {predictions} ({size / GB:.2f} GB on disk, chunk {args.init_chunk} inits)")
    print(f"cores: {os.cpu_count()}, resamples: {args.resamples}")

    runs = [_run_child("score", args, predictions) for _ in range(args.repeat)]
    for r in runs:
        print(
            f"  ours: evaluate {r['evaluate_s']:.2f} s + write {r['write_s']:.2f} s = "
            f"{r['wall_s']:.2f} s (process incl. imports {r['process_s']:.2f} s), "
            f"peak RSS {r['peak_rss_bytes'] / GB:.2f} GB"
        )
    wall = float(np.median([r["wall_s"] for r in runs]))
    rss = max(r["peak_rss_bytes"] for r in runs) / GB
    print(
        f"ours (median of {len(runs)}): {wall:.2f} s, peak RSS {rss:.2f} GB  "
        f"[target <= {TARGET_WALL_S:g} s, <= {TARGET_RSS_GB:g} GB: "
        f"{'met' if wall <= TARGET_WALL_S and rss <= TARGET_RSS_GB else 'NOT met'}]"
    )

    if args.reference_inits:
        ref = _run_child("reference", args, predictions)
        scale = 732 / ref["inits"]
        print(
            f"reference (WB2-style xarray/dask, our reimplementation) on {ref['inits']} of 732 "
            f"inits: {ref['wall_s']:.1f} s, peak RSS {ref['peak_rss_bytes'] / GB:.2f} GB; "
            f"scaled x{scale:.2f} to the year: {ref['wall_s'] * scale:.0f} s"
        )
        print(f"  ratio reference (scaled) / ours: {ref['wall_s'] * scale / wall:.1f}x time")
    print(
        f"anchor (WeatherBench 2 evaluate_in_memory, recorded in the peers README, 2 cores): "
        f"{ANCHOR_WALL_S:g} s, {ANCHOR_RSS_GB[0]:g}-{ANCHOR_RSS_GB[1]:g} GB peak RSS"
    )
    print(
        f"  ratio anchor / ours: {ANCHOR_WALL_S / wall:.1f}x time, "
        f"{ANCHOR_RSS_GB[0] / rss:.1f}-{ANCHOR_RSS_GB[1] / rss:.1f}x memory"
    )


if __name__ == "__main__":
    main()
