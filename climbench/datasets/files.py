"""Fetching a list of files over HTTP into a download folder (the ``http`` method, and the
file step of the Zenodo, ESGF, Earthdata and CDS methods).

Files already in the folder are complete (a file is renamed into place only after its
checks), so a rerun fetches only the others, resuming a partial one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from climbench.datasets.card import Card
from climbench.datasets.http import download_file, new_session
from climbench.datasets.manifest import file_entry
from climbench.datasets.methods import AccessMethod
from climbench.datasets.plan import Plan, PlanItem
from climbench.datasets.progress import Reporter
from climbench.datasets.selection import Selection


def fetch_files(
    items: list[PlanItem],
    out: Path,
    reporter: Reporter,
    *,
    session: requests.Session | None = None,
    credential_hint: str = "this server needs no credentials: check the URL",
) -> list[dict[str, Any]]:
    """Download every item into ``out`` (skipping complete ones); manifest entries."""
    session = session or new_session()
    entries = []
    for item in items:
        target = out / item.name
        fetched, sha256 = 0, None
        if not target.exists():
            bar = reporter.task(item.name, item.size)
            record = download_file(
                item.url,
                target,
                session=session,
                checksum=item.checksum,
                credential_hint=credential_hint,
                on_bytes=bar.advance,
                on_total=bar.total,
            )
            fetched, sha256 = record.fetched_bytes, record.sha256
        entries.append(
            file_entry(
                out,
                target,
                sha256,
                url=item.url,
                provider_checksum=item.checksum,
                fetched_bytes=fetched,
            )
        )
    return entries


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    """The card's listed files (``access.options.files``) under its endpoint URL."""
    listed = card.checksums.get("files") or {}
    items = [
        PlanItem(name, f"{endpoint.rstrip('/')}/{name}", None, listed.get(name))
        for name in card.options.get("files", [])
    ]
    return Plan(card.name, card.method, endpoint, out, items)


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    return fetch_files(plan.items, plan.out, reporter), {}


METHOD = AccessMethod("http", plan, fetch)
