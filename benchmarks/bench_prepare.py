"""Benchmark of ``climbench.prepare``: throughput, peak memory and the Zarr chunk layout.

Run from the repository root (see ``benchmarks/README.md``, section "prepare")::

    python benchmarks/bench_prepare.py            # full run: > 2 GB source, several minutes
    python benchmarks/bench_prepare.py --quick    # smoke run, well under a minute
    python benchmarks/bench_prepare.py --workdir /scratch/bench --keep

What it does:

1. Generates a synthetic source Zarr store on the 1.40625-degree grid (128 x 256), 6-hourly,
   with ``2m_temperature`` (time, lat, lon) and ``geopotential`` / ``temperature`` (time,
   level=[500, 850], lat, lon) in float32: a fixed smooth pattern, seasonal and diurnal cycles,
   a few random large-scale waves per step and small white noise, so that compression
   behaves roughly like real data. It is built lazily with dask, one source chunk at a
   time, and written with ``to_zarr``. With ``--workdir`` the store is cached there and
   reused by later runs with the same parameters.
2. Runs ``climbench.prepare`` in a child process (a) on the same grid (no regridding) and
   (b) to the 5.625-degree grid (conservative), and reports the wall time, throughput and the
   child's peak RSS, split by phase (setup, write, statistics) by wrapping prepare's internal
   steps in the child.
3. Prepares one year at both resolutions with ``time_chunk`` 1, 4 and 16 and measures
   training-style reads: random single time steps (zarr arrays directly, and through
   ``xr.open_zarr(..., chunks=None).isel(time=i).load()``) and batches of 32 consecutive
   steps. Reads run on a warm page cache (the stores were just written), so they measure
   decoding and read amplification, not disk latency.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")

GENERATOR_VERSION = 1
LEVELS = [500.0, 850.0]
RSS_TARGET_BYTES = 1.5e9
MB = 1e6


# --------------------------------------------------------------------------------------------
# 1. synthetic source store


def _dir_bytes(path: Path) -> tuple[int, int]:
    """Total size in bytes and number of files under ``path``."""
    total, files = 0, 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            total += os.path.getsize(os.path.join(root, name))
            files += 1
    return total, files


def _smooth_block(
    var: str, t0: int, nt: int, levels: list[float], lat: np.ndarray, lon: np.ndarray, seed: int
) -> np.ndarray:
    """Float32 fields for steps ``t0 .. t0 + nt`` (6-hourly) of one variable.

    A fixed smooth climatology, seasonal and diurnal cycles, a travelling wave, four random
    large-scale waves per step and small white noise. Deterministic per (seed, var, t0).
    """
    var_id = ("2m_temperature", "geopotential", "temperature").index(var)
    rng = np.random.default_rng([seed, var_id, t0])
    phi = np.deg2rad(lat)[:, None]  # (nlat, 1)
    lam = np.deg2rad(lon)[None, :]  # (1, nlon)
    days = (t0 + np.arange(nt)) / 4.0  # (nt,)
    season = np.cos(2 * np.pi * (days - 15) / 365.25)[:, None, None]
    diurnal_phase = 2 * np.pi * (days % 1.0)[:, None, None]
    wave_phase = 2 * np.pi * days[:, None, None] / 6.0
    # (mean, equator-pole contrast, seasonal amplitude, noise std) per variable and level
    if var == "2m_temperature":
        params = [(300.0, 45.0, 12.0, 0.4)]
    elif var == "temperature":
        params = [(255.0 if lv == 500 else 285.0, 30.0, 8.0, 0.3) for lv in levels]
    else:  # geopotential
        params = [
            (9.81 * (5600.0 if lv == 500 else 1500.0), 9.81 * 450.0, 9.81 * 80.0, 9.81)
            for lv in levels
        ]
    out = np.empty((nt, len(params), lat.size, lon.size), dtype=np.float32)
    for k, (mean, contrast, seasonal, noise) in enumerate(params):
        field = (
            mean - contrast * np.sin(phi) ** 2 + 0.1 * contrast * np.cos(2 * lam) * np.cos(phi) ** 2
        )[None]
        field = field + seasonal * np.sin(phi)[None] * season
        field = field + 0.05 * contrast * np.cos(phi)[None] * np.cos(lam[None] + diurnal_phase)
        field = field + 0.1 * contrast * np.sin(2 * phi)[None] ** 2 * np.cos(
            5 * lam[None] - wave_phase
        )
        # random large-scale waves, a new set each step
        for _ in range(4):
            m = rng.integers(1, 8)
            n = rng.integers(1, 6)
            amp = rng.normal(0, 0.04 * contrast, (nt, 1, 1))
            ph = rng.uniform(0, 2 * np.pi, (nt, 1, 1))
            field = field + amp * np.cos(n * phi)[None] * np.cos(m * lam[None] + ph)
        out[:, k] = field + rng.normal(0, noise, (nt, lat.size, lon.size))
    return out if var in ("temperature", "geopotential") else out[:, 0]


def make_source(path: Path, steps: int, time_chunk: int, seed: int = 0) -> dict:
    """Write (or reuse) the synthetic 1.40625-degree source store; returns its description."""
    import dask.array as dsa
    import pandas as pd
    import xarray as xr

    from climbench.data.grids import get_grid

    params = {
        "generator_version": GENERATOR_VERSION,
        "steps": steps,
        "time_chunk": time_chunk,
        "seed": seed,
        "grid": "1.40625",
        "levels": LEVELS,
    }
    marker = path / "bench_source.json"
    if marker.is_file() and json.loads(marker.read_text()).get("params") == params:
        info = json.loads(marker.read_text())
        info["cached"] = True
        return info
    if path.exists():
        shutil.rmtree(path)
    grid = get_grid("1.40625")
    coords = grid.coords()
    lat, lon = grid.lat, grid.lon
    times = pd.date_range("2000-01-01", periods=steps, freq="6h")
    level = xr.DataArray(
        np.array(LEVELS), dims="level", attrs={"units": "hPa", "long_name": "pressure level"}
    )
    starts = list(range(0, steps, time_chunk))
    sizes = tuple(min(time_chunk, steps - s) for s in starts)

    def lazy(var: str, with_level: bool) -> xr.DataArray:
        shape = (
            (steps, len(LEVELS), lat.size, lon.size) if with_level else (steps, lat.size, lon.size)
        )
        chunks = (sizes,) + tuple((n,) for n in shape[1:])

        def block(block_info=None):  # noqa: ANN001, ANN202 (dask's map_blocks signature)
            t0, t1 = block_info[None]["array-location"][0]
            return _smooth_block(var, t0, t1 - t0, LEVELS, lat, lon, seed)

        data = dsa.map_blocks(
            block, chunks=chunks, dtype=np.float32, meta=np.empty((0,) * len(shape), np.float32)
        )
        dims = ("time", "level", "lat", "lon") if with_level else ("time", "lat", "lon")
        units = {"2m_temperature": "K", "temperature": "K", "geopotential": "m2 s-2"}[var]
        return xr.DataArray(data, dims=dims, attrs={"units": units})

    ds = xr.Dataset(
        {
            "2m_temperature": lazy("2m_temperature", False),
            "geopotential": lazy("geopotential", True),
            "temperature": lazy("temperature", True),
        },
        coords={"time": times, "level": level, **coords},
        attrs={"title": "climbench bench_prepare synthetic source"},
    )
    encoding = {
        name: {"chunks": tuple(c[0] for c in da.chunks)} for name, da in ds.data_vars.items()
    }
    partial = path.parent / f".{path.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    t0 = time.perf_counter()
    ds.to_zarr(partial, mode="w", encoding=encoding, zarr_format=3, consolidated=True)
    seconds = time.perf_counter() - t0
    nbytes, files = _dir_bytes(partial)
    info = {
        "params": params,
        "bytes": nbytes,
        "files": files,
        "logical_bytes": int(sum(da.nbytes for da in ds.data_vars.values())),
        "write_seconds": seconds,
        "start": str(times[0]),
        "end": str(times[-1]),
    }
    (partial / "bench_source.json").write_text(json.dumps(info, indent=1))
    os.replace(partial, path)
    info["cached"] = False
    return info


# --------------------------------------------------------------------------------------------
# 2. prepare in a child process, with per-phase peak RSS


def _child_main(spec: dict) -> None:
    """Runs in the child: ``climbench.prepare(**spec)`` and prints one JSON line."""
    import psutil

    proc = psutil.Process()
    state = {"phase": "import", "peaks": {}, "starts": {"import": time.perf_counter()}}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = proc.memory_info().rss
            phase = state["phase"]
            state["peaks"][phase] = max(state["peaks"].get(phase, 0), rss)
            stop.wait(0.05)

    def enter(phase: str) -> None:
        rss = proc.memory_info().rss
        old = state["phase"]
        state["peaks"][old] = max(state["peaks"].get(old, 0), rss)
        state["phase"] = phase
        state["starts"][phase] = time.perf_counter()
        state["peaks"][phase] = max(state["peaks"].get(phase, 0), rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    import climbench
    import climbench.data.prepare as prep

    chunk_for_writing, statistics = prep._chunk_for_writing, prep._statistics

    def wrapped_chunk(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = chunk_for_writing(*args, **kwargs)
        enter("write")  # the next thing prepare does is to_zarr + dask.compute
        return out

    def wrapped_stats(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        enter("statistics")
        try:
            return statistics(*args, **kwargs)
        finally:
            enter("manifest+rename")

    prep._chunk_for_writing, prep._statistics = wrapped_chunk, wrapped_stats
    baseline = proc.memory_info().rss
    enter("setup")
    t0 = time.perf_counter()
    climbench.prepare(**spec)
    wall = time.perf_counter() - t0
    enter("done")
    stop.set()
    thread.join()
    order = ["setup", "write", "statistics", "manifest+rename", "done"]
    times = {
        p: state["starts"][order[i + 1]] - state["starts"][p]
        for i, p in enumerate(order[:-1])
        if p in state["starts"]
    }
    result = {
        "wall_s": wall,
        "import_rss": baseline,
        "phase_seconds": times,
        "phase_peak_rss": {p: state["peaks"].get(p, 0) for p in order[:-1]},
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    print("BENCH_RESULT " + json.dumps(result), flush=True)


def run_prepare_child(spec: dict) -> dict:
    """``climbench.prepare(**spec)`` in a fresh interpreter; returns the child's figures."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    outer = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"prepare child failed (exit {proc.returncode})")
    result = json.loads(lines[-1].removeprefix("BENCH_RESULT "))
    result["process_wall_s"] = outer
    # ru_maxrss of waited-for children: the largest of all children so far (kB on Linux)
    result["rusage_children_maxrss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return result


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.2f} GB"


def report_prepare(label: str, res: dict, source: dict, out: Path) -> dict:
    nbytes, files = _dir_bytes(out)
    wall = res["wall_s"]
    peak = res["ru_maxrss"]
    flag = "OK" if peak < RSS_TARGET_BYTES else "OVER 1.5 GB TARGET"
    print(f"\n[{label}]")
    print(
        f"  wall time           {wall:8.1f} s  (child process incl. imports "
        f"{res['process_wall_s']:.1f} s)"
    )
    print(
        f"  source read         {source['bytes'] / MB:8.0f} MB on disk -> "
        f"{source['bytes'] / MB / wall:6.1f} MB/s  (logical "
        f"{source['logical_bytes'] / MB / wall:.1f} MB/s)"
    )
    print(
        f"  output written      {nbytes / MB:8.0f} MB on disk, {files} files -> "
        f"{nbytes / MB / wall:6.1f} MB/s"
    )
    print(
        f"  peak RSS (child)    {_gb(peak):>8}  [{flag}]  (after imports {_gb(res['import_rss'])})"
    )
    for phase, secs in res["phase_seconds"].items():
        print(f"    {phase:<16} {secs:7.1f} s   peak RSS {_gb(res['phase_peak_rss'][phase])}")
    return {
        "label": label,
        "wall_s": wall,
        "out_bytes": nbytes,
        "files": files,
        "peak_rss": peak,
        **{f"{p}_s": s for p, s in res["phase_seconds"].items()},
    }


# --------------------------------------------------------------------------------------------
# 3. chunk layout: training-style reads


def read_benchmark(
    store: Path,
    n_random: int,
    n_batches: int,
    n_xarray: int,
    batch: int = 32,
    seed: int = 1,
    repeats: int = 3,
) -> dict:
    import xarray as xr
    import zarr

    group = zarr.open_group(store, mode="r")
    manifest = json.loads((store / "climbench_manifest.json").read_text())
    names = [n for n, v in manifest["variables"].items() if "time" in v["dims"]]
    arrays = [group[n] for n in names]
    nt = arrays[0].shape[0]
    sample_bytes = sum(math.prod(a.shape[1:]) * a.dtype.itemsize for a in arrays)
    rng = np.random.default_rng(seed)
    for a in arrays:  # open shard indexes / warm up
        a[0]
    idx = rng.integers(0, nt, n_random)
    b = min(batch, nt)
    starts = rng.integers(0, nt - b + 1, n_batches)
    ds = xr.open_zarr(store, chunks=None, consolidated=True)
    ds.isel(time=0).load()

    def random_zarr() -> None:
        for i in idx:
            for a in arrays:
                a[int(i)]

    def batches() -> None:
        for s in starts:
            for a in arrays:
                a[int(s) : int(s) + b]

    def random_xarray() -> None:
        for i in idx[:n_xarray]:
            ds.isel(time=int(i)).load()

    def best(fn) -> float:  # noqa: ANN001
        """Shortest of ``repeats`` runs: the machine may be shared, take the least disturbed."""
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    random_s, batch_s, xr_s = best(random_zarr), best(batches), best(random_xarray)
    return {
        "random_sps": n_random / random_s,
        "xarray_sps": min(n_xarray, n_random) / xr_s,
        "batch_sps": n_batches * b / batch_s,
        "sample_mb": sample_bytes / MB,
        "steps": nt,
    }


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--workdir", type=Path, help="where to write (source store cached)")
    parser.add_argument("--keep", action="store_true", help="keep the prepared stores")
    parser.add_argument(
        "--years",
        type=float,
        default=4.0,
        help="length of the source (default 4 years, ~2.9 GB on disk)",
    )
    parser.add_argument(
        "--source-time-chunk", type=int, default=73, help="time steps per source chunk (default 73)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(json.loads(args.child))
        return

    if args.quick:
        steps, layout_steps, n_random, n_batches, n_xarray, repeats = 120, 120, 200, 20, 50, 1
    else:
        steps = int(round(args.years * 365.25 * 4))
        layout_steps, n_random, n_batches, n_xarray, repeats = 1464, 2000, 100, 300, 3
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="climbench-bench-prepare-"))
    workdir.mkdir(parents=True, exist_ok=True)
    outputs: list[Path] = []
    import dask

    print(
        f"climbench prepare benchmark ({'quick' if args.quick else 'full'}), workdir "
        f"{workdir}, {os.cpu_count()} CPUs, dask scheduler "
        f"{dask.config.get('scheduler', 'threads (default)')}, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    try:
        # 1. source
        src_path = workdir / f"source_1.40625_{steps}steps.zarr"
        source = make_source(src_path, steps, args.source_time_chunk)
        gen_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        how = (
            "cached"
            if source["cached"]
            else f"generated in {source['write_seconds']:.1f} s, generator peak RSS {_gb(gen_rss)}"
        )
        print(
            f"\n[source] {src_path.name}: {steps} steps 6-hourly ({source['start']} .. "
            f"{source['end']}), 128 x 256, 2m_temperature + geopotential/temperature at "
            f"{LEVELS} hPa, float32, time chunk {args.source_time_chunk}"
        )
        print(
            f"  on disk {_gb(source['bytes'])} ({source['bytes'] / MB:.0f} MB, "
            f"{source['files']} files), logical {_gb(source['logical_bytes'])}, "
            f"compression ratio {source['logical_bytes'] / source['bytes']:.2f}; {how}"
        )
        if not args.quick and source["bytes"] <= 2e9:
            print("  WARNING: source is not larger than 2 GB; raise --years")

        # 2. prepare, same grid and 5.625 conservative
        rows = []
        for label, grid in (
            ("a: 1.40625 -> same grid (no regrid)", None),
            ("b: 1.40625 -> 5.625 conservative", "5.625"),
        ):
            out = workdir / f"prepared_{grid or 'same'}.zarr"
            outputs.append(out)
            if out.exists():
                shutil.rmtree(out)
            res = run_prepare_child(
                {"sources": str(src_path), "out": str(out), "grid": grid, "method": "conservative"}
            )
            rows.append(report_prepare(label, res, source, out))
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)

        # 3. chunk layout
        times = __import__("pandas").date_range("2000-01-01", periods=layout_steps, freq="6h")
        time_range = (str(times[0]), str(times[-1]))
        print(
            f"\n[chunk layout] {layout_steps} steps ({time_range[0][:10]} .. "
            f"{time_range[1][:10]}); {n_random} random single steps (zarr), {n_xarray} via "
            f"xarray isel().load(), {n_batches} batches of 32 consecutive steps; samples/s, "
            f"best of {repeats}, warm page cache"
        )
        header = (
            f"  {'grid':<8} {'tchunk':>6} {'MB/step':>8} {'store MB':>9} {'files':>6} "
            f"{'prep s':>7} {'peak RSS':>9} {'random/s':>9} {'xr rand/s':>10} "
            f"{'batch32/s':>10}"
        )
        print(header)
        for grid in ("5.625", None):
            for tc in (1, 4, 16):
                out = workdir / f"layout_{grid or '1.40625'}_tc{tc}.zarr"
                outputs.append(out)
                if out.exists():
                    shutil.rmtree(out)
                res = run_prepare_child(
                    {
                        "sources": str(src_path),
                        "out": str(out),
                        "grid": grid,
                        "time_range": time_range,
                        "time_chunk": tc,
                    }
                )
                nbytes, files = _dir_bytes(out)
                reads = read_benchmark(out, n_random, n_batches, n_xarray, repeats=repeats)
                print(
                    f"  {grid or '1.40625':<8} {tc:>6} {reads['sample_mb']:>8.3f} "
                    f"{nbytes / MB:>9.0f} {files:>6} {res['wall_s']:>7.1f} "
                    f"{_gb(res['ru_maxrss']):>9} {reads['random_sps']:>9.0f} "
                    f"{reads['xarray_sps']:>10.0f} {reads['batch_sps']:>10.0f}",
                    flush=True,
                )
                if not args.keep:
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        if not args.keep:
            for out in outputs:
                shutil.rmtree(out, ignore_errors=True)
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f} (other processes slow timings)")
    if args.keep:
        print(f"kept outputs in {workdir}")


if __name__ == "__main__":
    main()
