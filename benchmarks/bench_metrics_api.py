"""The public xarray metrics API on lazy Zarr data, side by side with the scorer and a read.

Run from the repository root (see ``benchmarks/README.md``, section "metrics API")::

    python benchmarks/bench_metrics_api.py             # about 4 min (+2 min to build once)

Workload: the WeatherBench-2-shaped year of ``benchmarks/bench_evaluate.py`` (built with its
generator and cached in its folder): 732 init times x 40 leads at 5.625 degrees, 7 fields
in a Zarr store chunked 4 inits x all leads, and the truth as the task's prepared store.
For ``crps_ensemble`` a second store holds a 4-member ensemble of ``2m_temperature``
(the truth plus member noise growing with lead; one chunk per 4 inits).

Each figure is a fresh Python process (imports excluded, among them the ``distributed``
import of dask's first compute; wall, CPU seconds and the process's peak RSS). The kinds
run in turn, ``--repeat`` rounds (3) of one process each, so every round sees the machine
in one state; the figure of a kind is its least-CPU run, a ratio the median over rounds of
the ratio within a round (CPU seconds of one process vary by a third from minute to minute
on a shared 2-core machine):

1. **read**: every array of the forecast store read once through zarr (decompression
   included), the floor any scorer of this store pays;
2. **api**: what a user of the README's metrics section writes: ``xr.open_zarr(store,
   chunks="auto")`` (dask chunks of whole store chunks, about 128 MiB), then
   ``cm.align_to_forecast(forecast, truth)`` on the lazy prepared store, then ``cm.rmse``
   and ``cm.acc`` (training climatology) over the global, tropics and extratropics
   regions, all fields, computed together;
3. **api, store's chunks**: the same with ``xr.open_zarr(store)`` (one dask chunk per
   store chunk: 4 inits here, one per chunk in WeatherBench 2's stores);
4. **evaluate**: ``climbench.evaluate`` of the same store for the same fields and regions,
   without bootstrap intervals (``resamples=0``; the API gives none), for the store's task:
   rmse and acc plus mse, bias, mae and wind-vector RMSE (the one pass computes every
   statistic whatever the metrics);
5. the same four for ``cm.crps_ensemble`` on the ensemble store.

The targets: the API within 2x of ``evaluate`` and within 2x of the read. The API's
numbers are checked against ``evaluate``'s (to 1e-5 relative).
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_evaluate as anchor  # noqa: E402  (the workload's generator)

REGIONS = ["global", "tropics", "extratropics"]
ENSEMBLE_FIELD = "2m_temperature"
MEMBERS = 4


def _task(cache: Path, metrics: tuple[str, ...], targets=None):
    from climbench.tasks import Task

    task = anchor.bench_task(cache)
    spec = dataclasses.replace(task.spec, metrics=metrics)
    if targets is not None:
        spec = dataclasses.replace(spec, targets=targets)
    return Task(spec, task.data_root)


def _ensemble_task(cache: Path):
    from climbench.tasks import Field

    return _task(cache, ("crps",), (Field(ENSEMBLE_FIELD),))


def build_ensemble(cache: Path) -> Path:
    """A 4-member ``2m_temperature`` forecast store for the ensemble task (built once)."""
    import xarray as xr

    from climbench.io import atomic_directory

    path = cache / f"ensemble-{MEMBERS}.zarr"
    if (path / "zarr.json").is_file():
        return path
    task = _ensemble_task(cache)
    template = task.template()
    truth = task.truth()[ENSEMBLE_FIELD]
    inits, leads = template["init_time"].values, template["lead_time"].values
    sigma = (0.5 + 2.5 * np.arange(1, leads.size + 1) / leads.size).astype(np.float32)
    out = np.empty((inits.size, leads.size, MEMBERS, *truth.shape[1:]), dtype=np.float32)
    values = truth.load()
    for i, t0 in enumerate(inits):
        rng = np.random.default_rng(i)
        y = values.sel(time=t0 + leads).values
        noise = rng.standard_normal((leads.size, MEMBERS, *y.shape[1:]), dtype=np.float32)
        out[i] = y[:, None] + sigma[:, None, None, None] * noise
    ds = xr.Dataset(
        {ENSEMBLE_FIELD: (("init_time", "lead_time", "member", "lat", "lon"), out)},
        coords={"init_time": inits, "lead_time": leads, "member": np.arange(MEMBERS)}
        | {c: template[c].values for c in ("lat", "lon")},
        attrs={**task.attrs(), "model": "ensemble-truth-plus-noise"},
    )
    ds[ENSEMBLE_FIELD].attrs["units"] = truth.attrs["units"]
    encoding = {ENSEMBLE_FIELD: {"chunks": (4, leads.size, MEMBERS, *y.shape[1:])}}
    with atomic_directory(path, "predictions", overwrite=True) as tmp:
        ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=True)
    return path


def _measure(fn) -> dict:
    _warm_up()
    t0, c0 = time.perf_counter(), _cpu()
    out = fn()
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": _cpu() - c0,
        "rss_gb": _peak_rss() / 2**30,
        "values": out,
    }


def _warm_up() -> None:
    """Pay the imports the figures exclude (see the module docstring) before measuring:
    dask's first compute looks for a distributed client, which imports ``distributed``
    when it is installed (about 0.3 s), in the API and evaluate alike."""
    import dask

    dask.compute(dask.delayed(int)(0))


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (``VmHWM``). Not ``ru_maxrss``: Linux
    carries the parent's peak over into a child started by fork and exec, so every child
    of a parent that has just built the workload (1.4 GB) would report at least that."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(kind: str, cache: Path, store: Path) -> dict:
    import xarray as xr
    import zarr

    import climbench
    import climbench.metrics as cm
    from climbench.tasks import forecast as protocol

    ensemble = kind.endswith("ensemble")
    # the deterministic store was made for the anchor task: evaluate scores its metrics (rmse,
    # acc and four more, all from the one pass; the aggregation of the four costs little)
    task = _ensemble_task(cache) if ensemble else anchor.bench_task(cache)
    fields = [f.name for f in task.spec.targets]

    if kind.startswith("read"):

        def run():
            group = zarr.open_group(store, mode="r")
            return {
                name: float(np.asarray(group[name][...]).ravel()[0]) for name in group.array_keys()
            }

    elif kind.startswith("api"):
        # the README's way (dask chunks of whole store chunks, ~128 MiB) or the store's chunks
        chunks = {} if kind.startswith("api-store") else "auto"

        def run():
            forecast = xr.open_zarr(store, chunks=chunks)
            forecast = xr.Dataset({f: _field(forecast, f) for f in fields})
            truth = task.truth()
            truth = xr.Dataset({f: truth[f] for f in fields})
            truth = cm.align_to_forecast(forecast, truth)
            if ensemble:
                scores = {"crps": cm.crps_ensemble(forecast, truth, region=REGIONS)}
            else:
                clim = protocol.climatology(task)[fields]
                scores = {
                    "rmse": cm.rmse(forecast, truth, region=REGIONS),
                    "acc": cm.acc(forecast, truth, clim, region=REGIONS),
                }
            computed = dict(zip(scores, _compute(scores.values()), strict=True))
            return {
                f"{m}/{f}/{r}/72": float(ds[f].sel(region=r, lead_time=np.timedelta64(72, "h")))
                for m, ds in computed.items()
                for f in fields
                for r in REGIONS
            }

    else:

        def run():
            res = climbench.evaluate(store, task, baselines=False, resamples=0)
            t = res.table[res.table.lead_hours == 72]
            return {
                f"{row.metric}/{_name(row)}/{row.region}/72": float(row.value)
                for row in t.itertuples()
            }

    return _measure(run)


def _compute(results):
    import dask

    return dask.compute(*results)


def _field(ds, name: str):
    """A target field of a WeatherBench-2-layout store (``geopotential_500`` -> level 500)."""
    variable, _, level = name.rpartition("_")
    if level.isdigit() and variable in ds:
        return ds[variable].sel(level=float(level), drop=True)
    return ds[name]


def _name(row) -> str:
    level = row.level
    return row.variable if level != level or level is None else f"{row.variable}_{int(level)}"


def _run(kind: str, cache: Path, store: Path) -> dict:
    """One fresh child process measuring ``kind``."""
    cmd = [sys.executable, __file__, "--child", kind, "--cache", str(cache), "--store", str(store)]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"the {kind} child failed")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = (load, os.getloadavg()[0])
    return out


def _rounds(kinds: list[str], cache: Path, store: Path, repeat: int) -> list[dict]:
    """``repeat`` rounds of one run of each kind in turn: ``[{kind: run}, ...]``."""
    return [{k: _run(k, cache, store) for k in kinds} for _ in range(repeat)]


def _least_cpu(rounds: list[dict], kind: str) -> dict:
    return min((r[kind] for r in rounds), key=lambda r: r["cpu_s"])


def _ratios(rounds: list[dict], a: str, b: str, figure: str = "cpu_s") -> list[float]:
    """``a``'s ``figure`` over ``b``'s, round by round (the same state of the machine)."""
    return [r[a][figure] / r[b][figure] for r in rounds]


def _ratio(rounds: list[dict], a: str, b: str) -> float:
    """The median over rounds of ``a``'s CPU over ``b``'s in the same round."""
    return float(np.median(_ratios(rounds, a, b)))


def _agree(a: dict, b: dict) -> float:
    keys = sorted(set(a) & set(b))
    if not keys:
        raise SystemExit("no common scores to compare")
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in keys)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=anchor.default_cache())
    p.add_argument("--init-chunk", type=int, default=4)
    p.add_argument("--repeat", type=int, default=3, help="rounds of runs (see the docstring)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.cache, args.store)))
        return
    deterministic = anchor.build(args.cache, args.init_chunk)
    ensemble = build_ensemble(args.cache)
    for label, store, suffix in (
        ("rmse + acc, 7 fields", deterministic, ""),
        (f"crps_ensemble, {ENSEMBLE_FIELD}, {MEMBERS} members", ensemble, "-ensemble"),
    ):
        names = {
            "read": "read the store once",
            "api": 'cm API (chunks="auto")',
            "api-store": "cm API (store's chunks)",
            "evaluate": "evaluate",
        }
        rounds = [
            {k: r[k + suffix] for k in names}
            for r in _rounds([k + suffix for k in names], args.cache, store, args.repeat)
        ]
        print(f"\n{label} ({store.name}):")
        for kind, name in names.items():
            r = _least_cpu(rounds, kind)
            print(
                f"  {name:25s} {r['wall_s']:7.2f} s wall {r['cpu_s']:7.2f} s CPU "
                f"{r['rss_gb']:5.2f} GB peak RSS  (load {r['load'][0]:.1f} -> {r['load'][1]:.1f})"
            )
        for kind in ("api", "api-store"):
            ratio_eval, ratio_read = _ratio(rounds, kind, "evaluate"), _ratio(rounds, kind, "read")
            met = "met" if max(ratio_eval, ratio_read) <= 2 else "NOT met"
            agree = _agree(
                _least_cpu(rounds, kind)["values"], _least_cpu(rounds, "evaluate")["values"]
            )
            each = _ratios(rounds, kind, "read")
            wall = float(np.median(_ratios(rounds, kind, "read", "wall_s")))
            print(
                f"  {names[kind]}: API / evaluate {ratio_eval:.2f}x, API / read "
                f"{ratio_read:.2f}x CPU (median of {len(rounds)} rounds; "
                f"{min(each):.2f}x to {max(each):.2f}x) [target <= 2x each: {met}]; "
                f"wall / read wall {wall:.2f}x; largest relative difference of the scores "
                f"{agree:.1e}"
            )


if __name__ == "__main__":
    main()
