"""A human-readable description of a canonical dataset or prepared store (``data info``)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from rich.console import Console
from rich.table import Table

from climbench.data import layouts
from climbench.data.schema import time_step
from climbench.data.sources.cmip6 import FIELDS as CMIP6_FIELDS

_SHOWN_ATTRS = (
    "climbench_source",
    "climbench_format",
    "product",
    *CMIP6_FIELDS,
    "merra2_collection",
    "merra2_stream",
    "merra2_original_file_name",
    "synthetic",
    "generator_version",
    "seed",
)


def summary(ds: xr.Dataset) -> dict:
    """Facts about ``ds`` as plain data: grid, time axis, variables (no values read)."""
    facts: dict = {"dims": {str(k): int(v) for k, v in ds.sizes.items()}}
    space = layouts.describe_space(ds)  # curvilinear grids, stations, indices
    if space is not None:
        facts["space"] = space
    lat, lon = (ds["lat"].values, ds["lon"].values) if space is None else (np.zeros(0),) * 2
    facts["grid"] = (
        None
        if space is not None
        else {
            "nlat": int(lat.size),
            "nlon": int(lon.size),
            "lat_range": [float(lat.min()), float(lat.max())],
            "lon_range": [float(lon.min()), float(lon.max())],
            "resolution": [
                float(np.median(np.diff(lat))) if lat.size > 1 else None,
                float(np.median(np.diff(lon))) if lon.size > 1 else None,
            ],
        }
    )
    if "time" in ds.dims:
        values = ds["time"].values
        step = time_step(ds)
        first = values.flat[0]
        facts["time"] = {
            "start": str(values[0]),
            "end": str(values[-1]),
            "steps": int(values.size),
            "step": str(step) if step is not None else "irregular",
            "calendar": getattr(first, "calendar", "standard (numpy datetime64)"),
        }
    if "level" in ds.dims:
        facts["levels_hPa"] = [float(v) for v in ds["level"].values]
    facts["variables"] = {
        str(name): {
            "dims": list(map(str, da.dims)),
            "units": da.attrs.get("units", ""),
            "dtype": str(da.dtype),
            "source_name": da.attrs.get("climbench_source_name", str(name)),
        }
        for name, da in ds.data_vars.items()
    }
    facts["attrs"] = {k: str(ds.attrs[k]) for k in _SHOWN_ATTRS if k in ds.attrs}
    return facts


def print_summary(
    ds: xr.Dataset, title: str, console: Console | None = None, stats: bool = False
) -> None:
    """Print :func:`summary` as rich tables; ``stats`` adds min / mean / max (reads data)."""
    console = console or Console()
    facts = summary(ds)
    console.rule(f"[bold]{title}")
    for key, value in facts["attrs"].items():
        console.print(f"[cyan]{key}[/]: {value}")
    grid = facts["grid"]
    if grid is None:
        console.print(f"[cyan]space[/]: {facts['space']}")
    else:
        console.print(
            f"[cyan]grid[/]: {grid['nlat']} x {grid['nlon']}, lat "
            f"{_fmt(grid['lat_range'][0])}..{_fmt(grid['lat_range'][1])}, lon "
            f"{_lon_span(ds['lon'].values)}, resolution "
            f"{' x '.join(_fmt(r) for r in grid['resolution'] if r is not None)} deg"
        )
    if "time" in facts:
        t = facts["time"]
        console.print(
            f"[cyan]time[/]: {t['start']} .. {t['end']} ({t['steps']} steps, "
            f"step {t['step']}, calendar {t['calendar']})"
        )
    if "levels_hPa" in facts:
        console.print(f"[cyan]levels (hPa)[/]: {facts['levels_hPa']}")
    width = max(len(n) for n in facts["variables"])
    table = Table("variable", "from", "units", "dims", "dtype")
    for column in table.columns:
        column.no_wrap = True
    table.columns[0].min_width = width
    table.columns[2].min_width = max(len(v["units"]) for v in facts["variables"].values())
    for name, v in facts["variables"].items():
        dims = " ".join(f"{d}:{facts['dims'][d]}" for d in v["dims"])
        source_name = "" if v["source_name"] == name else v["source_name"]
        table.add_row(name, source_name, v["units"], dims, v["dtype"])
    console.print(table)
    if stats:
        values = Table("variable", "min", "mean", "max")
        values.columns[0].min_width = width
        for name in facts["variables"]:
            da = ds[name]
            values.add_row(name, *(f"{float(f()):.5g}" for f in (da.min, da.mean, da.max)))
        console.print(values)


def _fmt(value: float) -> str:
    """A coordinate without float noise (44.10000000000091 -> 44.1)."""
    return f"{value:.6g}"


def _lon_span(lon: np.ndarray) -> str:
    """Longitude extent; a regional grid crossing 0 shows as e.g. 350..2 (crosses 0)."""
    if lon.size > 2:
        gaps = np.diff(lon)
        big = int(np.argmax(gaps))
        if gaps[big] > 3 * np.median(gaps) and lon[0] < gaps[big] < 360:
            return f"{_fmt(lon[big + 1])}..{_fmt(lon[big])} (crosses 0)"
    return f"{_fmt(lon.min())}..{_fmt(lon.max())}"
