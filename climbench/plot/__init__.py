"""Figures of climbench results, for the leaderboard site and for users' own results.

Every function takes plain results (the scorer's tidy table, as
``climbench.evaluate(...).table`` or ``pandas.read_csv("results.csv")``, or arrays) and
returns a matplotlib :class:`~matplotlib.figure.Figure`; :func:`save` writes it as PNG or
SVG by the file's suffix. Nothing here downloads anything: coastlines come from the task's
land-sea mask or from offline Natural Earth / GSHHS files (:mod:`.maps`).

- :func:`lead_time_curves`: a score against lead time per model, with interval bands,
  absolute or relative to one model;
- :func:`scorecard`: WeatherBench-2-style % differences from a reference model;
- :func:`error_map`: a map of a time-mean error with coastlines;
- :func:`spectra`: zonal power spectra of forecasts and truth;
- :func:`rank_histogram`: the rank of the truth among ensemble members.
"""

from climbench.plot.curves import lead_time_curves
from climbench.plot.figure import save
from climbench.plot.maps import error_map
from climbench.plot.rank_histogram import rank_counts, rank_histogram
from climbench.plot.scorecard import percent_difference, scorecard
from climbench.plot.spectra import spectra

__all__ = [
    "error_map",
    "lead_time_curves",
    "percent_difference",
    "rank_counts",
    "rank_histogram",
    "save",
    "scorecard",
    "spectra",
]
