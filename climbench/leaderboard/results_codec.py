"""The results of a leaderboard entry: one score curve per (field, region, metric).

The scorer's tidy table repeats the names of the variable, region and metric on every row;
for a forecast task (7,839 rows: 40 leads, 3 regions, 14 metrics) those names were half of
an entry's bytes. An entry stores instead a list of *series*, each one score over its
leads, in the table's order::

    {"variable": "geopotential", "level": 500.0, "region": "global", "metric": "rmse",
     "lead_hours": [6.0, 12.0, ...], "value": [...], "ci_low": [...], "ci_high": [...],
     "n_samples": [106, 106, ...]}

``lead_hours`` is ``[null]`` for tasks without leads. Scores and interval ends are kept to
:data:`DIGITS` significant digits (float32 precision, as the entry's arrays): enough for
``verify`` to compare a rescoring exactly, since it rounds the same way. Missing values
(NaN) are ``null``.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from climbench.errors import SchemaError
from climbench.evaluation.aggregate import SCORE_COLUMNS

#: significant digits kept of scores and interval ends
DIGITS = 7
#: what names a series (the row keys but the lead)
SERIES_KEYS = ("variable", "level", "region", "metric")
#: what varies along a series
SERIES_COLUMNS = ("lead_hours", "value", "ci_low", "ci_high", "n_samples")
_ROUNDED = ("value", "ci_low", "ci_high")
_NUMBERS = {int, float, type(None)}  # exact types: a JSON true is not a number


def _number(value: Any, digits: int | None = None) -> float | None:
    """A JSON number (None for NaN or None), rounded to ``digits`` significant digits."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return float(f"{value:.{digits}g}") if digits else value


def encode_results(table: pd.DataFrame) -> list[dict]:
    """One model's tidy results (the scorer's :data:`SCORE_COLUMNS`) as series."""
    series = []
    for keys, rows in table.groupby(list(SERIES_KEYS), sort=False, dropna=False):
        item: dict[str, Any] = dict(zip(SERIES_KEYS, keys, strict=True))
        item["level"] = _number(item["level"])
        item["lead_hours"] = [_number(v) for v in rows["lead_hours"].tolist()]
        for column in _ROUNDED:
            item[column] = [_number(v, DIGITS) for v in rows[column].tolist()]
        item["n_samples"] = [int(v) for v in rows["n_samples"]]
        series.append(item)
    return series


def decode_results(series: list[dict]) -> dict[str, list]:
    """The series of :func:`encode_results` back as the scorer's columns (row-wise order:
    series by series, leads in order)."""
    columns: dict[str, list] = {column: [] for column in SCORE_COLUMNS}
    for item in series:
        n = len(item["value"])
        for key in SERIES_KEYS:
            columns[key] += [item[key]] * n
        for column in SERIES_COLUMNS:
            columns[column] += item[column]
    return columns


def check_results(series: object, path: str | os.PathLike) -> None:
    """Raise a :class:`SchemaError` unless ``series`` is a non-empty list of series with
    the keys above, equal-length columns and no series named twice."""

    def refuse(message: str, where: str, expected: str, found: str) -> None:
        raise SchemaError(message, path=path, variable=where, expected=expected, found=found)

    if not isinstance(series, list) or not series:
        refuse("results must be a non-empty list of score series", "results",
               "a list of {variable, level, region, metric, lead_hours, value, ...}",
               type(series).__name__ if series else "an empty list")  # fmt: skip
    wanted = set(SERIES_KEYS) | set(SERIES_COLUMNS)
    seen = set()
    for i, item in enumerate(series):
        where = f"results[{i}]"
        if not isinstance(item, dict) or set(item) != wanted:
            found = sorted(item) if isinstance(item, dict) else type(item).__name__
            refuse("a results series does not have the schema's keys", where,
                   ", ".join(sorted(wanted)), str(found))  # fmt: skip
        for key in ("variable", "region", "metric"):
            if not isinstance(item[key], str):
                refuse("a results series name is not a string", f"{where}.{key}", "a string",
                       type(item[key]).__name__)  # fmt: skip
        if item["level"] is not None and not isinstance(item["level"], (int, float)):
            refuse("a results series level is not a number", f"{where}.level",
                   "a number or null", type(item["level"]).__name__)  # fmt: skip
        lengths = {len(item[c]) if isinstance(item[c], list) else -1 for c in SERIES_COLUMNS}
        if len(lengths) != 1 or -1 in lengths or 0 in lengths:
            refuse("a results series' columns must be non-empty lists of one length", where,
                   f"equal-length lists of {', '.join(SERIES_COLUMNS)}",
                   f"lengths {sorted(lengths)}")  # fmt: skip
        for column in SERIES_COLUMNS:
            kinds = set(map(type, item[column]))  # C speed: entries hold ~10^4 numbers each
            if not kinds <= _NUMBERS:
                bad = next(v for v in item[column] if type(v) not in _NUMBERS)
                refuse("a results series holds a value that is not a number",
                       f"{where}.{column}", "numbers or null", repr(bad)[:80])  # fmt: skip
        name = tuple(item[k] for k in SERIES_KEYS)
        if name in seen:
            refuse("two results series have the same name", where,
                   "one series per variable, level, region and metric", str(name))  # fmt: skip
        seen.add(name)


def results_rows(entry: dict) -> int:
    """The number of scores of an entry."""
    return sum(len(item["value"]) for item in entry["results"])
