"""NASA MERRA-2 (Modern-Era Retrospective analysis for Research and Applications, v2).

Source: NASA GMAO, distributed by GES DISC; Gelaro et al. (2017), J. Climate 30, 5419-5454.
Licence: public, free and open.

File names follow ``MERRA2_<stream>.<collection>.<YYYYMMDD>.nc4`` (stream 100/200/300/400 by
production period; collection e.g. ``tavg1_2d_slv_Nx``); the GES DISC subsetter appends
``.SUB`` and keeps the original name in the ``Filename`` attribute. Variable names
(``T2M``, ``U10M``, ``SLP``, ``H500``, ``PRECTOT``) map through the vocabulary; daily files
open as one dataset with ``open_dataset([...])`` or a glob.
"""

from __future__ import annotations

import re
from pathlib import Path

import xarray as xr

from climbench.data.sources.base import SourceAdapter

FILE_NAME = re.compile(
    r"MERRA2_(?P<stream>\d{3})\.(?P<collection>[A-Za-z0-9_]+)\.(?P<date>\d{6,8})"
    r"(?P<subset>\.SUB)?\.nc4?$"
)


def parse_file_name(name: str) -> dict[str, str] | None:
    """Stream, collection and date of a MERRA-2 file name, or None if it is not one."""
    match = FILE_NAME.search(Path(name).name)
    if not match:
        return None
    meta = {k: v for k, v in match.groupdict().items() if k != "subset" and v}
    meta["subset"] = "yes" if match.group("subset") else "no"
    return meta


class MERRA2Adapter(SourceAdapter):
    name = "merra2"
    description = "NASA MERRA-2 reanalysis (GES DISC netCDF-4, including subsets)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        if parse_file_name(path) or parse_file_name(str(raw.attrs.get("Filename", ""))):
            return True
        return "Global Modeling and Assimilation" in str(raw.attrs.get("Institution", ""))

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        meta = parse_file_name(path) or parse_file_name(str(raw.attrs.get("Filename", ""))) or {}
        if "Filename" in raw.attrs:
            meta["original_file_name"] = str(raw.attrs["Filename"])
        return {f"merra2_{k}": v for k, v in meta.items()}
