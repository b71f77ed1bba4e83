"""The ``zarr`` access method: a selection of a remote Zarr store (WeatherBench 2,
ARCO-ERA5), fetched chunk by chunk (:mod:`climbench.datasets.zarr_subset`) and written as
``<card>.zarr`` in the download folder."""

from __future__ import annotations

from pathlib import Path

from climbench.datasets import zarr_subset
from climbench.datasets.card import Card
from climbench.datasets.manifest import file_entry
from climbench.datasets.methods import AccessMethod
from climbench.datasets.plan import Plan
from climbench.datasets.progress import Reporter
from climbench.datasets.selection import Selection


def store_path(out: Path, card: Card) -> Path:
    """Where the subset store goes in the download folder."""
    return out / f"{card.name}.zarr"


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    zplan = zarr_subset.plan(card, selection, endpoint)
    return Plan(
        card.name,
        card.method,
        endpoint,
        out,
        total_bytes=zplan.uncompressed_bytes,
        estimate=True,
        notes=zplan.notes,
        payload=zplan,
    )


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    mirror = plan.out / zarr_subset.MIRROR
    bar = reporter.task(f"{card.name} chunks", plan.total_bytes)
    stats = zarr_subset.fetch_chunks(plan.payload, mirror, jobs=jobs, on_chunk=bar.advance)
    bar.total(stats.bytes)  # the estimate was uncompressed: the bar ends full
    store = store_path(plan.out, card)
    zarr_subset.write_subset(mirror, store, card, selection, overwrite=store.exists())
    entries = [file_entry(plan.out, path) for path in sorted(store.rglob("*")) if path.is_file()]
    zarr_subset.remove_mirror(mirror)
    extra = {
        "store": store.name,
        "source": {
            "chunks_fetched": stats.fetched,
            "chunks_reused": stats.reused,
            "chunks_absent": stats.absent,
            "bytes_fetched": stats.bytes,
            "sha256": dict(sorted(stats.checksums.items())),
        },
        "notes": plan.notes,
    }
    return entries, extra


METHOD = AccessMethod("zarr", plan, fetch)
