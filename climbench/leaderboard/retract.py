"""``retract``: withdraw an entry without deleting it.

A retraction is a new file ``retractions/<entry id>.json`` holding the id, the reason and
the date; the entry file is untouched (its digest and history stay valid). The site keeps
a retracted entry on its page, struck through and out of the ranking, with the reason.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from climbench.errors import ConfigError
from climbench.io import write_json_atomic
from climbench.leaderboard import store
from climbench.leaderboard.card import check_length


def retract(
    entry: str | os.PathLike, reason: str, *, root: str | os.PathLike | None = None
) -> Path:
    """Retract ``entry`` (an id or a path) for ``reason``; returns the retraction file."""
    root = Path(root) if root is not None else store.default_root()
    path = store.find_entry(root, entry)
    eid = store.read_entry(path).data.get("id", path.stem)
    reason = str(reason).strip()
    if not reason:
        raise ConfigError(
            "a retraction needs a reason", variable="reason", expected="a sentence", found="''"
        )
    check_length("reason", reason)
    out = Path(root) / "retractions" / f"{eid}.json"
    if out.exists():
        raise ConfigError(
            "entry already retracted",
            path=out,
            variable=eid,
            expected="an entry not yet retracted",
            found="a retraction file",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    write_json_atomic(out, {"id": eid, "reason": reason, "retracted": now})
    return out
