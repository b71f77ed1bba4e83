"""The access methods: one object per method (plan what to fetch, then fetch it), in one
registry; a card's ``access.method`` names one. A new method is one module plus one
``register`` line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from climbench.datasets.card import Card
from climbench.datasets.plan import Plan
from climbench.datasets.progress import Reporter
from climbench.datasets.selection import Selection
from climbench.registry import Registry


@dataclass(frozen=True)
class AccessMethod:
    """``plan(card, selection, endpoint, out) -> Plan``; ``fetch(plan, card, selection,
    reporter, jobs) -> (manifest file entries, extra manifest fields)``."""

    name: str
    plan: Callable[[Card, Selection, str, Path], Plan]
    fetch: Callable[[Plan, Card, Selection, Reporter, int], tuple[list[dict], dict[str, Any]]]


METHODS: Registry[AccessMethod] = Registry("access method")


def method(name: str) -> AccessMethod:
    """The access method ``name`` (its module is imported on first use)."""
    if not METHODS:
        from climbench.datasets import catalog, cds, earthdata, esgf, files, zarr_method, zenodo

        for module in (files, zarr_method, cds, earthdata, esgf, catalog, zenodo):
            METHODS.register(module.METHOD)
    return METHODS.get_named(name)
