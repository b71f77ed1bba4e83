"""``verify``: rescore an entry's predictions and require the same numbers, exactly.

The website's numbers are the entry's, and the entry's are the official scorer's: anyone
with the predictions file can check that. ``verify`` requires the same predictions digest,
the same task protocol (name, version, digest) and, after rescoring with the entry's
bootstrap settings, a results table equal to the entry's in every cell (floats compared
exactly, as they were written).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from climbench.errors import DataValueError, TaskError
from climbench.evaluation.evaluate import open_predictions
from climbench.leaderboard import provenance, store
from climbench.leaderboard.results_codec import decode_results, encode_results
from climbench.leaderboard.submit import score
from climbench.tasks import get_task


def verify(
    entry: str | os.PathLike,
    predictions: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
) -> dict:
    """Rescore ``predictions`` and compare with the entry (an id or a path); returns the
    entry. Raises :class:`DataValueError` naming the first cell that differs."""
    root = Path(root) if root is not None else store.default_root()
    path = store.find_entry(root, entry)
    data = store.read_entry(path).data
    open_predictions(predictions)  # a missing or unreadable file fails here
    sha = provenance.predictions_sha256(predictions)
    if sha != data["provenance"]["predictions_sha256"]:
        raise DataValueError(
            "these are not the entry's predictions",
            path=predictions,
            variable="predictions_sha256",
            expected=data["provenance"]["predictions_sha256"],
            found=sha,
        )
    task = get_task(f"{data['task']['name']}@{data['task']['version']}", data_root)
    if task.spec.digest() != data["task"]["digest"]:
        raise TaskError(
            "the task protocol changed since the entry was scored",
            path=path,
            variable="task.digest",
            expected=data["task"]["digest"],
            found=task.spec.digest(),
        )
    resamples = int(data["provenance"]["scorer"]["resamples"])
    name = data["model"]["name"]
    results = score(predictions, task, name, resamples)
    fresh_series = encode_results(results.table[results.table.model == name])
    if json.loads(json.dumps(fresh_series)) == data["results"]:
        return data
    fresh, stored = decode_results(fresh_series), decode_results(data["results"])
    n_fresh, n_stored = len(fresh["value"]), len(stored["value"])
    if n_fresh != n_stored:
        raise DataValueError(
            "rescoring gives another number of results",
            path=path, variable="results", expected=f"{n_stored} rows", found=f"{n_fresh} rows",
        )  # fmt: skip
    for i in range(n_stored):
        for column in stored:
            if fresh[column][i] != stored[column][i]:
                where = ", ".join(
                    f"{c}={stored[c][i]}"
                    for c in ("variable", "level", "region", "lead_hours", "metric")
                )
                raise DataValueError(
                    "rescoring does not reproduce the entry",
                    path=path,
                    variable=f"{column} ({where})",
                    expected=repr(stored[column][i]),
                    found=repr(fresh[column][i]),
                )
    raise DataValueError("rescoring does not reproduce the entry", path=path)
