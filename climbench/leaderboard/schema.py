"""The leaderboard entry format (version :data:`SCHEMA`) and its structural check.

One entry is one JSON file, ``leaderboard/entries/<task>/<version>/<id>.json``::

    schema        "climbench-entry/1"
    id            <model slug>-<revision slug>-<first 8 hex of the predictions sha256>
    task          {name, version, digest}          the protocol scored (TaskSpec.digest)
    model         the model card (climbench.leaderboard.card)
    provenance    {climbench_version, git_commit, predictions_sha256, predictions_name,
                   scorer: {resamples, bootstrap_seed, function}, submitted}
    supersedes    the id of the entry this one replaces, or null
    flags         computed at submission (climbench.leaderboard.flags), never entered
    results       the tidy results of the official scorer for this model only, as
                  one series per (variable, level, region, metric) over its leads
                  (climbench.leaderboard.results_codec)
    samples       per-sample statistics for paired comparisons (a subset of leads and
                  regions, float32; climbench.leaderboard.samples)
    maps          time-mean error map of each target field (float32) and the task's
                  land-sea mask for coastlines, or null
    spectra       time-mean zonal power spectra of forecast and truth, where scored
    digest        sha256 of the canonical JSON of everything above: an edit shows

Limits: an entry file is at most :data:`MAX_ENTRY_BYTES`; strings have the limits of
:mod:`climbench.leaderboard.card` (:data:`MAX_STRING` elsewhere).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from climbench.errors import ClimbenchError, SchemaError
from climbench.leaderboard import card as cards
from climbench.leaderboard.results_codec import check_results

SCHEMA = "climbench-entry/2"
#: the largest entry file accepted by ``check`` (bytes)
MAX_ENTRY_BYTES = 1_500_000
#: the longest string outside the model card (ids, hashes, names of fields)
MAX_STRING = 200
#: what an entry id looks like (safe as a file name and a relative link)
ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,120}$")
TOP_LEVEL = {
    "schema": str,
    "id": str,
    "task": dict,
    "model": dict,
    "provenance": dict,
    "supersedes": (str, type(None)),
    "flags": dict,
    "results": list,
    "samples": (dict, type(None)),
    "maps": (dict, type(None)),
    "spectra": (dict, type(None)),
    "digest": str,
}
_NAMES = ("variable", "region", "metric")
TASK = {"name": str, "version": int, "digest": str}
PROVENANCE = {
    "climbench_version": str,
    "git_commit": (str, type(None)),
    "predictions_sha256": str,
    "predictions_name": str,
    "scorer": dict,
    "submitted": str,
}
FLAGS = {
    "training_overlaps_test": (bool, type(None)),
    "missing_fields": list,
    "missing_leads": list,
    "nan_fraction": (float, int),
    "missing_card_fields": list,
}


def entry_digest(entry: dict) -> str:
    """sha256 of the canonical JSON of ``entry`` without its ``digest`` field."""
    body = {k: v for k, v in entry.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def validate_entry(entry: object, path: str | os.PathLike = "<entry>") -> dict:
    """Refuse an entry whose structure is not :data:`SCHEMA` (types, keys, lengths, card
    rules, results columns, digest); returns it."""
    _fields(entry, TOP_LEVEL, path, "entry")
    if entry["schema"] != SCHEMA:
        raise SchemaError(
            "unknown entry schema", path=path, variable="schema", expected=SCHEMA,
            found=repr(entry["schema"])[:80],
        )  # fmt: skip
    for key in ("id", "supersedes"):
        if entry[key] is not None and not ID.match(entry[key]):
            raise SchemaError(
                f"entry {key} is not an entry id",
                path=path,
                variable=key,
                expected="lower-case letters, digits, dots and dashes (store.entry_id)",
                found=repr(entry[key])[:80],
            )
    _fields(entry["task"], TASK, path, "task")
    _fields(entry["provenance"], PROVENANCE, path, "provenance")
    _fields(entry["flags"], FLAGS, path, "flags")
    try:
        cards.check_card(entry["model"], path)
    except ClimbenchError as err:
        raise SchemaError(
            "model card in the entry is not valid: " + err.message,
            path=path,
            variable=f"model.{err.variable}" if err.variable else "model",
            expected=err.expected,
            found=err.found,
        ) from None
    _strings(entry, path, "")
    check_results(entry["results"], path)
    if entry_digest(entry) != entry["digest"]:
        raise SchemaError(
            "entry content does not match its digest (edited after submission)",
            path=path,
            variable="digest",
            expected=entry_digest(entry),
            found=entry["digest"],
            hint="entries are never edited: submit a new entry with --supersedes ID",
        )
    return entry


def _fields(data: object, spec: dict[str, Any], path: str | os.PathLike, where: str) -> None:
    if not isinstance(data, dict):
        raise SchemaError(
            f"{where} must be an object", path=path, variable=where, expected="a JSON object",
            found=type(data).__name__,
        )  # fmt: skip
    missing = [k for k in spec if k not in data]
    extra = [k for k in data if k not in spec]
    if missing or extra:
        raise SchemaError(
            f"{where} keys are not the schema's",
            path=path,
            variable=where,
            expected=", ".join(spec),
            found=("missing " + ", ".join(missing) if missing else "")
            + ("; unknown " + ", ".join(map(str, extra)) if extra else ""),
        )
    for key, want in spec.items():
        value = data[key]
        if not isinstance(value, want) or (isinstance(value, bool) and want in (int, float)):
            raise SchemaError(
                f"{where}.{key} has the wrong type",
                path=path,
                variable=f"{where}.{key}",
                expected=" or ".join(
                    t.__name__ for t in (want if isinstance(want, tuple) else (want,))
                ),
                found=type(value).__name__,
            )


def _strings(value: object, path: str | os.PathLike, where: str) -> None:
    """Every string outside the card and the encoded arrays is at most MAX_STRING long."""
    if isinstance(value, dict):
        for key, item in value.items():
            if where == "" and key == "model":
                continue  # the card has its own limits
            if where == "" and key == "results":  # series: numbers and three names each
                names = {s.get(k) for s in item if isinstance(s, dict) for k in _NAMES}
                _strings(sorted(n for n in names if isinstance(n, str)), path, "results")
                continue
            if key == "data" and isinstance(item, str):
                continue  # an encoded array
            _strings(item, path, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):  # a column: fast path
            longest = max((len(item) for item in value if isinstance(item, str)), default=0)
            if longest > MAX_STRING:
                _strings(
                    next(i for i in value if isinstance(i, str) and len(i) > MAX_STRING),
                    path,
                    where,
                )
            return
        for item in value:
            _strings(item, path, where)
    elif isinstance(value, str) and len(value) > MAX_STRING:
        raise SchemaError(
            "string over its length limit",
            path=path,
            variable=where,
            expected=f"at most {MAX_STRING} characters",
            found=f"{len(value)} characters",
        )
