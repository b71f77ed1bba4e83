"""Model cards: what a submitter says about a model (YAML in, a checked mapping out).

A card holds what the scorer cannot know: the model's name and revision, its type, size,
training data and periods, initial conditions, ensemble size, where its code and weights
live, its licence, citation and contact. Everything here is entered by the submitter;
the flags an entry carries (:mod:`climbench.leaderboard.flags`) are computed, never
entered. Cards are parsed with ``yaml.safe_load`` (no object construction).

Rules (each refusal names the card file and the field):

- ``name``, ``revision``, ``type`` and ``contact`` are required; ``type`` is one of
  :data:`MODEL_TYPES`;
- every string has a length limit (:data:`LIMITS`, default :data:`DEFAULT_LIMIT`);
- URLs (``code_url``, ``weights_url``, ``paper_url``) are ``http(s)://`` only, so a page
  never links to ``javascript:`` or ``file:``;
- ``training_periods`` is a list of ``[start, end]`` ISO dates or years; together with
  ``training_scenarios`` it is how the training-overlaps-test flag is computed;
- unknown fields are refused (a misspelt ``licence`` would otherwise go unnoticed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from climbench.errors import ConfigError

#: model types; ``noise-floor`` is the forced response of an emulation target (never
#: ranked: shown as a line), ``baseline`` a reference or closed-form baseline
MODEL_TYPES = ("ml", "physical", "hybrid", "baseline", "noise-floor")
#: the card fields and their JSON types
FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "revision": str,
    "type": str,
    "description": str,
    "parameters": int,
    "training_data": str,
    "training_periods": list,
    "training_scenarios": list,
    "initial_conditions": str,
    "ensemble_size": int,
    "code_url": str,
    "weights_url": str,
    "paper_url": str,
    "licence": str,
    "citation": str,
    "contact": str,
}
REQUIRED = ("name", "revision", "type", "contact")
#: fields a complete card has beyond the required ones (their absence is flagged)
RECOMMENDED = ("description", "training_data", "training_periods", "licence", "citation")
URL_FIELDS = ("code_url", "weights_url", "paper_url")
#: maximum string lengths in characters
LIMITS = {"name": 100, "revision": 64, "type": 16, "contact": 200, "description": 2000}
DEFAULT_LIMIT = 500
_URL = re.compile(r"^https?://[^\s<>\"']+$")


def load_card(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check the YAML model card at ``path`` (see the module docstring)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "model card not found", path=path, expected="a YAML model card", found="no file"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(
            "model card is not readable YAML",
            path=path,
            expected="a YAML mapping of card fields",
            found=f"{type(err).__name__}: {str(err).splitlines()[0]}",
        ) from None
    return check_card(data, path)


def check_card(data: object, path: str | os.PathLike = "<card>") -> dict[str, Any]:
    """``data`` as a checked card (a new dict with only the fields given)."""
    if not isinstance(data, dict):
        raise ConfigError(
            "a model card is a mapping of fields",
            path=path,
            expected="a YAML mapping (name: ..., revision: ...)",
            found=type(data).__name__,
        )
    card: dict[str, Any] = {}
    for key, value in data.items():
        if key not in FIELDS:
            raise ConfigError(
                "unknown model card field",
                path=path,
                variable=str(key),
                expected="one of " + ", ".join(FIELDS),
                found=repr(key),
            )
        if value is None:
            continue
        card[key] = _check_value(str(key), value, path)
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise ConfigError(
            "model card lacks required fields",
            path=path,
            variable=missing[0],
            expected="the fields " + ", ".join(REQUIRED),
            found="no " + ", ".join(missing),
        )
    return card


def _check_value(key: str, value: Any, path: str | os.PathLike) -> Any:
    want = FIELDS[key]
    if want is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # revision: 2, name: 2024
    if not isinstance(value, want) or isinstance(value, bool):
        raise ConfigError(
            "model card field has the wrong type",
            path=path,
            variable=key,
            expected=want.__name__,
            found=f"{type(value).__name__} {value!r}"[:120],
        )
    if isinstance(value, str):
        check_length(key, value, path)
        if key == "type" and value not in MODEL_TYPES:
            raise ConfigError(
                "unknown model type",
                path=path,
                variable=key,
                expected="one of " + ", ".join(MODEL_TYPES),
                found=repr(value),
            )
        if key in URL_FIELDS and not _URL.match(value):
            raise ConfigError(
                "model card links must be http(s) URLs",
                path=path,
                variable=key,
                expected="http://... or https://...",
                found=repr(value)[:120],
            )
        if key in ("name", "revision") and not value.strip():
            raise ConfigError("empty model card field", path=path, variable=key, found="''")
    if isinstance(value, int) and value < 0:
        raise ConfigError(
            "model card count is negative",
            path=path,
            variable=key,
            expected=">= 0",
            found=str(value),
        )
    if key == "training_periods":
        return [_period(item, path) for item in value]
    if key == "training_scenarios":
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(
                    "training scenarios are names",
                    path=path,
                    variable=key,
                    expected="a list of scenario names",
                    found=repr(item)[:120],
                )
            check_length(key, item, path)
        return list(value)
    return value


def _period(item: Any, path: str | os.PathLike) -> list[str]:
    """``[start, end]`` as two ISO strings that pandas can read."""
    ok = isinstance(item, (list, tuple)) and len(item) == 2
    if ok:
        start, end = (str(x) for x in item)
        try:
            ok = pd.Timestamp(start) <= pd.Timestamp(end)
        except (ValueError, TypeError):
            ok = False
    if not ok:
        raise ConfigError(
            "training period is not a date range",
            path=path,
            variable="training_periods",
            expected="[start, end] ISO dates or years, start <= end (e.g. [1979, 2015])",
            found=repr(item)[:120],
        )
    return [start, end]


def check_length(key: str, value: str, path: str | os.PathLike = "<card>") -> None:
    """Refuse a string over the limit of ``key`` (:data:`LIMITS`)."""
    limit = LIMITS.get(key, DEFAULT_LIMIT)
    if len(value) > limit:
        raise ConfigError(
            "string over its length limit",
            path=path,
            variable=key,
            expected=f"at most {limit} characters",
            found=f"{len(value)} characters",
        )
