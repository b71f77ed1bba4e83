"""Zonal power spectra of forecasts against the truth's (log-log)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from climbench.plot.figure import OKABE_ITO, new_figure


def spectra(
    truth: np.ndarray,
    models: Mapping[str, np.ndarray],
    *,
    wavenumbers: np.ndarray | None = None,
    title: str = "zonal power spectrum",
    units: str = "",
) -> Figure:
    """Power against zonal wavenumber of ``truth`` (black) and each model (colours);
    wavenumber 0 (the zonal mean) is left out of the log axis."""
    truth = np.asarray(truth, float)
    k = np.arange(truth.size) if wavenumbers is None else np.asarray(wavenumbers)
    keep = k > 0
    fig = new_figure(5.5, 3.8)
    ax = fig.add_subplot()
    ax.loglog(k[keep], truth[keep], color="black", linewidth=2, label="truth")
    for i, (name, power) in enumerate(models.items()):
        ax.loglog(k[keep], np.asarray(power, float)[keep], color=OKABE_ITO[i % 8], label=name)
    ax.set_xlabel("zonal wavenumber")
    ax.set_ylabel(f"power{f' ({units})' if units else ''}")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return fig
