"""Benchmark of the embedded synthetic data generator: generation time and peak memory.

Run from the repository root::

    python benchmarks/bench_synthetic.py            # 40 years at 5.625 degrees (target < 60 s)
    python benchmarks/bench_synthetic.py --quick    # 4 years only

Each case writes a 6-hourly weather store with :func:`climbench.data.synthetic.write_weather`
into a temporary directory, in a child process whose peak RSS is read from
``resource.getrusage``. The 4-year and 40-year peaks should be about equal: generation
streams to Zarr block by block, so memory does not grow with the length of the period. The
climate dataset (7 scenarios x 3 members, 1850-2100) is timed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(kind: str, years: str, out: str) -> None:
    """Generate one dataset and print its timing and peak RSS as JSON."""
    from climbench.data.synthetic import write_climate, write_weather

    start = time.perf_counter()
    if kind == "weather":
        write_weather(out, "5.625", years, seed=0)
    else:
        write_climate(out, "5.625", years, seed=0)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file())
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "store_mb": size / 2**20}))


def _run(kind: str, years: str, workdir: Path) -> dict:
    out = workdir / f"{kind}-{years}.zarr"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, years, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 years of weather only")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    cases = [("weather", "1979-1982")]
    if not args.quick:
        cases += [("weather", "1979-2018"), ("climate", "1850-2100")]
    print(f"cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-synthetic-") as tmp:
        for kind, years in cases:
            r = _run(kind, years, Path(tmp))
            print(
                f"{kind:8s} {years}  5.625 deg: {r['seconds']:6.1f} s  peak RSS "
                f"{r['peak_rss_mb']:6.0f} MB  store {r['store_mb']:7.0f} MB"
            )


if __name__ == "__main__":
    main()
