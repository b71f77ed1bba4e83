"""ERA5 and the ECMWF reanalysis family (ERA5, ERA5-Land, ERA-Interim, ERA5 EDA).

Source: ECMWF, Copernicus Climate Change Service (C3S) Climate Data Store; Hersbach et al.
(2020), "The ERA5 global reanalysis", QJRMS 146, 1999-2049. Licence: Copernicus licence
(attribution required).

Layouts handled:
- GRIB (via cfgrib): ``time`` x ``isobaricInhPa`` x ``latitude`` x ``longitude``, ensemble
  ``number`` for the EDA, scalar ``step`` / ``surface`` / ``valid_time`` coordinates;
  forecast files with a ``step`` dimension become ``init_time`` x ``lead_time``.
- netCDF from the old CDS (``grib_to_netcdf``: ``time``, ``level`` in millibars) and from the
  new CDS (2024 onwards: ``valid_time``, ``pressure_level``, an ``expver`` coordinate).
- Zarr in the WeatherBench 2 / ARCO-ERA5 layout (long names, ``level`` in hPa).
ERA5 short names (``t2m``, ``z``, ``tp``) and long names both map through the vocabulary.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from climbench.data import vocabulary
from climbench.data.sources.base import SourceAdapter


class ERA5Adapter(SourceAdapter):
    name = "era5"
    description = "ECMWF reanalyses: ERA5, ERA5-Land, ERA-Interim (GRIB, netCDF, WB2 Zarr)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        attrs = raw.attrs
        text = " ".join(
            str(attrs.get(k, ""))
            for k in ("GRIB_centre", "institution", "history", "Info", "source", "title")
        )
        if "ecmf" in text or "ECMWF" in text or "grib_to_netcdf" in text:
            return True
        if "ERA" in text or "era5" in path.lower() or "eraint" in path.lower():
            return True
        # WeatherBench 2 / ARCO stores: ERA5 long names on latitude/longitude dims
        long_names = {v.name for v in vocabulary.VARIABLES}
        return "latitude" in raw.dims and any(str(v) in long_names for v in raw.data_vars)

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        meta = {"product": "ERA5-Land" if "land" in path.lower() else "ERA5"}
        if "eraint" in path.lower() or "ERA-Interim" in str(raw.attrs.get("Info", "")):
            meta["product"] = "ERA-Interim"
        if "GRIB_edition" in raw.attrs:
            meta["grib_edition"] = str(raw.attrs["GRIB_edition"])
        return meta

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        raw = _monthly_precipitation(raw)
        if "step" in raw.dims and raw.sizes["step"] > 1 and "time" in raw.dims:
            raw = raw.rename(time="init_time", step="lead_time")
            raw = raw.drop_vars([c for c in ("valid_time",) if c in raw.coords])
        return raw


def _monthly_precipitation(raw: xr.Dataset) -> xr.Dataset:
    """ERA5 monthly means store ``tp`` as the mean *daily* total (m per day), not the
    month's total: name it ``total_precipitation_24hr`` so its meaning is not lost."""
    if "tp" not in raw.data_vars or "time" not in raw.dims or raw.sizes["time"] < 2:
        return raw
    values = raw["time"].values
    if not np.issubdtype(values.dtype, np.datetime64):
        return raw
    days = np.median(np.diff(values).astype("timedelta64[h]").astype(float)) / 24
    if not 27.5 <= days <= 31.5:
        return raw
    tp = raw["tp"].assign_attrs(cell_methods="time: mean of daily totals (ERA5 monthly means)")
    return raw.drop_vars("tp").assign(tp24=tp)
