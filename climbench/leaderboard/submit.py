"""``submit``: score predictions with the official scorer and write one leaderboard entry.

The only writer of entries. It reads the model card, refuses a duplicate (the same task
version, model name and revision, or the same predictions digest) and a ``supersedes``
that names no entry of the task *before* scoring, then validates and scores the
predictions with :func:`climbench.evaluate` (the scorer's own validation: a file the
scorer refuses is never an entry), computes the flags, error maps and spectra, and writes
the entry atomically to a new file; an existing entry file is never replaced.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import xarray as xr

from climbench.errors import ConfigError, SchemaError
from climbench.evaluation import evaluate
from climbench.evaluation.aggregate import BOOTSTRAP_SEED
from climbench.evaluation.evaluate import open_predictions
from climbench.leaderboard import card as cards
from climbench.leaderboard import diagnostics, provenance, store
from climbench.leaderboard.flags import compute_flags
from climbench.leaderboard.ranking import SCORECARD_METRICS
from climbench.leaderboard.results_codec import encode_results
from climbench.leaderboard.samples import encode_samples
from climbench.leaderboard.schema import SCHEMA, entry_digest, validate_entry
from climbench.tasks import Task, get_task
from climbench.version import __version__

#: bootstrap resamples of every entry's intervals (``verify`` rescores with the same)
RESAMPLES = 1000


def score(predictions: str | os.PathLike, task: Task, name: str, resamples: int = RESAMPLES):
    """The official scores of one predictions file, without the reference baselines."""
    return evaluate(predictions, task, model=name, baselines=False, resamples=resamples)


def make_entry(
    predictions: str | os.PathLike | xr.Dataset,
    task: Task,
    model: dict,
    results=None,
    supersedes: str | None = None,
) -> dict:
    """The entry of ``predictions`` (a file, or a dataset for a local run's site) scored
    on ``task``: from ``results`` when given (they must hold ``model["name"]`` scored with
    :data:`RESAMPLES` resamples), else scored here."""
    if isinstance(predictions, xr.Dataset):
        dataset, sha, label = predictions, provenance.dataset_sha256(predictions), "<dataset>"
    else:
        dataset = open_predictions(predictions)  # a missing or unreadable file fails here
        sha, label = provenance.predictions_sha256(predictions), Path(predictions).name
    name = model["name"]
    if results is None:
        results = score(predictions, task, name)
    table = results.table[results.table.model == name]
    stats = results.statistics[name]
    spec = task.spec
    entry = {
        "schema": SCHEMA,
        "id": store.entry_id(name, model["revision"], sha),
        "task": {"name": spec.name, "version": spec.version, "digest": spec.digest()},
        "model": model,
        "provenance": {
            "climbench_version": __version__,
            "git_commit": provenance.git_commit(),
            "predictions_sha256": sha,
            "predictions_name": label[: cards.DEFAULT_LIMIT],
            "scorer": {
                "function": "climbench.evaluate",
                "resamples": RESAMPLES,
                "bootstrap_seed": BOOTSTRAP_SEED,
            },
            "submitted": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        },
        "supersedes": supersedes,
        "flags": compute_flags(model, spec, table, dataset),
        "results": encode_results(table),
        "samples": encode_samples(
            stats,
            spec.headline.region,
            spec.headline.lead_hours,
            (spec.headline.metric, *SCORECARD_METRICS),
        ),
        "maps": diagnostics.error_maps(dataset, task),
        "spectra": diagnostics.spectra(stats, task),
    }
    entry["digest"] = entry_digest(entry)
    return entry


def submit(
    predictions: str | os.PathLike,
    task: Task | str,
    card: str | os.PathLike | dict,
    *,
    root: str | os.PathLike | None = None,
    supersedes: str | None = None,
    data_root: str | os.PathLike | None = None,
) -> Path:
    """Score ``predictions`` on ``task`` and write its entry under ``root``; returns the
    entry's path (see the module docstring)."""
    root = Path(root) if root is not None else store.default_root()
    task = get_task(task, data_root) if isinstance(task, str) else task
    model = cards.load_card(card) if not isinstance(card, dict) else cards.check_card(card)
    open_predictions(predictions)  # a missing or unreadable file fails before the digest
    sha = provenance.predictions_sha256(predictions)
    _refuse_duplicates(root, task, model, sha, supersedes)
    entry = make_entry(predictions, task, model, supersedes=supersedes)
    path = store.entry_path(root, task.spec.name, task.spec.version, entry["id"])
    validate_entry(entry, path)
    if path.exists():
        raise SchemaError(
            "an entry with this id exists",
            path=path,
            expected="a new entry",
            found="an existing entry file (entries are never replaced)",
        )
    store.write_entry(path, entry)
    return path


def _refuse_duplicates(root: Path, task: Task, model: dict, sha: str, supersedes) -> None:
    spec = task.spec
    same_task = [
        e
        for e in store.load_entries(root)
        if e.get("task", {}).get("name") == spec.name
        and e.get("task", {}).get("version") == spec.version
    ]
    for e in same_task:
        m = e.get("model", {})
        if (m.get("name"), m.get("revision")) == (model["name"], model["revision"]):
            raise ConfigError(
                "this model revision already has an entry on this task",
                path=root,
                variable="revision",
                expected="a new revision (a change is a new entry that supersedes the old)",
                found=f"entry {e.get('id')} for {model['name']} revision {model['revision']}",
                hint=f"set a new revision in the card and pass --supersedes {e.get('id')}",
            )
        if e.get("provenance", {}).get("predictions_sha256") == sha:
            raise ConfigError(
                "these predictions already have an entry",
                path=root,
                variable="predictions_sha256",
                expected="predictions not submitted before",
                found=f"entry {e.get('id')} has the same predictions digest {sha[:12]}",
            )
    if supersedes is not None and supersedes not in {e.get("id") for e in same_task}:
        raise ConfigError(
            "--supersedes names no entry of this task",
            path=root,
            variable="supersedes",
            expected=f"the id of an entry of {spec.id}",
            found=repr(supersedes),
        )
