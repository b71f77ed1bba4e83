"""The source-adapter interface and the registry that detects a file's source.

An adapter knows what is particular to one family of files (ERA5, CMIP6, MERRA-2, WRF,
ECMWF ensembles, curvilinear CF grids such as CORDEX and NEMO, hindcasts, station files,
generic CF): how to recognise it, which metadata its paths and attributes carry, and which quirks
to undo before the shared normalisation in :mod:`climbench.data.schema`. Adding a source is
one new module plus one line in :data:`ADAPTERS`.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from climbench.errors import ClimbenchError


class SourceAdapter:
    """Base adapter: a generic CF file, nothing to undo."""

    name = "cf"
    description = "generic CF-convention netCDF / Zarr (e.g. NOAA ERSST)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        """True when ``raw`` (opened from ``path``) comes from this source."""
        return True

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        """Metadata parsed from the path and attributes, stored on the canonical dataset."""
        return {}

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        """Undo source quirks before coordinate normalisation."""
        return raw


def registry() -> dict[str, SourceAdapter]:
    """Adapters by name, in detection order (the generic one last)."""
    from climbench.data.sources.cmip6 import CMIP6Adapter
    from climbench.data.sources.curvilinear import CurvilinearAdapter
    from climbench.data.sources.ecmwf_ens import ECMWFEnsembleAdapter
    from climbench.data.sources.era5 import ERA5Adapter
    from climbench.data.sources.hindcast import HindcastAdapter
    from climbench.data.sources.merra2 import MERRA2Adapter
    from climbench.data.sources.stations import SingleStationAdapter, TimeSeriesAdapter
    from climbench.data.sources.wrf import WRFAdapter

    adapters = [
        WRFAdapter(),
        TimeSeriesAdapter(),
        SingleStationAdapter(),
        CMIP6Adapter(),
        CurvilinearAdapter(),  # before ERA5: CORDEX runs driven by ERA-Interim name it
        MERRA2Adapter(),
        ECMWFEnsembleAdapter(),
        ERA5Adapter(),
        HindcastAdapter(),
        SourceAdapter(),
    ]
    return {a.name: a for a in adapters}


def detect(path: str | Path, raw: xr.Dataset, source: str | None = None) -> SourceAdapter:
    """The adapter for ``raw``; ``source`` forces one by name."""
    adapters = registry()
    if source is not None:
        if source not in adapters:
            raise ClimbenchError(
                "unknown source", path=path, expected=f"one of {list(adapters)}", found=repr(source)
            )
        return adapters[source]
    return next(a for a in adapters.values() if a.matches(str(path), raw))
