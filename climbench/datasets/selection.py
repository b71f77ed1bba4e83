"""What a user asks of a dataset: variables, pressure levels, years and catalog facets.

The selection is validated against the card (unknown variables and levels are refused,
naming what the card has) and written into the manifest, so a rerun into the same folder
can tell "the same download, resume it" from "another download".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from climbench.datasets.card import Card, Variable
from climbench.errors import ConfigError


@dataclass(frozen=True)
class Selection:
    """A validated request: card variables, levels in hPa, ``(first, last)`` years, facets."""

    variables: tuple[Variable, ...]
    levels: tuple[float, ...] = ()
    years: tuple[int, int] | None = None
    facets: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variables": [v.canonical for v in self.variables],
            "levels": list(self.levels),
            "years": list(self.years) if self.years else None,
            "facets": dict(sorted(self.facets.items())),
        }

    def required_years(
        self, card_name: str, service: str, hint: str | None = None
    ) -> tuple[int, int]:
        """The ``(first, last)`` years, or a :class:`ConfigError` for a ``service`` that
        serves files by year and cannot fetch "everything"."""
        if self.years is None:
            raise ConfigError(
                f"a {service} download needs years",
                path=card_name,
                variable="years",
                expected="--years YYYY or YYYY-YYYY",
                found="none",
                hint=hint,
            )
        return self.years

    @property
    def time_range(self) -> tuple[str, str] | None:
        """ISO bounds of the years (the whole last year included)."""
        if self.years is None:
            return None
        return f"{self.years[0]}-01-01", f"{self.years[1]}-12-31T23:59:59"


def parse_years(years: str | int | Iterable[int] | None) -> tuple[int, int] | None:
    """``"1979-2018"``, ``"2016"``, ``2016`` or ``(1979, 2018)`` as ``(first, last)``."""
    if years is None:
        return None
    if isinstance(years, int):
        return years, years
    if isinstance(years, str):
        match = re.fullmatch(r"\s*(\d{4})\s*(?:[-:]\s*(\d{4}))?\s*", years)
        if not match:
            raise ConfigError(
                "bad years", variable="years", expected="YYYY or YYYY-YYYY", found=repr(years)
            )
        first, last = int(match[1]), int(match[2] or match[1])
    else:
        values = [int(y) for y in years]
        if not values:
            return None
        first, last = min(values), max(values)
    if last < first:
        raise ConfigError(
            "bad years", variable="years", expected="first <= last", found=f"{first}-{last}"
        )
    return first, last


def select(
    card: Card,
    variables: Iterable[str] | None = None,
    years: str | int | Iterable[int] | None = None,
    levels: Iterable[float] | None = None,
    facets: Mapping[str, str] | None = None,
) -> Selection:
    """Validate a request against ``card``; no variables means all of the card's."""
    chosen = tuple(card.variable(v) for v in variables) if variables else card.variables
    wanted = tuple(float(x) for x in levels or ())
    unknown = [x for x in wanted if x not in card.levels]
    if unknown:
        raise ConfigError(
            "the dataset has no such pressure level",
            path=card.name,
            variable="levels",
            expected=f"levels among {[int(x) if x.is_integer() else x for x in card.levels]}",
            found=str(unknown),
        )
    facets = {str(k): str(v) for k, v in (facets or {}).items()}
    allowed = card.options.get("facets")
    if allowed is not None:
        extra = sorted(set(facets) - set(allowed))
        if extra:
            raise ConfigError(
                "unknown facet",
                path=card.name,
                variable=extra[0],
                expected=f"one of {allowed}",
                found=extra[0],
            )
    elif facets:
        raise ConfigError(
            "this dataset takes no facets",
            path=card.name,
            variable=sorted(facets)[0],
            expected="no --facet",
            found=str(facets),
        )
    return Selection(chosen, wanted, parse_years(years), facets)


def parse_facets(pairs: Iterable[str] | None) -> dict[str, str]:
    """``["source_id=ACCESS-ESM1-5", ...]`` (the CLI's ``--facet``) as a dict."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                "bad --facet", expected="NAME=VALUE, e.g. source_id=ACCESS-ESM1-5", found=pair
            )
        out[key.strip()] = value.strip()
    return out
