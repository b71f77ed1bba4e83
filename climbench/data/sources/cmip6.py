"""CMIP6 model output in the CMIP6 Data Reference Syntax (DRS).

Source: the Earth System Grid Federation (ESGF) and its Zarr mirrors; Eyring et al. (2016),
"Overview of the CMIP6 experimental design", GMD 9, 1937-1958. Licence: CC BY 4.0 for most
models (see each file's ``license`` attribute).

Paths follow ``CMIP6/<activity>/<institution>/<source>/<experiment>/<member>/<table>/
<variable>/<grid>/<version>/<file>`` and file names
``<variable>_<table>_<source>_<experiment>_<member>_<grid>[_<start>-<end>].nc``. Both are
parsed into metadata (:func:`parse_drs`); global attributes fill what the path lacks and a
disagreement is reported. Calendars are kept: years such as 0101 decode to ``cftime``
objects, never to shifted numpy dates.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import xarray as xr

from climbench.data.sources.base import SourceAdapter

FILE_NAME = re.compile(
    r"^(?P<variable_id>[A-Za-z0-9]+)_(?P<table_id>[A-Za-z0-9]+)_(?P<source_id>[A-Za-z0-9-]+)_"
    r"(?P<experiment_id>[A-Za-z0-9-]+)_(?P<member_id>(?:[a-z0-9-]+-)?r\d+i\d+p\d+f\d+)_"
    r"(?P<grid_label>g[a-z0-9]+)(?:_(?P<time_range>\d+(?:-\d+)?(?:-clim)?))?\.(?:nc|zarr)$"
)
FIELDS = (
    "activity_id",
    "institution_id",
    "source_id",
    "experiment_id",
    "member_id",
    "table_id",
    "variable_id",
    "grid_label",
    "version",
)


@dataclass(frozen=True)
class CMIP6Id:
    """The DRS identity of one CMIP6 dataset (None where the path does not say)."""

    activity_id: str | None = None
    institution_id: str | None = None
    source_id: str | None = None
    experiment_id: str | None = None
    member_id: str | None = None
    table_id: str | None = None
    variable_id: str | None = None
    grid_label: str | None = None
    version: str | None = None
    time_range: str | None = None


def parse_drs(path: str | Path) -> CMIP6Id | None:
    """Parse a CMIP6 file name and, when present, its DRS directories."""
    path = Path(path)
    match = FILE_NAME.match(path.name)
    if not match:
        return None
    found = match.groupdict()
    parts = path.parts
    # .../<activity>/<institution>/<source>/<experiment>/<member>/<table>/<var>/<grid>/<vN>/f
    if len(parts) >= 10 and re.fullmatch(r"v\d{8}", parts[-2]):
        activity, institution, source, experiment, member, table, variable, grid = parts[-10:-2]
        if (source, experiment, member, table, variable, grid) == (
            found["source_id"],
            found["experiment_id"],
            found["member_id"],
            found["table_id"],
            found["variable_id"],
            found["grid_label"],
        ):
            found.update(activity_id=activity, institution_id=institution, version=parts[-2])
    return CMIP6Id(**found)


class CMIP6Adapter(SourceAdapter):
    name = "cmip6"
    description = "CMIP6 model output (CMOR netCDF or Zarr, DRS paths and names)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        return raw.attrs.get("mip_era") == "CMIP6" or parse_drs(path) is not None

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        parsed = parse_drs(path) or CMIP6Id()
        meta = {k: v for k, v in asdict(parsed).items() if v is not None}
        attrs = dict(raw.attrs)
        if "member_id" not in attrs and "variant_label" in attrs:
            attrs["member_id"] = (
                attrs.get("sub_experiment_id", "none") + "-" + attrs["variant_label"]
                if attrs.get("sub_experiment_id", "none") != "none"
                else attrs["variant_label"]
            )
        if "version" in attrs and "version" in meta:
            # The DRS directory holds the ESGF dataset (publication) version; a file's own
            # ``version`` attribute is the older CMOR-time label and often differs. Both kept.
            meta["file_version"] = str(attrs.pop("version"))
        for key in FIELDS:
            if key in attrs and key in meta and str(attrs[key]) != meta[key]:
                warnings.warn(
                    f"{path}: CMIP6 {key} is '{meta[key]}' in the path but "
                    f"'{attrs[key]}' in the file's attributes; using the attribute",
                    stacklevel=3,
                )
            if key in attrs:
                meta[key] = str(attrs[key])
        return meta

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        from climbench.data.sources.curvilinear import CurvilinearAdapter

        # CMOR writes the reference height of tas/uas as a scalar coordinate; the canonical
        # name already says 2 m / 10 m, and keeping it blocks merging tas with uas.
        raw = raw.drop_vars([c for c in ("height",) if c in raw.coords])
        curvilinear = CurvilinearAdapter()  # native ocean grids (gn): 2-D lat/lon on (j, i)
        return curvilinear.adjust(raw, path) if curvilinear.matches(path, raw) else raw
