"""Shared figure plumbing: a non-interactive backend, the palette, saving to PNG or SVG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; set before pyplot is imported anywhere here

from matplotlib.figure import Figure  # noqa: E402

from climbench.errors import ConfigError  # noqa: E402

#: Okabe & Ito's colour-blind-safe qualitative palette (lines of models)
OKABE_ITO = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)  # fmt: skip
#: a diverging, colour-blind-safe map (blue better / orange worse) for differences
DIVERGING = "PuOr_r"
FORMATS = (".png", ".svg")


def new_figure(width: float = 6.4, height: float = 4.0) -> Figure:
    """A figure not tied to pyplot's global state (safe in threads and loops)."""
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write ``fig`` as PNG or SVG (by the suffix of ``path``); returns the path. SVG is
    written without a date or random ids, so the same figure gives the same file."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(
            "unknown figure format",
            path=path,
            expected="a .png or .svg file name",
            found=repr(path.suffix or "no suffix"),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".svg":
        with matplotlib.rc_context({"svg.hashsalt": "climbench", "svg.fonttype": "none"}):
            fig.savefig(path, format="svg", metadata={"Date": None})
    else:
        fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path
