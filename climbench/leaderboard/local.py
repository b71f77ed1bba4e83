"""The leaderboard of a local ``climbench run``: its models beside the committed entries.

``climbench run`` ends here: after scoring, each model it trained or fitted becomes a local
entry (the same builder as ``submit``, from the run's own results, never written to the
committed entries folder) and the site is built with them beside the committed baseline
entries, so a user sees at once where the run's models stand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import climbench
from climbench.leaderboard import store
from climbench.leaderboard.site import build_site
from climbench.leaderboard.submit import make_entry
from climbench.version import __version__


def committed_root() -> Path:
    """The committed entries: ``$CLIMBENCH_LEADERBOARD``, else ``./leaderboard``, else the
    ``leaderboard/`` folder of the checkout this package runs from."""
    if store.LEADERBOARD_ENV in os.environ:
        return Path(os.environ[store.LEADERBOARD_ENV])
    here = Path("leaderboard")
    if (here / "entries").is_dir():
        return here
    return Path(climbench.__file__).resolve().parent.parent / "leaderboard"


def local_card(name: str) -> dict:
    return {
        "name": name,
        "revision": f"local-{__version__}",
        "type": "ml",
        "description": "trained or fitted by this machine's climbench run (not submitted)",
        "contact": "you",
    }


def local_site(
    runs: Iterable[tuple[object, object, Mapping]],
    out: str | os.PathLike,
    root: str | os.PathLike | None = None,
) -> Path:
    """Build the site at ``out`` (replacing an earlier site there) from the committed
    entries under ``root`` plus each run's models. ``runs``: ``(task, results,
    predictions)`` with ``predictions`` mapping model names to files or datasets, as
    ``climbench run`` scores them; returns the path of ``index.html``."""
    entries = [
        make_entry(predictions, task, local_card(name), results)
        for task, results, models in runs
        for name, predictions in models.items()
    ]
    root = Path(root) if root is not None else committed_root()
    return build_site(out, root, extra_entries=entries, overwrite=True)
