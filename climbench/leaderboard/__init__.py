"""The leaderboard: entries scored by the official scorer, checked, and a static site.

- :func:`submit` scores a predictions file with :func:`climbench.evaluate` and writes one
  entry (``leaderboard/entries/<task>/<version>/<id>.json``, :mod:`.schema`);
- :func:`check` refuses invalid, duplicate or edited entries (what CI runs);
- :func:`verify` rescores an entry's predictions and requires the same numbers;
- :func:`retract` withdraws an entry without deleting it;
- :func:`build_site` writes the static site (:mod:`.site`).
"""

from climbench.leaderboard.check import check, problems
from climbench.leaderboard.retract import retract
from climbench.leaderboard.site import build_site
from climbench.leaderboard.store import default_root, load_entries
from climbench.leaderboard.submit import submit
from climbench.leaderboard.verify import verify

__all__ = [
    "build_site",
    "check",
    "default_root",
    "load_entries",
    "problems",
    "retract",
    "submit",
    "verify",
]
