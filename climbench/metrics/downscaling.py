"""Downscaling scores: extremes, variability and the spectrum of regional fields.

- :func:`quantile_error`: ``Q_q(f) - Q_q(t)`` per cell over the sample dim (e.g. the 99th
  percentile of daily precipitation), units of the variable; its area mean is taken of
  the absolute value, so errors of opposite sign do not cancel.
- :func:`variance_ratio`: ``var_t(f) / var_t(t)`` (dimensionless, 1 = right variability,
  < 1 = too smooth, typical of regression to the mean).
- :func:`radial_power_spectrum`: the isotropic spectrum of a regional (limited-area)
  field, treated as planar with spacings ``dy = R dlat`` and ``dx = R cos(lat_c) dlon``
  (m) at the central latitude ``lat_c``; power ``|fft2(f)/N|^2`` summed in annuli of
  radial frequency of width ``dk = max(1/(nx dx), 1/(ny dy))`` (m-1). Units^2 per bin;
  Parseval: the bins sum to ``mean(f^2)``. Reference: e.g. Harris et al. (2022), JAMES,
  for radially averaged spectra in ML downscaling.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from climbench.data.grids import EARTH_RADIUS_M
from climbench.errors import CoordinateError
from climbench.metrics._reduce import area_mean
from climbench.metrics.layout import check_pair, check_spatial, sample_dims

Field = xr.DataArray | xr.Dataset


def _pair(forecast: Field, truth: Field) -> tuple[Field, list[str]]:
    check_pair(forecast, truth)
    dims = sample_dims(forecast)
    if not dims:
        raise CoordinateError(
            "no sample dimension to take statistics over",
            expected="dim 'time' or 'init_time'",
            found=f"dims {tuple(forecast.dims)}",
        )
    return truth.assign_coords(lat=forecast["lat"], lon=forecast["lon"]), dims


def quantile_error(
    forecast: Field,
    truth: Field,
    q: float = 0.99,
    *,
    region="global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Quantile error per cell (map), or its area-weighted mean absolute value."""
    truth, dims = _pair(forecast, truth)
    diff = forecast.quantile(q, dims).drop_vars("quantile") - truth.quantile(q, dims).drop_vars(
        "quantile"
    )
    return area_mean(np.abs(diff), region=region, mask=mask) if spatial_mean else diff


def variance_ratio(
    forecast: Field, truth: Field, *, region="global", mask=None, spatial_mean: bool = True
) -> Field:
    """``var_t(f) / var_t(t)`` per cell, or the ratio of area-mean variances."""
    truth, dims = _pair(forecast, truth)
    vf, vt = forecast.var(dims), truth.var(dims)
    if not spatial_mean:
        return vf / vt
    return area_mean(vf, region=region, mask=mask) / area_mean(vt, region=region, mask=mask)


def _radial_bins(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = np.deg2rad(abs(float(np.diff(lat).mean())))
    dlon = np.deg2rad(abs(float(np.diff(lon).mean())))
    dy = EARTH_RADIUS_M * dlat
    dx = EARTH_RADIUS_M * np.cos(np.deg2rad(lat.mean())) * dlon
    ky = np.fft.fftfreq(lat.size, dy)
    kx = np.fft.fftfreq(lon.size, dx)
    kr = np.hypot(ky[:, None], kx[None, :])
    dk = max(1.0 / (lat.size * dy), 1.0 / (lon.size * dx))
    index = np.rint(kr / dk).astype(int)
    return index, np.arange(index.max() + 1) * dk


def _radial_power(x: np.ndarray, index: np.ndarray, nbins: int) -> np.ndarray:
    f = np.fft.fft2(x, norm="forward")
    power = (f.real**2 + f.imag**2).reshape(-1, index.size)
    flat = index.ravel()
    out = np.stack([np.bincount(flat, weights=row, minlength=nbins) for row in power])
    return out.reshape(*x.shape[:-2], nbins)


def radial_power_spectrum(field: xr.DataArray) -> xr.DataArray:
    """Radially summed 2-D power spectrum of regional (lat, lon) fields (module docstring).

    Dims (lat, lon) become ``wavenumber`` (m-1), with a ``wavelength`` coord (m).
    """
    check_spatial(field, "field")
    index, k = _radial_bins(field["lat"].values, field["lon"].values)
    out = xr.apply_ufunc(
        _radial_power,
        field,
        kwargs={"index": index, "nbins": k.size},
        input_core_dims=[["lat", "lon"]],
        output_core_dims=[["wavenumber"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"wavenumber": k.size}},
    )
    with np.errstate(divide="ignore"):
        return out.assign_coords(wavenumber=k, wavelength=("wavenumber", 1.0 / k))
