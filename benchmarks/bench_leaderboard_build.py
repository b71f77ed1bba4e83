"""Benchmark: ``climbench leaderboard build`` for 200 entries across the tasks.

Targets (issue 14): the build takes under 10 s on 2 cores, and the heaviest page with the
assets it loads (figures, script, style) stays under 2 MB.

The 200 entries are copies of the committed baseline entries (``leaderboard/entries``),
spread evenly over their task versions, each with its scores, intervals and per-sample
statistics scaled by a random factor (so ranks, paired bootstraps and scorecards have real
work) and its own id, predictions digest and entry digest: the size and shape of real
entries. Run from the repository root::

    python benchmarks/bench_leaderboard_build.py [--entries 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from climbench.leaderboard import arrays, build_site, check
from climbench.leaderboard.schema import entry_digest
from climbench.leaderboard.store import entry_id, entry_path, load_entries, write_entry

TARGET_S = 10.0
TARGET_MB = 2.0


def make_entries(source: Path, root: Path, n: int, seed: int = 0) -> int:
    """Write ``n`` entries derived from those under ``source`` into ``root``."""
    rng = np.random.default_rng(seed)
    bases = [e for e in load_entries(source) if e["model"]["type"] != "noise-floor"]
    for i in range(n):
        e = {k: v for k, v in bases[i % len(bases)].items()}
        factor = float(rng.uniform(0.9, 1.1))
        e["model"] = {**e["model"], "name": f"{e['model']['name']}-variant-{i}", "type": "ml"}
        e["results"] = [
            {
                **series,
                **{
                    column: [
                        None if v is None else float(f"{v * factor:.7g}") for v in series[column]
                    ]
                    for column in ("value", "ci_low", "ci_high")
                },
            }
            for series in e["results"]
        ]
        samples = {**e["samples"], "fields": {}}
        for name, item in e["samples"]["fields"].items():
            values = arrays.decode(item) * np.float32(factor)
            samples["fields"][name] = {"stats": item["stats"], **arrays.encode(values)}
        e["samples"] = samples
        sha = hashlib.sha256(f"{i}".encode()).hexdigest()
        e["provenance"] = {**e["provenance"], "predictions_sha256": sha}
        e["id"] = entry_id(e["model"]["name"], e["model"]["revision"], sha)
        e["supersedes"] = None
        e["digest"] = entry_digest(e)
        path = entry_path(root, e["task"]["name"], e["task"]["version"], e["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_entry(path, e)
    return len({(b["task"]["name"], b["task"]["version"]) for b in bases})


def page_weight(page: Path) -> int:
    """Bytes of ``page`` plus every local file its src/href attributes load."""
    text = page.read_text(encoding="utf-8")
    total = len(text.encode())
    loaded = set(re.findall(r'(?:src|href)="([^"#]+\.(?:png|svg|css|js))"', text))
    for target in loaded:
        total += (page.parent / target).stat().st_size
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--source", default="leaderboard")
    parser.add_argument("--keep", default=None, help="Keep the site and entries here.")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-leaderboard-"))
    root, out = work / "lb", work / "site"
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)  # a fresh build, not a replacement
    tasks = make_entries(Path(args.source), root, args.entries)
    check(root, git=False)
    start = time.perf_counter()
    index = build_site(out, root, overwrite=True)
    seconds = time.perf_counter() - start
    pages = sorted(index.parent.rglob("*.html"), key=page_weight)
    heaviest = pages[-1]
    mb = page_weight(heaviest) / 1e6
    size = sum(p.stat().st_size for p in index.parent.rglob("*") if p.is_file()) / 1e6
    print(
        f"{args.entries} entries over {tasks} task versions; site {size:.1f} MB, {len(pages)} pages"
    )
    print(f"{'figure':<40} {'measured':>10} {'target':>10}")
    print(f"{'build time (s)':<40} {seconds:>10.2f} {'< ' + str(TARGET_S):>10}")
    print(f"{'heaviest page + assets (MB)':<40} {mb:>10.2f} {'< ' + str(TARGET_MB):>10}")
    print(f"heaviest page: {heaviest.relative_to(index.parent)}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
