"""The ``esgf`` access method: CMIP6 netCDF files found by an ESGF search (facets
source_id, experiment_id, member_id, table_id, variable_id), downloaded from each record's
HTTPServer URL and verified against the record's checksum (SHA256 or MD5)."""

from __future__ import annotations

import re
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

_PERIOD = re.compile(r"_(\d{4})\d*-(\d{4})\d*\.nc$")


def _first(value):
    return value[0] if isinstance(value, list) else value


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    params = {
        "type": "File",
        "project": card.options.get("project", "CMIP6"),
        "latest": "true",
        "replica": "false",
        "format": "application/solr+json",
        "limit": 1000,
        "variable_id": ",".join(v.native for v in selection.variables),
        **selection.facets,
    }
    docs = get_json(new_session(), endpoint, params).get("response", {}).get("docs", [])
    service = card.options.get("service", "HTTPServer")
    items: dict[str, PlanItem] = {}
    for doc in docs:
        name = _first(doc.get("title"))
        if not name or name in items or not _in_years(name, selection.years):
            continue
        urls = [u.split("|") for u in doc.get("url", [])]
        http = [u[0] for u in urls if len(u) == 3 and u[2] == service]
        if not http:
            continue
        algo = str(_first(doc.get("checksum_type")) or "sha256").lower()
        digest = _first(doc.get("checksum"))
        items[name] = PlanItem(
            name, http[0], doc.get("size"), f"{algo}:{digest}" if digest else None
        )
    if not items:
        raise DataFileError(
            "the ESGF search found no files",
            path=endpoint,
            expected="at least one file record with an HTTPServer URL",
            found=f"{len(docs)} record(s) for {params}",
            hint="check the facets (climbench datasets show cmip6-esgf), or try another index "
            "node with --endpoint",
        )
    found = sorted(items.values(), key=lambda i: i.name)
    return Plan(
        card.name, card.method, endpoint, out, found, total_bytes=sum(i.size or 0 for i in found)
    )


def _in_years(name: str, years: tuple[int, int] | None) -> bool:
    """Whether a CMIP6 file (``..._185001-201412.nc``) overlaps the years asked."""
    match = _PERIOD.search(name)
    if years is None or match is None:
        return True
    return int(match[1]) <= years[1] and int(match[2]) >= years[0]


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    return fetch_files(plan.items, plan.out, reporter), {"facets": selection.facets}


METHOD = AccessMethod("esgf", plan, fetch)
