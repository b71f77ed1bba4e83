"""Spectra on the sphere and the scalar scores built on them.

- Zonal energy spectrum (WeatherBench 2 ``ZonalEnergySpectrum``): at each latitude,
  ``F_k = rfft(f)/n`` along longitude (forward-normalised), ``S_k = c_k |F_k|^2 C(lat)``
  with ``c_0 = 1``, ``c_k = 2`` for ``0 < k < n/2`` (the negative frequencies) and
  ``c_{n/2} = 1`` for even ``n``, and circumference ``C = 2 pi R cos(lat)`` (m). Units:
  (variable units)^2 x m. Parseval: ``sum_k S_k / C = mean_lon(f^2)`` exactly. (WB2 also
  doubles the Nyquist bin; we do not, so Parseval holds for even ``n``.) Wavelength of bin k
  is ``C / k`` (m); frequency ``k / C`` (m-1). Spectra of different latitudes are averaged
  on a common wavelength axis by linear interpolation in frequency (``S`` is a density in
  frequency) with cell-area weights (:func:`band_spectrum`).
- Spherical-harmonic power spectrum (:func:`sh_power_spectrum`): coefficients
  ``f_lm = sum_cells f Y*_lm dOmega`` by quadrature with the exact cell areas of the grid
  (sin of cell edges; any regular global grid, with or without pole rows), orthonormal
  ``Y_lm`` from ``scipy.special.sph_legendre_p_all``; ``E_l = (|f_l0|^2 + 2 sum_{m>0}
  |f_lm|^2) / (4 pi)``, so ``sum_l E_l`` is the area-mean of ``f^2`` (units^2) up to the
  quadrature error of an equiangular grid (small below ``l ~ nlat / 2``).
- Scores: :func:`spectral_ratio` per wavelength band, :func:`effective_resolution`, and
  :func:`spectral_divergence`, a per-sample generalised Kullback-Leibler (I-)divergence of
  area-weighted zonal power spectra that, unlike a KL divergence between spectra normalised
  to distributions, is also non-zero when only the total variance is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.special import sph_legendre_p_all

from climbench.data.grids import EARTH_RADIUS_M, cell_area_weights, is_periodic, lat_edges
from climbench.errors import CoordinateError, DataValueError
from climbench.metrics._reduce import time_mean
from climbench.metrics._xp import namespace
from climbench.metrics.layout import check_pair, check_spatial
from climbench.metrics.weights import latitude_weights

_MAX_LEGENDRE_BYTES = 2 * 1024**3


# -- array formulas (numpy or torch) --------------------------------------------------------


def zonal_power_array(x, axis: int = -1):
    """One-sided power ``c_k |rfft(x)/n|^2`` along ``axis`` (moved last); sums to mean(x^2)."""
    xp = namespace(x)
    x = xp.moveaxis(x, axis, -1)
    n = x.shape[-1]
    f = xp.rfft(x, axis=-1)
    power = xp.real(f * xp.conj(f))
    c = np.full(power.shape[-1], 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return power * xp.tensor_like(c, like=power)


def area_zonal_power_array(x, lat_weights):
    """Zonal power per wavenumber averaged over latitude (axis -2) with cell-area weights.

    ``x``: (..., lat, lon); returns (..., k). Its sum over ``k`` is the area-weighted mean
    of ``x^2`` (Parseval), so it carries the total variance as well as the shape.
    """
    xp = namespace(x, lat_weights)
    p = zonal_power_array(x, axis=-1)
    w = lat_weights / xp.sum(lat_weights)
    return xp.sum(p * w[:, None], axis=-2)


def i_divergence_array(power_forecast, power_truth, eps: float = 1e-12):
    """``sum_k [q log(q / p) - q + p] / sum_k q`` over the last axis (p forecast, q truth).

    Generalised Kullback-Leibler divergence of non-negative spectra (Csiszar 1991):
    >= 0, zero only when the spectra are equal, and e.g. ``a^2 - 1 - log a^2`` for a
    forecast scaled by ``a``. Dimensionless; ``eps`` (units^2) guards empty bins.
    """
    xp = namespace(power_forecast, power_truth)
    p, q = power_forecast + eps, power_truth + eps
    terms = q * xp.log(q / p) - q + p
    return xp.sum(terms, axis=-1) / xp.sum(q, axis=-1)


def spectral_divergence_array(forecast, truth, lat_weights, eps: float = 1e-12):
    """Per-sample spectral divergence of (..., lat, lon) fields (numpy or torch)."""
    return i_divergence_array(
        area_zonal_power_array(forecast, lat_weights),
        area_zonal_power_array(truth, lat_weights),
        eps,
    )


# -- xarray entry points ---------------------------------------------------------------------


def _check_global_lon(field) -> None:
    check_spatial(field, "field")
    if not is_periodic(field["lon"].values):
        raise CoordinateError(
            "zonal and spherical spectra need a full circle of longitudes",
            expected="regularly spaced longitudes covering 360 degrees",
            found=f"{field.sizes['lon']} longitudes from {float(field['lon'][0]):g}",
            hint="use downscaling.radial_power_spectrum for regional grids",
        )


def zonal_energy_spectrum(field: xr.DataArray) -> xr.DataArray:
    """WB2 zonal energy spectrum per latitude: dim ``lon`` becomes ``zonal_wavenumber``.

    Returns ``S_k = c_k |F_k|^2 C(lat)`` (units^2 m) with coords ``wavelength`` (lat, k)
    and ``frequency`` in m and m-1 (formula in the module docstring). Lazy for dask input.
    """
    _check_global_lon(field)
    n = field.sizes["lon"]
    power = xr.apply_ufunc(
        zonal_power_array,
        field,
        input_core_dims=[["lon"]],
        output_core_dims=[["zonal_wavenumber"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"zonal_wavenumber": n // 2 + 1}},
    )
    k = np.arange(n // 2 + 1)
    circumference = 2 * np.pi * EARTH_RADIUS_M * np.cos(np.deg2rad(field["lat"]))
    spectrum = power * circumference
    frequency = xr.DataArray(k, dims="zonal_wavenumber") / circumference
    with np.errstate(divide="ignore"):
        wavelength = 1.0 / frequency
    return spectrum.assign_coords(zonal_wavenumber=k, frequency=frequency, wavelength=wavelength)


def _interp_band(
    spectra: np.ndarray, freqs: np.ndarray, weights: np.ndarray, target: np.ndarray
) -> np.ndarray:
    out = np.full((*spectra.shape[:-2], target.size), np.nan)
    flat = spectra.reshape(-1, *spectra.shape[-2:])
    res = out.reshape(-1, target.size)
    for i, sample in enumerate(flat):
        rows = np.full((sample.shape[0], target.size), np.nan)
        for j in range(sample.shape[0]):
            fq = freqs[j]
            if not np.isfinite(fq[1:]).all():
                continue
            rows[j] = np.interp(target, fq[1:], sample[j, 1:], left=np.nan, right=np.nan)
        w = np.where(np.isfinite(rows), weights[:, None], 0.0)
        with np.errstate(invalid="ignore"):
            res[i] = np.nansum(rows * w, axis=0) / w.sum(axis=0)
    return out


def band_spectrum(
    spectrum: xr.DataArray,
    lat_min: float = -90.0,
    lat_max: float = 90.0,
    wavelengths: np.ndarray | None = None,
) -> xr.DataArray:
    """Average a :func:`zonal_energy_spectrum` over a latitude band on common wavelengths.

    Each latitude's spectrum (a density in frequency) is interpolated linearly in frequency
    onto ``wavelengths`` (m; default: those of the band's lowest-latitude row, k >= 1), then
    averaged with cell-area weights over the latitudes whose circle resolves that
    wavelength. Result dim ``wavelength`` (m, descending), units^2 m.
    """
    band = spectrum.where((spectrum["lat"] >= lat_min) & (spectrum["lat"] <= lat_max), drop=True)
    if band.sizes.get("lat", 0) == 0:
        raise DataValueError(
            "no latitude in the band",
            expected=f"[{lat_min}, {lat_max}]",
            found="an empty selection",
        )
    weights = latitude_weights(spectrum["lat"]).sel(lat=band["lat"]).values
    freqs = band["frequency"].transpose("lat", "zonal_wavenumber").values
    if wavelengths is None:
        row = int(np.argmin(np.abs(band["lat"].values)))
        wavelengths = band["wavelength"].transpose("lat", "zonal_wavenumber").values[row, 1:]
    wavelengths = np.asarray(wavelengths, dtype=float)
    target = 1.0 / wavelengths
    out = xr.apply_ufunc(
        _interp_band,
        band.drop_vars(["frequency", "wavelength"]),
        input_core_dims=[["lat", "zonal_wavenumber"]],
        output_core_dims=[["wavelength"]],
        kwargs={"freqs": freqs, "weights": weights, "target": target},
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"wavelength": target.size}},
    )
    return out.assign_coords(wavelength=wavelengths)


def _legendre_quadrature(lat: np.ndarray, lmax: int) -> np.ndarray:
    """``2 pi dsin(lat_j) P_lm(colat_j)`` for m >= 0: array (l, m, lat)."""
    nbytes = (lmax + 1) * (2 * lmax + 1) * lat.size * 8
    if nbytes > _MAX_LEGENDRE_BYTES:
        raise DataValueError(
            "grid too fine for the spherical-harmonic transform",
            expected=f"Legendre table under {_MAX_LEGENDRE_BYTES >> 30} GiB",
            found=f"lmax {lmax}, {lat.size} latitudes ({nbytes >> 20} MiB)",
            hint="pass a smaller lmax or coarsen the field first",
        )
    colat = np.deg2rad(90.0 - lat)
    p = sph_legendre_p_all(lmax, lmax, colat)[0][:, : lmax + 1, :]
    dsin = cell_area_weights(lat) * 2.0 / lat.size  # sin differences of a global grid
    return p * (2 * np.pi * dsin)


def _sh_power(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    lmax = table.shape[0] - 1
    fm = np.fft.rfft(x, axis=-1, norm="forward")[..., : lmax + 1]
    coeffs = np.einsum("...jm,lmj->...lm", fm, table)
    power = np.abs(coeffs) ** 2
    power[..., 1:] *= 2.0
    return power.sum(axis=-1) / (4 * np.pi)


def sh_power_spectrum(field: xr.DataArray, lmax: int | None = None) -> xr.DataArray:
    """Spherical-harmonic power per total wavenumber ``l`` of global (lat, lon) fields.

    ``E_l`` (units^2) as in the module docstring; dims (lat, lon) become
    ``total_wavenumber`` (0..lmax, default ``min(nlat - 1, nlon // 2 - 1)``), with a
    ``wavelength`` coord ``2 pi R / sqrt(l (l + 1))`` (m; Jeans relation). Grids with or
    without pole rows; quadrature by exact cell areas, not Gauss-Legendre.
    """
    _check_global_lon(field)
    lat = field["lat"].values.astype(float)
    edges = np.sin(np.deg2rad(lat_edges(np.sort(lat))))
    if not np.isclose(edges[-1] - edges[0], 2.0, atol=1e-6):
        raise CoordinateError(
            "spherical harmonics need a global grid",
            expected="latitudes whose cells cover -90 to 90",
            found=f"{lat.min():g} to {lat.max():g}",
        )
    if lmax is None:
        lmax = min(lat.size - 1, field.sizes["lon"] // 2 - 1)
    table = _legendre_quadrature(np.sort(lat), lmax)
    ordered = field.sortby("lat")
    out = xr.apply_ufunc(
        _sh_power,
        ordered,
        kwargs={"table": table},
        input_core_dims=[["lat", "lon"]],
        output_core_dims=[["total_wavenumber"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"total_wavenumber": lmax + 1}},
    )
    ell = np.arange(lmax + 1)
    with np.errstate(divide="ignore"):
        wavelength = 2 * np.pi * EARTH_RADIUS_M / np.sqrt(ell * (ell + 1.0))
    return out.assign_coords(total_wavenumber=ell, wavelength=("total_wavenumber", wavelength))


def spectral_ratio(
    spectrum_forecast: xr.DataArray,
    spectrum_truth: xr.DataArray,
    bands: Sequence[tuple[float, float]],
    dim: str = "wavelength",
) -> xr.DataArray:
    """Power ratio forecast / truth summed within each wavelength band (m, inclusive).

    ``bands``: (shortest, longest) wavelength pairs; result dim ``band`` labelled
    ``"{lo/1e3:g}-{hi/1e3:g} km"``. 1 = right power, < 1 = too smooth. Dimensionless.
    ``dim`` is the spectra's wavelength dim, or a wavenumber dim with a ``wavelength``
    coordinate (as from :func:`sh_power_spectrum`).
    """
    wl = spectrum_truth["wavelength"]
    out = []
    for lo, hi in bands:
        inside = (wl >= lo) & (wl <= hi)
        out.append(spectrum_forecast.where(inside).sum(dim) / spectrum_truth.where(inside).sum(dim))
    labels = [f"{lo / 1e3:g}-{hi / 1e3:g} km" for lo, hi in bands]
    return xr.concat(out, dim="band").assign_coords(band=labels)


def _effective_resolution(ratio: np.ndarray, wavelength: np.ndarray, threshold: float):
    order = np.argsort(-wavelength)
    r, wl = ratio[..., order], wavelength[order]
    ok = np.isfinite(wl)
    r, wl = r[..., ok], wl[ok]
    failing = (r < threshold) | ~np.isfinite(r)
    first_fail = np.where(failing.any(-1), failing.argmax(-1), r.shape[-1])
    return np.where(first_fail > 0, wl[np.maximum(first_fail - 1, 0)], np.nan)


def effective_resolution(
    spectrum_forecast: xr.DataArray,
    spectrum_truth: xr.DataArray,
    threshold: float = 0.5,
    dim: str = "wavelength",
) -> xr.DataArray:
    """Shortest wavelength (m) down to which the forecast keeps ``threshold`` of the power.

    Scanning from long to short wavelengths, the last wavelength before the power ratio
    forecast / truth first drops below ``threshold`` (NaN if the longest already fails).
    """
    ratio = spectrum_forecast / spectrum_truth
    return xr.apply_ufunc(
        _effective_resolution,
        ratio,
        input_core_dims=[[dim]],
        kwargs={"wavelength": spectrum_truth["wavelength"].values, "threshold": threshold},
    )


def spectral_divergence(
    forecast: xr.DataArray, truth: xr.DataArray, eps: float = 1e-12
) -> xr.DataArray:
    """Time-mean of the per-sample spectral I-divergence (:func:`spectral_divergence_array`).

    Area-aware (latitudes weighted by cell area), per sample (each init_time / time), then
    averaged; 0 for a perfect spectrum, > 0 for wrong shape *or* wrong total variance.
    """
    check_pair(forecast, truth)
    _check_global_lon(forecast)
    truth = truth.assign_coords(lat=forecast["lat"], lon=forecast["lon"])
    w = latitude_weights(forecast["lat"])
    per_sample = xr.apply_ufunc(
        spectral_divergence_array,
        forecast,
        truth,
        w,
        kwargs={"eps": eps},
        input_core_dims=[["lat", "lon"], ["lat", "lon"], ["lat"]],
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    return time_mean(per_sample, forecast)
