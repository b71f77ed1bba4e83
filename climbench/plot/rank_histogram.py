"""Rank histograms (Talagrand diagrams): where the truth falls among ensemble members.

For an ensemble of ``M`` members the truth's rank is the number of members below it
(0..M); a calibrated ensemble gives a flat histogram, an under-dispersed one a U shape.
Ties (e.g. zero precipitation) are broken at random (Hamill 2001) with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from climbench.errors import SchemaError
from climbench.plot.figure import new_figure


def rank_counts(
    ensemble: xr.DataArray, truth: xr.DataArray, member_dim: str = "member"
) -> np.ndarray:
    """Counts of the truth's rank 0..M over every other cell of ``ensemble``."""
    if member_dim not in ensemble.dims:
        raise SchemaError(
            "an ensemble needs a member dimension",
            variable=str(ensemble.name),
            expected=f"dim {member_dim!r}",
            found=f"dims {tuple(ensemble.dims)}",
        )
    ens, obs = xr.broadcast(ensemble, truth)
    ens = ens.transpose(member_dim, ...).values.reshape(ensemble.sizes[member_dim], -1)
    obs = obs.isel({member_dim: 0}).values.reshape(-1)
    valid = np.isfinite(obs) & np.isfinite(ens).all(axis=0)
    ens, obs = ens[:, valid], obs[valid]
    below = (ens < obs).sum(axis=0)
    ties = (ens == obs).sum(axis=0)
    rng = np.random.default_rng(0)
    ranks = below + (rng.random(obs.size) * (ties + 1)).astype(int)
    return np.bincount(ranks, minlength=ens.shape[0] + 1)


def rank_histogram(
    ensemble: xr.DataArray,
    truth: xr.DataArray,
    member_dim: str = "member",
    title: str | None = None,
) -> Figure:
    """A bar chart of :func:`rank_counts` as frequencies, with the flat line of a
    calibrated ensemble."""
    counts = rank_counts(ensemble, truth, member_dim)
    freq = counts / counts.sum()
    fig = new_figure(5, 3.4)
    ax = fig.add_subplot()
    ax.bar(np.arange(freq.size), freq, color="#0072B2")
    ax.axhline(1 / freq.size, color="black", linestyle="--", label="calibrated")
    ax.set_xlabel("rank of the truth among members")
    ax.set_ylabel("frequency")
    ax.set_title(title or f"rank histogram ({ensemble.sizes[member_dim]} members)", fontsize=9)
    ax.legend(fontsize="small")
    return fig
