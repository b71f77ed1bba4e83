"""The registry of dataset cards: every ``cards/*.yaml`` shipped with the package.

A new dataset is one card file (the registry line is its presence in ``cards/``); a user's
own card file can be registered with :func:`register_card`.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from climbench.datasets.card import Card, load_card
from climbench.registry import Registry

#: the folder of the shipped cards (package data, so a wheel carries them)
CARDS_DIR = Path(__file__).with_name("cards")


@cache
def cards() -> Registry[Card]:
    """All registered cards by name (the shipped ones, loaded and validated once)."""
    registry: Registry[Card] = Registry("dataset card")
    for path in sorted(CARDS_DIR.glob("*.yaml")):
        registry.register(load_card(path))
    return registry


def register_card(path: str | os.PathLike) -> Card:
    """Validate the card file at ``path`` and add it to the registry."""
    return cards().register(load_card(path))


def get(name: str | Card) -> Card:
    """The card ``name`` (a Card is returned as it is); the error lists the known names."""
    if isinstance(name, Card):
        return name
    return cards().get_named(name)


def all_cards() -> list[Card]:
    """Every registered card, sorted by name."""
    return [cards()[name] for name in sorted(cards())]
