"""``climbench.download``: fetch a selection of a dataset card into a folder.

The folder is claimed first (marked as a climbench download; a folder climbench did not
write is refused), the card's access method fetches what the selection needs (files with
resume and checksums, or Zarr chunks), and the manifest is written last: a folder without
one is incomplete, and a rerun continues it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from climbench.datasets.card import Card
from climbench.datasets.manifest import claim_folder, write_manifest
from climbench.datasets.methods import method
from climbench.datasets.plan import Plan
from climbench.datasets.progress import Reporter
from climbench.datasets.registry import get
from climbench.datasets.selection import select


def default_out(card: Card) -> Path:
    """``$CLIMBENCH_DATA/datasets/<card>`` (default ``./data/datasets/<card>``)."""
    from climbench.tasks.task import default_data_root

    return default_data_root() / "datasets" / card.name


def download(
    card: str | Card,
    variables: Iterable[str] | None = None,
    years: str | int | Iterable[int] | None = None,
    levels: Iterable[float] | None = None,
    out: str | os.PathLike | None = None,
    *,
    facets: Mapping[str, str] | None = None,
    endpoint: str | None = None,
    dry_run: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    jobs: int = 16,
) -> Path | Plan:
    """Download a selection of ``card`` into ``out`` and return the folder.

    Args:
        card: a card name (``"wb2-era5-5.625"``) or a :class:`Card`.
        variables: canonical or native names (default: all of the card's).
        years: ``"1979-2018"``, ``2016`` or an iterable of years (default: all).
        levels: pressure levels in hPa (default: all).
        out: the download folder (default ``$CLIMBENCH_DATA/datasets/<card>``).
        facets: catalog facets (CMIP6: source_id, experiment_id, member_id, ...).
        endpoint: another endpoint than the card's (a mirror, a test server); also
            ``$CLIMBENCH_ENDPOINT_<CARD>``.
        dry_run: return the :class:`Plan` (what, how many bytes, where) and fetch nothing.
        overwrite: replace an earlier complete download of another selection in ``out``.
        progress: show progress bars (bytes, rate, ETA).
        jobs: chunks fetched at once (Zarr stores).
    """
    card = get(card)
    selection = select(card, variables, years, levels, facets)
    where = card.resolved_endpoint(endpoint)
    out = Path(out) if out is not None else default_out(card)
    access = method(card.method)
    request = {"card": card.name, "version": card.version, **selection.to_dict()}
    if dry_run:
        return access.plan(card, selection, where, out)
    # partial data of another endpoint are another request's: never mixed in
    if claim_folder(out, request, overwrite, resume_key={**request, "endpoint": where}):
        return out
    reporter = Reporter(progress)
    with reporter.session():
        plan = access.plan(card, selection, where, out)
        files, extra = access.fetch(plan, card, selection, reporter, jobs)
    write_manifest(out, card, request, files, endpoint=where, **extra)
    return out
