"""Training-data throughput: climbench's tensor-cache loader side by side with ClimateLearn.

Run from the repository root (see ``benchmarks/README.md``, section "loader")::

    python benchmarks/bench_loader.py                       # 3 to 5 minutes on 2 cores
    python benchmarks/bench_loader.py --skip-climatelearn   # ours only, under a minute

The ClimateLearn side runs ``../shared/peers/climatelearn_loader_bench.py`` with the Python of
a separate venv that has ``climate-learn`` (``--cl-python``, default ``/work/cl-venv/bin/python``;
set one up with ``python3 -m venv /work/cl-venv && /work/cl-venv/bin/pip install
climate-learn``) and reads the ``results.json`` it writes.

The same problem on both sides (ClimateLearn's "direct forecasting" configuration):
5.625-degree grid (32 x 64), one training year, inputs of 10 channels, targets
``2m_temperature``, ``geopotential_500``, ``temperature_850`` at +72 h, batches of 32,
shuffled, 0 and 2 DataLoader workers, history 1 and 3 (steps 6 h apart).

1. Ours: synthetic weather (:func:`climbench.data.synthetic.write_weather`, 2015, 6-hourly:
   1,460 steps), :func:`climbench.prepare`, then a tensor cache
   (:func:`~climbench.data.tensor_cache.ensure_tensor_cache`) of 8 time-varying channels
   (``2m_temperature``, 10 m u and v wind, ``geopotential`` and ``temperature`` at 500 and
   850 hPa, ``mean_sea_level_pressure``) and 2 constants (``land_sea_mask``,
   ``geopotential_at_surface``): 10 input channels like ClimateLearn's 7 time-varying fields
   and 3 constants (``land_sea_mask``, ``orography``, ``lattitude``), which our synthetic
   data does not have; ``mean_sea_level_pressure`` stands in for the latitude field.
   :class:`~climbench.data.samples.ForecastSamples` with lead 12 steps through
   :func:`~climbench.data.samples.make_loader`: one warm-up epoch, then whole epochs are
   timed (at least ``--min-epochs`` and ``--min-samples``). "First batch" is the time from
   ``iter(loader)`` to the first batch of a fresh loader (worker start-up included).
2. ClimateLearn 1.0.0 ``IterDataModule`` on WeatherBench-style hourly netCDF converted with
   its own ``convert_nc2npz`` (the peer script; 2015 for training), same batch, lead and
   channel count. With history 3, ClimateLearn repeats its 3 constants at every history
   step (30 channels) where we append ours once (3 x 8 + 2 = 26).
3. Upper bounds: random batches of 32 from our cache's plain memmap (sorted indices, all
   channels, no targets: a copy out of the page cache), and the peer script's memmap of
   ClimateLearn's tensors (inputs and targets normalised on the fly).

The machine may be shared: each figure is printed with the 1-minute load average at its
start. Results go to ``<workdir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from climbench.data.prepare import prepare
from climbench.data.samples import ForecastSamples, make_loader
from climbench.data.synthetic import write_weather
from climbench.data.tensor_cache import Channel, TensorCache, ensure_tensor_cache

PEER_SCRIPT = (
    Path(__file__).resolve().parents[2] / "shared" / "peers" / "climatelearn_loader_bench.py"
)
YEAR = 2015
BATCH = 32
LEAD_STEPS = 12  # 72 h of 6-hourly steps
VARYING = [
    Channel("2m_temperature"),
    Channel("10m_u_component_of_wind"),
    Channel("10m_v_component_of_wind"),
    Channel("geopotential", 500),
    Channel("geopotential", 850),
    Channel("temperature", 500),
    Channel("temperature", 850),
    Channel("mean_sea_level_pressure"),
]
CONSTANTS = [Channel("land_sea_mask"), Channel("geopotential_at_surface")]
TARGETS = ["2m_temperature", "geopotential_500", "temperature_850"]


def load() -> float:
    return os.getloadavg()[0]


def make_cache(workdir: Path) -> tuple[TensorCache, dict]:
    """Synthetic year -> prepared store -> tensor cache, each step reused when present."""
    raw, store = workdir / "weather_raw.zarr", workdir / "weather.zarr"
    timings = {}
    if not store.exists():
        start = time.perf_counter()
        write_weather(raw, grid="5.625", years=str(YEAR), seed=0, overwrite=True)
        timings["generate_s"] = time.perf_counter() - start
        start = time.perf_counter()
        prepare(raw, store)
        timings["prepare_s"] = time.perf_counter() - start
    fresh = not (workdir / "cache").exists()
    start = time.perf_counter()
    cache = ensure_tensor_cache(store, VARYING + CONSTANTS, workdir / "cache")
    if fresh:
        timings["cache_s"] = time.perf_counter() - start
    timings["cache_bytes"] = int(cache.data.nbytes)
    return cache, timings


def time_ours(
    cache: TensorCache, history: int, workers: int, min_samples: int, min_epochs: int
) -> dict:
    """Samples/s over whole shuffled epochs, and the first-batch latency of a fresh loader."""
    offsets = list(range(-(history - 1), 1))
    inits = range(history - 1, len(cache.times) - LEAD_STEPS)
    dataset = ForecastSamples(
        cache,
        input_channels=list(range(len(VARYING))),
        target_channels=[cache.channel_index(name) for name in TARGETS],
        init_indices=inits,
        lead_steps=[LEAD_STEPS],
        history=offsets,
    )
    loader = make_loader(dataset, BATCH, shuffle=True, num_workers=workers, seed=0)

    def epoch() -> tuple[int, float, float]:
        start = time.perf_counter()
        first, samples = None, 0
        for batch in loader:
            if first is None:
                first = time.perf_counter() - start
            samples += batch["x"].shape[0]
        return samples, time.perf_counter() - start, first

    state = {"load_1min": load()}
    _, state["warmup_epoch_s"], state["first_batch_s"] = epoch()  # fresh loader: workers start
    epochs = []
    while len(epochs) < min_epochs or sum(e[0] for e in epochs) < min_samples:
        epochs.append(epoch())
    samples, seconds = sum(e[0] for e in epochs), sum(e[1] for e in epochs)
    x = dataset[0]["x"]
    state.update(
        history=history,
        num_workers=workers,
        x_channels=x.shape[0],
        samples_per_epoch=len(dataset),
        timed_epochs=len(epochs),
        samples_per_s=samples / seconds,
        best_epoch_samples_per_s=max(e[0] / e[1] for e in epochs),
        steady_first_batch_s=max(e[2] for e in epochs),
        input_MB_per_s=samples * x.nbytes / seconds / 1e6,
    )
    return state


def time_memmap(cache: TensorCache, batches: int = 2000, seed: int = 0) -> dict:
    """Random sorted batches of 32 time steps, all channels, copied out of the memmap."""
    rng = np.random.default_rng(seed)
    data = cache.data
    for _ in range(50):
        np.array(data[np.sort(rng.integers(0, len(data), BATCH))])
    state = {"load_1min": load()}
    start = time.perf_counter()
    for _ in range(batches):
        np.array(data[np.sort(rng.integers(0, len(data), BATCH))])
    state["samples_per_s"] = batches * BATCH / (time.perf_counter() - start)
    return state


def run_climatelearn(python: str, workdir: Path, histories: list[int], min_epochs: int) -> dict:
    """Run the peer script in ClimateLearn's venv; its results.json."""
    cmd = [
        python,
        str(PEER_SCRIPT),
        "--workdir",
        str(workdir),
        "--reuse",
        "--histories",
        *map(str, histories),
        "--workers",
        "0",
        "2",
        "--min-epochs",
        str(min_epochs),
        "--max-wait-quiet",
        "10",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith("["):
            print(f"    ClimateLearn script: {line[:160]}", flush=True)
    results = json.loads((workdir / "results.json").read_text())
    results["wall_s"] = time.perf_counter() - start
    return results


def table(ours: list[dict], peer: dict | None, memmap: dict) -> str:
    theirs = {
        (r["history"], r["num_workers"]): r
        for r in (peer or {}).get("loader", [])
        if "error" not in r
    }
    best_theirs = {
        h: max((r["samples_per_s"] for (hh, _), r in theirs.items() if hh == h), default=None)
        for h in {r["history"] for r in ours}
    }
    rows = [
        "| history | workers | climbench samples/s | first batch | ClimateLearn samples/s "
        "| first batch | ours / ClimateLearn (same workers, best vs best) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ours:
        h, w = r["history"], r["num_workers"]
        cl = theirs.get((h, w))
        cl_rate = f"{cl['samples_per_s']:,.0f}" if cl else "-"
        cl_first = f"{cl['warmup_epoch']['first_batch_s']:.2f} s" if cl else "-"
        ratio = f"{r['samples_per_s'] / cl['samples_per_s']:.1f}x" if cl else "-"
        best_ours = max(o["samples_per_s"] for o in ours if o["history"] == h)
        if best_theirs[h]:
            ratio += f" ({best_ours / best_theirs[h]:.1f}x)"
        rows.append(
            f"| {h} | {w} | {r['samples_per_s']:,.0f} | {r['first_batch_s'] * 1000:.0f} ms "
            f"| {cl_rate} | {cl_first} | {ratio} |"
        )
    rows.append(f"\nplain memmap of our cache, raw x: {memmap['samples_per_s']:,.0f} samples/s")
    for key, value in (peer or {}).get("memmap", {}).items():
        if isinstance(value, dict) and "samples_per_s" in value:
            rows.append(f"peer memmap {key}: {value['samples_per_s']:,.0f} samples/s")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_loader"))
    parser.add_argument("--cl-python", default="/work/cl-venv/bin/python")
    parser.add_argument("--skip-climatelearn", action="store_true")
    parser.add_argument("--histories", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--min-epochs", type=int, default=5)
    parser.add_argument("--min-samples", type=int, default=20_000)
    parser.add_argument(
        "--cl-epochs", type=int, default=2, help="timed epochs per ClimateLearn configuration"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    cache, build = make_cache(args.workdir)
    print(
        f"[1] data: {len(cache.times)} steps, cache {build['cache_bytes'] / 1e6:.0f} MB; "
        + ", ".join(f"{k} {v:.1f}" for k, v in build.items() if k.endswith("_s")),
        flush=True,
    )
    if "cache_s" in build:
        print(f"    cache build: {build['cache_bytes'] / build['cache_s'] / 1e6:.0f} MB/s")
    ours = []
    for history in args.histories:
        for workers in args.workers:
            r = time_ours(cache, history, workers, args.min_samples, args.min_epochs)
            ours.append(r)
            print(
                f"[2] climbench history={history} workers={workers}: "
                f"{r['samples_per_s']:,.0f} samples/s ({r['input_MB_per_s']:.0f} MB/s of x; best "
                f"epoch {r['best_epoch_samples_per_s']:,.0f}); first batch "
                f"{r['first_batch_s'] * 1000:.0f} ms (fresh loader), "
                f"{r['steady_first_batch_s'] * 1000:.0f} ms (later epochs, worst); "
                f"load {r['load_1min']:.1f}",
                flush=True,
            )
    memmap = time_memmap(cache)
    print(f"[3] plain memmap: {memmap['samples_per_s']:,.0f} samples/s", flush=True)
    peer = None
    if not args.skip_climatelearn:
        print("[4] ClimateLearn (peer script, a few minutes) ...", flush=True)
        peer = run_climatelearn(
            args.cl_python, args.workdir / "climatelearn", args.histories, args.cl_epochs
        )
    print(table(ours, peer, memmap))
    results = {"build": build, "climbench": ours, "memmap": memmap, "climatelearn": peer}
    (args.workdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"results -> {args.workdir / 'results.json'}")


if __name__ == "__main__":
    main()
