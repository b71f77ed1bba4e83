"""ECMWF ensemble forecasts (ENS) as GRIB: perturbed members on ``number``, leads on ``step``.

Source: ECMWF Integrated Forecasting System ensemble (Buizza et al. 2007, QJRMS 133,
681-695); the sample is metview-python's 10 m wind gust of 50 perturbed members
(``dataType = pf``), one initialisation, steps 60-72 h.

cfgrib opens one initialisation with a scalar ``time`` (the init) and a ``step`` dim, so the
data are a forecast, not a time series: ``time`` becomes a length-1 ``init_time`` dim,
``step`` becomes ``lead_time`` and ``number`` becomes ``member`` (the forecast layout
``init_time, lead_time, member, lat, lon`` of DESIGN.md). Which members the file holds is
kept: ``ecmwf_data_type`` is ``pf`` (perturbed only, no control member) or ``cf``.
"""

from __future__ import annotations

import xarray as xr

from climbench.data.sources.base import SourceAdapter

ENSEMBLE_TYPES = ("pf", "cf")


def _data_types(raw: xr.Dataset) -> set[str]:
    return {str(v.attrs.get("GRIB_dataType")) for v in raw.data_vars.values()}


class ECMWFEnsembleAdapter(SourceAdapter):
    name = "ecmwf-ens"
    description = "ECMWF ensemble forecasts (GRIB: number x step of one or more inits)"

    def matches(self, path: str, raw: xr.Dataset) -> bool:
        return (
            raw.attrs.get("GRIB_centre") == "ecmf"
            and "step" in raw.dims
            and bool(_data_types(raw) & set(ENSEMBLE_TYPES))
        )

    def metadata(self, path: str, raw: xr.Dataset) -> dict[str, str]:
        meta = {"product": "ECMWF-ENS", "ecmwf_data_type": ",".join(sorted(_data_types(raw)))}
        if "GRIB_edition" in raw.attrs:
            meta["grib_edition"] = str(raw.attrs["GRIB_edition"])
        return meta

    def adjust(self, raw: xr.Dataset, path: str) -> xr.Dataset:
        ds = raw.drop_vars([c for c in ("valid_time",) if c in raw.coords])
        if "time" in ds.coords and "time" not in ds.dims:
            ds = ds.expand_dims("time")
        ds = ds.rename(time="init_time", step="lead_time")
        return ds.transpose("init_time", "lead_time", ...)
