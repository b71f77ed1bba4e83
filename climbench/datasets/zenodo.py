"""The ``zenodo`` access method: the files of a Zenodo record (ClimateBench), listed by the
record API (``/api/records/<id>``) with their sizes and md5 checksums, downloaded with
resume and verified against them."""

from __future__ import annotations

from pathlib import Path

from climbench.datasets.card import Card
from climbench.datasets.files import fetch_files
from climbench.datasets.http import new_session
from climbench.datasets.methods import AccessMethod
from climbench.datasets.plan import Plan, PlanItem
from climbench.datasets.progress import Reporter
from climbench.datasets.search import get_json
from climbench.datasets.selection import Selection
from climbench.errors import DataFileError


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    record = get_json(new_session(), endpoint, {})
    wanted = card.options.get("files")
    items = []
    for entry in record.get("files", []):
        name = entry.get("key") or entry.get("filename")
        if wanted and name not in wanted:
            continue
        link = entry.get("links", {})
        url = link.get("content") or link.get("self") or link.get("download")
        items.append(PlanItem(name, url, entry.get("size"), entry.get("checksum")))
    missing = sorted(set(wanted or []) - {i.name for i in items})
    if missing:
        raise DataFileError(
            "the Zenodo record lacks files of the card",
            path=endpoint,
            variable=missing[0],
            expected=f"files {wanted}",
            found=f"files {[i.name for i in items]}",
            hint="the card may be out of date (a new record version)",
        )
    total = sum(i.size or 0 for i in items)
    return Plan(card.name, card.method, endpoint, out, items, total_bytes=total)


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    return fetch_files(plan.items, plan.out, reporter), {}


METHOD = AccessMethod("zenodo", plan, fetch)
