"""A human-readable description of a canonical dataset or prepared store (``data info``)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from rich.console import Console
from rich.table import Table

from climbench.data.schema import time_step

_SHOWN_ATTRS = (
    "climbench_source",
    "climbench_format",
    "product",
    "activity_id",
    "institution_id",
    "source_id",
    "experiment_id",
    "member_id",
    "table_id",
    "variable_id",
    "grid_label",
    "version",
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
    lat, lon = ds["lat"].values, ds["lon"].values
    facts["grid"] = {
        "nlat": int(lat.size),
        "nlon": int(lon.size),
        "lat_range": [float(lat.min()), float(lat.max())],
        "lon_range": [float(lon.min()), float(lon.max())],
        "resolution": [
            float(np.median(np.diff(lat))) if lat.size > 1 else None,
            float(np.median(np.diff(lon))) if lon.size > 1 else None,
        ],
    }
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
    console.print(
        f"[cyan]grid[/]: {grid['nlat']} x {grid['nlon']}, lat {grid['lat_range']}, "
        f"lon {grid['lon_range']}, resolution {grid['resolution']} deg"
    )
    if "time" in facts:
        t = facts["time"]
        console.print(
            f"[cyan]time[/]: {t['start']} .. {t['end']} ({t['steps']} steps, "
            f"step {t['step']}, calendar {t['calendar']})"
        )
    if "levels_hPa" in facts:
        console.print(f"[cyan]levels (hPa)[/]: {facts['levels_hPa']}")
    table = Table("variable", "from", "units", "dims", "dtype")
    if stats:
        table.add_column("min")
        table.add_column("mean")
        table.add_column("max")
    for name, v in facts["variables"].items():
        row = [
            name,
            v["source_name"],
            v["units"],
            " x ".join(f"{d}:{facts['dims'][d]}" for d in v["dims"]),
            v["dtype"],
        ]
        if stats:
            da = ds[name]
            row += [f"{float(da.min()):.5g}", f"{float(da.mean()):.5g}", f"{float(da.max()):.5g}"]
        table.add_row(*row)
    console.print(table)
