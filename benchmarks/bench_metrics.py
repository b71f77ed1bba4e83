"""Side-by-side speed and memory of climbench.metrics against the reference implementations.

Run: ``python benchmarks/bench_metrics.py`` (about 5 minutes on 2 cores; ``--quick`` for a
smaller Zarr store, ``--skip-zarr`` / ``--only {crps,rmse,zarr}`` to run parts). Times are the
best of ``--repeat`` runs after a warm-up (the minimum is the least noisy statistic on a
shared machine). Three measurements:

1. fair CRPS, 50 members x 1,000,000 float32 points: ours vs scoringrules ``crps_ensemble``
   (every installed backend, fair-CRPS estimators ``pwm`` and ``fair``; the fastest one is
   the reference), properscoring (its classic estimator, compared with our ``fair=False``)
   and a plain numpy sort-based estimator.
2. area-weighted RMSE and ACC over init_time 730 x lead_time 20 x 5 variables x 32 x 64
   float32 in memory: ours vs xskillscore's weighted ``rmse`` / ``pearson_r``, and the ratio
   to one plain numpy pass (``sum``) over the same bytes.
3. peak RSS of scoring (RMSE + ACC) a dask-backed Zarr store of >= 4 GB, generated with
   dask in chunks in a temporary directory; generation and scoring each run in a child
   process whose peak RSS is its ``VmHWM`` (Linux).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from climbench.metrics import acc, align_to_forecast, latitude_weights, rmse
from climbench.metrics.probabilistic import crps_ensemble_array


def best_time(fn, repeat: int, warmup: int = 1) -> float:
    """Best wall time in seconds of ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def chunked(fn, n: int, step: int):
    """Call ``fn(slice)`` over ``range(n)`` in slices (keeps O(M^2)-memory references in RAM)."""

    def run():
        return [fn(slice(i, min(i + step, n))) for i in range(0, n, step)]

    return run


def bench_crps(repeat: int) -> None:
    import properscoring as ps
    import scoringrules as sr

    n, m = 1_000_000, 50
    rng = np.random.default_rng(0)
    fct = rng.standard_normal((n, m), dtype=np.float32)
    obs = rng.standard_normal(n, dtype=np.float32)
    print(f"\n== fair CRPS, {m} members x {n:,} points, float32 (best of {repeat}) ==")
    ours = crps_ensemble_array(fct, obs)
    t_ours = best_time(lambda: crps_ensemble_array(fct, obs), repeat)
    t_ours_biased = best_time(lambda: crps_ensemble_array(fct, obs, fair=False), repeat)
    print(f"climbench crps_ensemble_array (fair)        {t_ours:8.3f} s")
    print(f"climbench crps_ensemble_array (fair=False)  {t_ours_biased:8.3f} s")

    coef = (2 * np.arange(1, m + 1) - m - 1).astype(np.float32) / (m * (m - 1))

    def plain_numpy():
        s = np.sort(fct, axis=-1)
        return np.abs(fct - obs[:, None]).mean(-1) - s @ coef

    assert np.allclose(plain_numpy(), ours, atol=1e-4)
    t_plain = best_time(plain_numpy, repeat)
    print(f"plain numpy sort-based estimator            {t_plain:8.3f} s")

    results = {}
    for backend in sr.backends.available_backends:
        for estimator in ("pwm", "fair"):
            step = n if estimator == "pwm" else 20_000  # "fair" is O(M^2) in memory

            def call(s, backend=backend, estimator=estimator):
                return np.asarray(
                    sr.crps_ensemble(obs[s], fct[s], estimator=estimator, backend=backend)
                )

            check = call(slice(0, 20_000))
            assert np.allclose(check, ours[:20_000], atol=1e-4), (backend, estimator)
            if estimator == "fair" and n > 200_000:  # too slow for repeats: time 1/10, scale
                t = best_time(chunked(call, n // 10, step), 1, warmup=0) * 10
            else:
                t = best_time(chunked(call, n, step), repeat)
            results[(backend, estimator)] = t
            print(
                f"scoringrules {sr.__version__} {backend:>6}/{estimator:<5}            {t:8.3f} s"
            )
    (best_backend, best_est), t_sr = min(results.items(), key=lambda kv: kv[1])

    biased = crps_ensemble_array(fct[:5000], obs[:5000], fair=False)
    assert np.allclose(ps.crps_ensemble(obs[:5000], fct[:5000]), biased, atol=1e-4)
    t_ps = best_time(chunked(lambda s: ps.crps_ensemble(obs[s], fct[s]), n, 5_000), 1)
    print(f"properscoring (classic estimator, no numba) {t_ps:8.3f} s")
    print(
        f"-> ours vs fastest scoringrules ({best_backend}/{best_est}): "
        f"{t_sr / t_ours:.1f}x faster (target >= 3x)"
    )
    print(
        f"-> ours (fair=False) vs properscoring: {t_ps / t_ours_biased:.1f}x faster; "
        f"ours vs plain numpy: {t_plain / t_ours:.1f}x"
    )


def bench_rmse_acc(repeat: int) -> None:
    import xskillscore as xs

    n_init, n_lead, n_var, nlat, nlon = 730, 20, 5, 32, 64
    rng = np.random.default_rng(1)
    lat = -90 + 180 / nlat / 2 + np.arange(nlat) * 180 / nlat
    lon = np.arange(nlon) * 360 / nlon
    coords = {
        "init_time": pd.date_range("2020-01-01", periods=n_init, freq="12h"),
        "lead_time": pd.to_timedelta(np.arange(1, n_lead + 1) * 12, unit="h"),
        "lat": lat,
        "lon": lon,
    }
    dims = ("init_time", "lead_time", "lat", "lon")
    shape = (n_init, n_lead, nlat, nlon)
    truth = xr.Dataset(
        {f"v{i}": (dims, rng.standard_normal(shape, dtype=np.float32)) for i in range(n_var)},
        coords=coords,
    )
    forecast = xr.Dataset(
        {
            k: (dims, (v.values + 0.5 * rng.standard_normal(shape, dtype=np.float32)))
            for k, v in truth.items()
        },
        coords=coords,
    )
    clim = xr.Dataset(
        {
            k: (("lat", "lon"), rng.standard_normal((nlat, nlon)).astype(np.float32) * 0.1)
            for k in truth
        },
        coords={"lat": lat, "lon": lon},
    )
    nbytes = sum(v.nbytes for v in forecast.values()) + sum(v.nbytes for v in truth.values())
    print(
        f"\n== area-weighted RMSE and ACC, {n_init} x {n_lead} x {n_var} vars x {nlat} x "
        f"{nlon} float32, {nbytes / 1e9:.2f} GB (best of {repeat}) =="
    )

    arrays = [v.values for v in forecast.values()] + [v.values for v in truth.values()]
    t_pass = best_time(lambda: [a.sum() for a in arrays], repeat)
    print(f"one plain numpy pass (sum over the same bytes)  {t_pass:8.3f} s")

    ours_rmse = rmse(forecast, truth)
    t_rmse = best_time(lambda: rmse(forecast, truth), repeat)
    t_acc = best_time(lambda: acc(forecast, truth, clim, centred=True), repeat)
    t_acc_u = best_time(lambda: acc(forecast, truth, clim), repeat)
    print(f"climbench rmse                                  {t_rmse:8.3f} s")
    print(f"climbench acc (centred)                         {t_acc:8.3f} s")
    print(f"climbench acc (uncentred, WB2)                  {t_acc_u:8.3f} s")

    w = latitude_weights(lat).broadcast_like(truth["v0"].isel(init_time=0, lead_time=0, drop=True))

    def xs_rmse():
        per_sample = xs.rmse(forecast, truth, dim=["lat", "lon"], weights=w)
        return np.sqrt((per_sample**2).mean("init_time"))

    ref = xs_rmse()
    assert all(np.allclose(ref[k], ours_rmse[k], rtol=1e-4) for k in ref)
    t_xs_rmse = best_time(xs_rmse, 1)
    fa, oa = forecast - clim, truth - clim
    ours_acc = acc(forecast, truth, clim, centred=True)

    def xs_acc():
        return xs.pearson_r(fa, oa, dim=["lat", "lon"], weights=w).mean("init_time")

    ref = xs_acc()
    assert all(np.allclose(ref[k], ours_acc[k], rtol=1e-4) for k in ref)
    t_xs_acc = best_time(xs_acc, 1)
    print(f"xskillscore weighted rmse                       {t_xs_rmse:8.3f} s")
    print(f"xskillscore weighted pearson_r (anomalies given){t_xs_acc:8.3f} s")
    print(
        f"-> rmse: {t_xs_rmse / t_rmse:.1f}x faster than xskillscore (target >= 10x); "
        f"{t_rmse / t_pass:.2f}x one numpy pass (target <= 4x)"
    )
    print(
        f"-> acc:  {t_xs_acc / t_acc:.1f}x faster than xskillscore (target >= 10x); "
        f"{t_acc / t_pass:.2f}x one numpy pass centred, {t_acc_u / t_pass:.2f}x uncentred "
        "(target <= 4x)"
    )


ZARR_GRID = (128, 256)  # 1.40625 degrees
ZARR_LEADS = 20


def _generate(path: Path, n_init: int) -> dict:
    """Child: write forecast and truth stores with dask, chunk by chunk (low memory)."""
    import dask.array as dsa

    nlat, nlon = ZARR_GRID
    lat = -90 + 180 / nlat / 2 + np.arange(nlat) * 180 / nlat
    lon = np.arange(nlon) * 360 / nlon
    time_axis = pd.date_range("2000-01-01", periods=n_init + ZARR_LEADS, freq="6h")
    rng = dsa.random.default_rng(0)
    truth = xr.DataArray(
        rng.standard_normal(
            (time_axis.size, nlat, nlon), chunks=(32, nlat, nlon), dtype=np.float32
        ),
        dims=("time", "lat", "lon"),
        coords={"time": time_axis, "lat": lat, "lon": lon},
        name="t",
    )
    forecast = xr.DataArray(
        rng.standard_normal(
            (n_init, ZARR_LEADS, nlat, nlon), chunks=(4, ZARR_LEADS, nlat, nlon), dtype=np.float32
        ),
        dims=("init_time", "lead_time", "lat", "lon"),
        coords={
            "init_time": time_axis[:n_init],
            "lead_time": pd.to_timedelta(np.arange(1, ZARR_LEADS + 1) * 6, unit="h"),
            "lat": lat,
            "lon": lon,
        },
        name="t",
    )
    enc = {"t": {"compressors": None}}
    truth.to_dataset().to_zarr(path / "truth.zarr", mode="w", encoding=enc)
    forecast.to_dataset().to_zarr(path / "forecast.zarr", mode="w", encoding=enc)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {"bytes_on_disk": size}


def _score(path: Path) -> dict:
    """Child: open the stores lazily and compute RMSE and ACC per lead time in one pass."""
    import dask

    forecast = xr.open_zarr(path / "forecast.zarr")["t"]
    truth = xr.open_zarr(path / "truth.zarr")["t"]
    aligned = align_to_forecast(forecast, truth)
    clim = xr.zeros_like(truth.isel(time=0, drop=True)).compute()
    start = time.perf_counter()
    r, a = dask.compute(
        rmse(forecast, aligned), acc(forecast, aligned, clim), scheduler="threads", num_workers=2
    )
    return {
        "seconds": time.perf_counter() - start,
        "rmse_lead0": float(r[0]),
        "acc_lead0": float(a[0]),
    }


def _peak_rss_bytes() -> int:
    """This process's peak RSS: ``VmHWM`` of its own address space.

    (``getrusage`` would also count the parent's RSS at fork time, which Linux carries
    through ``exec`` into ``ru_maxrss``.)
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(kind: str, path: str, n_init: int) -> None:
    result = _generate(Path(path), n_init) if kind == "generate" else _score(Path(path))
    result["peak_rss_bytes"] = _peak_rss_bytes()
    print(json.dumps(result))


def _run_child(kind: str, path: Path, n_init: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), str(n_init)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_zarr(quick: bool) -> None:
    n_init = 160 if quick else 1600
    tmp = Path(tempfile.mkdtemp(prefix="climbench-bench-"))
    try:
        print(f"\n== scoring a dask-backed Zarr store ({'quick' if quick else 'full'}) ==")
        gen = _run_child("generate", tmp, n_init)
        print(
            f"generated {gen['bytes_on_disk'] / 1e9:.2f} GB on disk "
            f"(forecast {n_init} x {ZARR_LEADS} x {ZARR_GRID[0]} x {ZARR_GRID[1]} float32 "
            f"+ truth); generation peak RSS {gen['peak_rss_bytes'] / 1e9:.2f} GB"
        )
        res = _run_child("score", tmp, n_init)
        print(
            f"scored rmse + acc per lead time in {res['seconds']:.1f} s, peak RSS "
            f"{res['peak_rss_bytes'] / 1e9:.2f} GB (target < 1.5 GB); "
            f"rmse(lead 1) = {res['rmse_lead0']:.4f} (expected sqrt 2 = 1.4142)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~0.45 GB Zarr store")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["crps", "rmse", "zarr"])
    parser.add_argument("--skip-zarr", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.only in (None, "crps"):
        bench_crps(args.repeat)
    if args.only in (None, "rmse"):
        bench_rmse_acc(args.repeat)
    if args.only == "zarr" or (args.only is None and not args.skip_zarr):
        bench_zarr(args.quick)


if __name__ == "__main__":
    main()
