"""The ``cds`` access method: ERA5 / ERA5-Land from the Copernicus Climate Data Store
through the real ``cdsapi`` client (the ``download`` extra).

One request per variable and year (the CDS refuses very large requests). Credentials are
read by cdsapi itself from ``~/.cdsapirc`` (``$CDSAPI_RC``) or ``CDSAPI_URL`` /
``CDSAPI_KEY``; climbench never writes them. The endpoint is the card's, or ``--endpoint``
/ ``$CLIMBENCH_ENDPOINT_<CARD>`` (a mirror or a test server). Each delivered file goes to
``NAME.part`` (cdsapi checks its length), its sha256 is recorded, then it is renamed into
place; files already in the folder are complete and are not requested again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from climbench.datasets.card import Card
from climbench.datasets.manifest import file_entry
from climbench.datasets.methods import AccessMethod
from climbench.datasets.plan import Plan, PlanItem
from climbench.datasets.progress import Reporter
from climbench.datasets.selection import Selection
from climbench.errors import ConfigError, DataFileError

CREDENTIALS = "~/.cdsapirc (or $CDSAPI_RC), or CDSAPI_URL and CDSAPI_KEY"


def requests_for(card: Card, selection: Selection) -> list[tuple[str, dict[str, Any]]]:
    """``(file name, CDS request)`` pairs: one per variable and year."""
    first, last = selection.required_years(
        card.name, "CDS", "the CDS serves one request per variable and year"
    )
    base = dict(card.options.get("request") or {})
    out = []
    for var in selection.variables:
        for year in range(first, last + 1):
            request = {
                **base,
                "variable": [var.native],
                "year": [str(year)],
                "month": [f"{m:02d}" for m in range(1, 13)],
                "day": [f"{d:02d}" for d in range(1, 32)],
            }
            suffix = ""
            if var.levels:
                levels = selection.levels or card.levels
                request["pressure_level"] = [f"{x:g}" for x in levels]
                suffix = "_" + "-".join(f"{x:g}" for x in levels)
            out.append((f"{var.canonical}{suffix}_{year}.nc", request))
    return out


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    items = [
        PlanItem(name, f"{endpoint.rstrip('/')}/resources/{card.options['dataset']}")
        for name, _ in requests_for(card, selection)
    ]
    return Plan(
        card.name,
        card.method,
        endpoint,
        out,
        items,
        total_bytes=len(items) * card.size_bytes,
        estimate=True,
        notes=["the CDS builds each file on request; sizes are the card's estimate"],
    )


def client(endpoint: str, default: str):
    """A cdsapi client for ``endpoint``; credentials as cdsapi reads them."""
    try:
        import cdsapi
    except ImportError as err:
        raise ConfigError(
            "the cdsapi client is not installed",
            expected="the download extra",
            found=str(err),
            hint='pip install "climbench[download]"',
        ) from err
    url = endpoint if endpoint != default else None
    try:
        return cdsapi.Client(url=url, quiet=True, progress=False, retry_max=5, sleep_max=10)
    except Exception as err:  # noqa: BLE001 (cdsapi raises a bare Exception)
        raise ConfigError(
            "no Climate Data Store credentials",
            path=os.environ.get("CDSAPI_RC", "~/.cdsapirc"),
            expected="url and key",
            found=str(err),
            hint=f"write them in {CREDENTIALS} (see the CDS 'how to api' page); "
            "climbench never writes them",
        ) from err


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    cds = None
    entries = []
    for name, request in requests_for(card, selection):
        target = plan.out / name
        if not target.exists():
            cds = cds or client(plan.endpoint, card.endpoint)
            part = target.with_name(name + ".part")
            bar = reporter.task(name)
            try:
                result = cds.retrieve(card.options["dataset"], request)
                bar.total(int(getattr(result, "content_length", 0) or 0))
                result.download(str(part))
            except Exception as err:  # noqa: BLE001 (cdsapi raises bare Exceptions)
                raise _cds_error(plan.endpoint, card, err) from err
            os.replace(part, target)
        entries.append(file_entry(plan.out, target, request=request))
    return entries, {}


def _cds_error(endpoint: str, card: Card, err: Exception) -> DataFileError:
    text = str(err)
    status = getattr(getattr(err, "response", None), "status_code", None)
    refused = ("401", "403", "authentication", "unauthorized", "licence", "license", "terms")
    if status in (401, 403) or any(word in text.lower() for word in refused):
        return DataFileError(
            "the Climate Data Store refused the request",
            path=endpoint,
            variable=card.options["dataset"],
            expected="valid credentials and an accepted dataset licence",
            found=text,
            hint=f"check the key in {CREDENTIALS} and accept the licence on the dataset's page",
        )
    return DataFileError(
        "the Climate Data Store request failed",
        path=endpoint,
        variable=card.options["dataset"],
        found=f"{type(err).__name__}: {text}",
        hint="run again (finished files are kept)",
    )


METHOD = AccessMethod("cds", plan, fetch)
