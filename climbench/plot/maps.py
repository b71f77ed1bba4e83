"""Maps of a field on a regular lat/lon grid (time-mean errors), with coastlines offline.

Coastlines, in this order, and never a download:

1. the contour of a land-sea mask, when one is given: the synthetic tasks have continents
   of their own, so only their mask draws their coasts;
2. the GSHHS coarse shoreline shipped by Debian's ``python-cartopy-data`` (or found in
   cartopy's ``pre_existing_data_dir`` / ``$CARTOPY_DATA``), read with pyshp;
3. none, said in the figure's caption.

:func:`error_map` draws a figure with axes and a colour bar (PNG/SVG through
:func:`climbench.plot.save`); :func:`map_png` writes a small image for web pages quickly
(a colour-mapped array with the mask's coastline, no axes), for a site with hundreds of
maps.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from climbench.plot.figure import DIVERGING, new_figure

#: where offline shoreline files are looked for (``shapefiles/gshhs/c/GSHHS_c_L1.shp``)
DATA_DIRS = ("/usr/share/cartopy/data",)
GSHHS = Path("shapefiles/gshhs/c/GSHHS_c_L1.shp")


def _data_dirs() -> list[Path]:
    dirs = [os.environ.get("CARTOPY_DATA", "")]
    try:  # cartopy's own setting, when cartopy is installed
        import cartopy

        dirs.append(str(cartopy.config.get("pre_existing_data_dir") or ""))
    except ImportError:
        pass
    return [Path(d) for d in [*dirs, *DATA_DIRS] if d]


@cache
def offline_coastlines() -> tuple[np.ndarray, ...] | None:
    """Shoreline polygons as (n, 2) lon/lat arrays (lon in [0, 360)), or None when no
    offline file or no pyshp is there."""
    path = next((d / GSHHS for d in _data_dirs() if (d / GSHHS).is_file()), None)
    if path is None:
        return None
    try:
        import shapefile  # pyshp, a cartopy dependency
    except ImportError:
        return None
    lines = []
    with shapefile.Reader(str(path)) as reader:
        for shape in reader.iterShapes():
            points = np.asarray(shape.points, float)
            for part in np.split(points, shape.parts[1:]):
                part = part.copy()
                part[:, 0] %= 360.0
                lines.append(part)
    return tuple(lines)


def symmetric_limit(*arrays: np.ndarray) -> float:
    """A colour limit for differences: the 99th percentile of ``|values|`` over all."""
    values = np.concatenate([np.abs(np.asarray(a, float)).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    return float(np.percentile(values, 99)) if values.size and values.max() > 0 else 1.0


def error_map(
    values: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    land_sea_mask: np.ndarray | None = None,
    coastlines: bool = True,
    limit: float | None = None,
    title: str = "time-mean error",
    units: str = "",
) -> Figure:
    """A (lat, lon) field on a diverging colour-blind-safe scale centred on zero, with
    coastlines (module docstring)."""
    values = np.asarray(values, float)
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    limit = limit or symmetric_limit(values)
    width = 6.4 if np.ptp(lon) > 60 else 4.8
    fig = new_figure(width, 0.62 * width * max(np.ptp(lat), 1) / max(np.ptp(lon), 1) + 1.2)
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(
        lon, lat, values, cmap=DIVERGING, vmin=-limit, vmax=limit, shading="nearest"
    )
    note = ""
    if coastlines and land_sea_mask is not None:
        ax.contour(
            lon, lat, np.asarray(land_sea_mask, float), levels=[0.5], colors="black", linewidths=0.8
        )
        note = "coastlines: the task's land-sea mask"
    elif coastlines and offline_coastlines() is not None:
        for line in offline_coastlines():
            ax.plot(line[:, 0], line[:, 1], color="black", linewidth=0.5)
        ax.set_xlim(lon.min(), lon.max())
        ax.set_ylim(lat.min(), lat.max())
        note = "coastlines: GSHHS (offline)"
    elif coastlines:
        note = "no offline coastline data"
    ax.set_xlabel("longitude (deg E)" + (f"\n{note}" if note else ""))
    ax.set_ylabel("latitude (deg N)")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    fig.colorbar(mesh, ax=ax, label=units, shrink=0.8)
    return fig


@cache
def _lookup_table() -> np.ndarray:
    """256 RGBA colours of the diverging map (one look-up per image, not a colormap call)."""
    return colormaps[DIVERGING](np.linspace(0, 1, 256))


def map_png(
    values: np.ndarray,
    path: str | os.PathLike,
    *,
    limit: float,
    land_sea_mask: np.ndarray | None = None,
    width: int = 256,
) -> Path:
    """A north-up PNG of ``values`` (lat ascending, lon), nearest-neighbour upscaled to
    about ``width`` pixels, with coastline pixels (mask edges) in black; NaN is grey."""
    from matplotlib.image import imsave

    values = np.asarray(values, float)[::-1]
    scale = max(1, int(round(width / values.shape[1])))
    rgba = _lookup_table()[np.round((np.clip(values / limit, -1, 1) + 1) * 127.5).astype(int)]
    rgba = rgba.copy()
    rgba[~np.isfinite(values)] = (0.85, 0.85, 0.85, 1)
    rgba = np.repeat(np.repeat(rgba, scale, axis=0), scale, axis=1)
    if land_sea_mask is not None:
        mask = np.repeat(np.repeat(np.asarray(land_sea_mask)[::-1] > 0.5, scale, 0), scale, 1)
        edge = np.zeros_like(mask)
        edge[:-1] |= mask[:-1] != mask[1:]
        edge[:, :-1] |= mask[:, :-1] != mask[:, 1:]
        rgba[edge] = (0, 0, 0, 1)
    path = Path(path)
    imsave(path, rgba, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return path
