"""Random-field machinery: red spatial noise and advected, decaying AR(1) anomaly fields.

Spectral synthesis on a lat-lon grid
------------------------------------
A field on ``nlat x nlon`` cells is the first ``nlat`` rows of a field that is periodic in
both directions on a ``M = 2 nlat`` by ``nlon`` index domain (the latitude axis is extended
to a full 360-degree circle so that the FFT sees no seam). Its 2-D Fourier coefficients are
complex white noise times the amplitude filter

    F(ky, kx) = (ky**2 + kx**2 + k0**2) ** (-gamma / 4),

with ``kx`` the zonal wavenumber (cycles per 360 degrees of longitude) and ``ky`` the
meridional one (cycles per 360 degrees of the extended latitude circle), so the filter is
defined in physical wavenumbers and gives the same large scales on every grid. The 2-D
power spectrum falls as ``kappa**-gamma`` above ``k0``; the zonal (1-D) spectrum along a
latitude circle then falls as ``kx**-(gamma - 1)``: ``gamma = 4`` gives the ``k**-3`` of
synoptic-scale geopotential.

Anomalies that propagate and decay
----------------------------------
A time-varying latent field is kept as its zonal Fourier coefficients ``S(lat, kx)`` and
stepped every ``dt`` as

    S_t = phi(kx) * exp(-i kx omega(lat) dt) * S_{t-1} + sqrt(1 - phi(kx)**2) * E_t,

where ``E_t`` are the zonal coefficients of a fresh red-noise field (above),
``phi(kx) = exp(-dt / tau(kx))`` with ``tau(kx) = tau / (1 + kx / 10)`` (large scales
persist longer), and ``omega(lat) = U(lat) / (R cos lat)`` the angular speed of the mean
zonal wind ``U`` (westerly jets near 45 degrees, weak tropical easterlies): the phase factor
moves anomalies east without changing their shape. The process is stationary with unit
variance at every cell (the filter is normalised analytically, :func:`unit_scale`), its
lagged autocorrelation at a fixed point decays as ``phi**lag`` times the advective
decorrelation, i.e. over days.

Everything is float32 / complex64 and vectorised over a block of time steps; only the AR
recursion loops in Python, over arrays of a few thousand complex numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_000.0


def amplitude_filter(nlat: int, nlon: int, gamma: float, k0: float) -> np.ndarray:
    """``F(ky, kx)`` of shape ``(2 nlat, nlon // 2 + 1)`` for the extended domain."""
    ky = np.fft.fftfreq(2 * nlat, d=1.0 / (2 * nlat))
    kx = np.fft.rfftfreq(nlon, d=1.0 / nlon)
    return (ky[:, None] ** 2 + kx[None, :] ** 2 + k0**2) ** (-gamma / 4.0)


def unit_scale(filt: np.ndarray, nlon: int) -> float:
    """Factor that gives unit point variance to ``irfft(ifft(Z * filt)[:nlat])``.

    With circular complex white noise ``Z`` (E|Z|^2 = 1) the zonal coefficient of each row
    has ``E|S_k|^2 = sum_ky filt**2 / M**2``; ``irfft`` over ``N = nlon`` points then gives
    ``var = (E|S_0|^2 / 2 + 2 sum_{0<k<N/2} E|S_k|^2 + E|S_{N/2}|^2 / 2) / N**2``.
    """
    m = filt.shape[0]
    power = (filt.astype(float) ** 2).sum(axis=0) / m**2
    weights = np.full(power.size, 2.0)
    weights[0] = 0.5
    if nlon % 2 == 0:
        weights[-1] = 0.5
    return float(1.0 / np.sqrt((weights * power).sum() / nlon**2))


def _complex_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Circular complex standard normal noise (E|Z|^2 = 1), complex64."""
    parts = rng.standard_normal((*shape, 2), dtype=np.float32)
    parts *= np.float32(np.sqrt(0.5))
    return parts.view(np.complex64)[..., 0]


def zonal_coefficients(
    rng: np.random.Generator, filters: np.ndarray, nsteps: int, nlat: int
) -> np.ndarray:
    """Zonal Fourier coefficients ``(nfield, nsteps, nlat, nkx)`` of fresh red-noise fields.

    ``filters`` has shape ``(nfield, 2 nlat, nkx)`` (already times :func:`unit_scale`).
    """
    nfield, m, nkx = filters.shape
    spectrum = _complex_noise(rng, (nfield, nsteps, m, nkx)) * filters[:, None]
    return np.fft.ifft(spectrum, axis=2)[:, :, :nlat, :].astype(np.complex64)


def red_noise(
    rng: np.random.Generator, nlat: int, nlon: int, gamma: float, k0: float
) -> np.ndarray:
    """One static unit-variance red-noise field ``(nlat, nlon)`` (float64)."""
    filt = amplitude_filter(nlat, nlon, gamma, k0)
    filt = filt * unit_scale(filt, nlon)
    coeffs = zonal_coefficients(rng, filt[None].astype(np.float32), 1, nlat)
    return np.fft.irfft(coeffs[0, 0].astype(np.complex128), n=nlon, axis=-1)


def jet_wind(lat: np.ndarray) -> np.ndarray:
    """Mean steering-level zonal wind ``U(lat)`` in m s-1: westerly jets, tropical easterlies."""
    alat = np.abs(lat)
    return 14.0 * np.exp(-(((alat - 45.0) / 16.0) ** 2)) - 4.0 * np.exp(-((lat / 15.0) ** 2))


@dataclass(frozen=True)
class LatentSpec:
    """One latent anomaly field: spectral shape, e-folding time, and advection on/off."""

    name: str
    gamma: float
    k0: float
    tau_days: float
    advected: bool = True


class LatentFields:
    """A stack of advected AR(1) red-noise fields on a grid, stepped in blocks.

    ``state`` is the ``(nfield, nlat, nkx)`` complex64 array of zonal coefficients at the
    last step; :meth:`initial_state` draws it from the stationary distribution.
    """

    def __init__(
        self, specs: tuple[LatentSpec, ...], lat: np.ndarray, nlon: int, dt_hours: float
    ) -> None:
        self.specs = specs
        self.nlat, self.nlon = lat.size, nlon
        filters = []
        for spec in specs:
            filt = amplitude_filter(self.nlat, nlon, spec.gamma, spec.k0)
            filters.append(filt * unit_scale(filt, nlon))
        self.filters = np.stack(filters).astype(np.float32)
        kx = np.fft.rfftfreq(nlon, d=1.0 / nlon)
        dt_s = dt_hours * 3600.0
        omega = jet_wind(lat) / (EARTH_RADIUS_M * np.cos(np.deg2rad(lat)))  # rad s-1
        coef, innov = [], []
        for spec in specs:
            tau = spec.tau_days * 86400.0 / (1.0 + kx / 10.0)
            phi = np.exp(-dt_s / tau)
            phase = np.exp(-1j * kx[None, :] * omega[:, None] * dt_s * spec.advected)
            coef.append(phi[None, :] * phase)
            innov.append(np.broadcast_to(np.sqrt(1.0 - phi**2), (self.nlat, kx.size)))
        self.coef = np.stack(coef).astype(np.complex64)
        self.innovation_scale = np.stack(innov).astype(np.float32)

    def initial_state(self, rng: np.random.Generator) -> np.ndarray:
        """A draw from the stationary distribution, ``(nfield, nlat, nkx)``."""
        return zonal_coefficients(rng, self.filters, 1, self.nlat)[:, 0]

    def advance(
        self, rng: np.random.Generator, state: np.ndarray, nsteps: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Step ``nsteps`` times: ``(coefficients (nfield, nsteps, nlat, nkx), new state)``."""
        innovations = zonal_coefficients(rng, self.filters, nsteps, self.nlat)
        innovations *= self.innovation_scale[:, None]
        out = np.empty_like(innovations)
        current = state.copy()
        coef = self.coef
        for t in range(nsteps):
            current *= coef
            current += innovations[:, t]
            out[:, t] = current
        return out, current

    def to_grid(self, coefficients: np.ndarray) -> np.ndarray:
        """Real fields ``(nfield, nsteps, nlat, nlon)`` float32 from zonal coefficients."""
        return np.fft.irfft(coefficients, n=self.nlon, axis=-1).astype(np.float32)
