"""The ``earthdata`` access method: MERRA-2 granules from the GES DISC.

Granule names are found by a NASA CMR search (UMM-JSON, by collection short name, version
and the years asked), never built from a template: the stream number in MERRA-2 file names
changes (``MERRA2_100`` ... ``MERRA2_400``) and reprocessed months are ``MERRA2_401``.
Each granule's size and checksum come from its record. Downloads authenticate with an
Earthdata Login: a bearer token in ``EARTHDATA_TOKEN``, else ``~/.netrc`` (``$NETRC``) for
``urs.earthdata.nasa.gov``, which requests applies on the login redirect.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from climbench.datasets.card import Card
from climbench.datasets.files import fetch_files
from climbench.datasets.http import new_session
from climbench.datasets.methods import AccessMethod
from climbench.datasets.plan import Plan, PlanItem
from climbench.datasets.progress import Reporter
from climbench.datasets.search import get_json_response
from climbench.datasets.selection import Selection
from climbench.errors import DataFileError

TOKEN_ENV = "EARTHDATA_TOKEN"
CREDENTIALS = (
    f"an Earthdata Login: ${TOKEN_ENV} (a bearer token), or 'machine urs.earthdata.nasa.gov "
    "login USER password PASS' in ~/.netrc (or $NETRC); authorise the GES DISC application "
    "in the Earthdata profile"
)


def granules(card: Card, selection: Selection, endpoint: str) -> list[PlanItem]:
    """The collection's granules in the years asked, from CMR (all pages)."""
    first, last = selection.required_years(card.name, "MERRA-2")
    params: dict[str, Any] = {
        "short_name": card.options["short_name"],
        "version": card.options.get("version"),
        "provider": card.options.get("provider"),
        "temporal": f"{first}-01-01T00:00:00Z,{last}-12-31T23:59:59Z",
        "page_size": 2000,
        "sort_key": "start_date",
    }
    session = new_session()
    items: list[PlanItem] = []
    while True:
        reply, response = get_json_response(session, endpoint, params)
        items += [_item(entry.get("umm", {})) for entry in reply.get("items", [])]
        after = response.headers.get("CMR-Search-After")
        if not after or not reply.get("items"):
            break
        session.headers["CMR-Search-After"] = after
    items = [i for i in items if i is not None]
    if not items:
        raise DataFileError(
            "the granule search found nothing",
            path=endpoint,
            variable=card.options["short_name"],
            expected=f"granules in {first}-{last}",
            found="none",
            hint="check the years against the card's time range",
        )
    return items


def _item(umm: dict[str, Any]) -> PlanItem | None:
    urls = [
        u["URL"]
        for u in umm.get("RelatedUrls", [])
        if u.get("Type") == "GET DATA" and not u["URL"].endswith((".xml", ".html"))
    ]
    if not urls:
        return None
    name = urls[0].rsplit("/", 1)[-1]
    size, checksum = None, None
    for info in umm.get("DataGranule", {}).get("ArchiveAndDistributionInformation", []):
        if info.get("Name") in (None, name):
            size = info.get("SizeInBytes", size)
            value = info.get("Checksum", {})
            if value.get("Value"):
                checksum = f"{value.get('Algorithm', 'sha256').replace('-', '')}:{value['Value']}"
    return PlanItem(name, urls[0], size, checksum.lower() if checksum else None)


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    items = granules(card, selection, endpoint)
    total = sum(i.size or card.size_bytes for i in items)
    return Plan(
        card.name,
        card.method,
        endpoint,
        out,
        items,
        total_bytes=total,
        notes=["whole granules (every variable of the collection) are fetched"],
    )


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    session = new_session(token=os.environ.get(TOKEN_ENV))
    entries = fetch_files(
        plan.items, plan.out, reporter, session=session, credential_hint=CREDENTIALS
    )
    return entries, {}


METHOD = AccessMethod("earthdata", plan, fetch)
