"""Probabilistic scores for ensembles and Gaussian forecasts.

Conventions:
- ``member`` is the ensemble dim (``member_dim=`` to change it); truth has no member dim.
- CRPS uses the *fair* estimator by default (Ferro 2014; Zamo & Naveau 2018), which is
  unbiased for the CRPS of the distribution the M members are drawn from; ``fair=False``
  gives the classic (biased) empirical-distribution CRPS. Both are computed in
  O(M log M) per point from the sorted members (the probability-weighted-moment form)::

      CRPS = mean_i |x_i - y| - sum_i (2 i - M - 1) x_(i) / D,   D = M (M - 1) fair, M^2 not

  with ``x_(1) <= ... <= x_(M)``. NaN members are dropped point by point (M counts the
  finite ones); with M = 1 the spread term is 0 and CRPS = MAE.
- Spatial and time means follow :mod:`climbench.metrics.deterministic` (area-weighted,
  NaN-aware, per lead time / level / region).
- Spread-skill: ``sqrt((M + 1) / M) * spread / RMSE(ensemble mean)`` with
  ``spread = sqrt(mean_t mean_w var_members)`` (unbiased member variance); it is 1 for a
  reliable ensemble (Fortin et al. 2014, WB2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import dask.array as dsa
import numpy as np
import xarray as xr

from climbench.metrics._reduce import area_mean, per_region, pool_map, spatial_means, time_mean
from climbench.metrics._xp import namespace
from climbench.metrics.deterministic import _prepare, rmse
from climbench.metrics.layout import check_member_dim, sample_dims
from climbench.metrics.weights import Region

Field = xr.DataArray | xr.Dataset
RegionArg = str | Region | Iterable[str | Region]
_CRPS_ROWS = 4096  # points per block in the numpy CRPS kernel (4096 x 50 float32 = 800 kB)
_PAIRWISE_MEMBERS = 12  # up to this many members, CRPS from member pairs (see _crps_pairwise)


# -- array formulas (numpy or torch; members on the last axis) --------------------------


def crps_from_sorted(sorted_members, obs, fair: bool = True):
    """CRPS per point from members sorted ascending on the last axis (NaN last).

    Formula in the module docstring; units of the variable. Reference: Zamo & Naveau
    (2018), Math. Geosci. 50, eq. (5) (PWM form) and Ferro (2014) for the fair version.
    """
    xp = namespace(sorted_members, obs)
    n = sorted_members.shape[-1]
    rank = xp.arange(1, n + 1, like=sorted_members)
    ones = rank * 0.0 + 1.0  # row sums as matrix-vector products: fast for short rows
    d = sorted_members - obs[..., None]  # CRPS is shift-invariant: y as origin keeps float32 exact
    if not bool(xp.isnan(d[..., -1]).any()):  # no NaN member (NaN sorts last), no NaN obs
        d0, m = d, float(n)
    else:
        valid = ~xp.isnan(d)
        d0 = xp.where(valid, d, 0.0)
        m = (valid * 1.0) @ ones
    weighted = 2.0 * (d0 @ rank) - (m + 1.0) * (d0 @ ones)
    denom = m * (m - 1.0) if fair else m * m
    if isinstance(m, float):
        spread = weighted / denom if n > 1 else 0.0 * weighted
    else:  # one member or fewer: no spread term (CRPS = MAE); none: NaN from 0 / 0 below
        spread = xp.where(m > 1.0, weighted / xp.where(m > 1.0, denom, 1.0), 0.0)
    return (xp.abs(d0) @ ones) / m - spread


def _crps_pairwise(members: np.ndarray, obs: np.ndarray, dtype, fair: bool) -> np.ndarray:
    """CRPS from all member pairs, members on axis 0 (a view, never moved to the last axis
    and copied): ``mean_i |x_i - y| - sum_{i<j} |x_i - x_j| / D``, the same number as the
    sorted form (``sum_i (2 i - M - 1) x_(i) = sum_{i<j} |x_i - x_j|``) in O(M^2) per point.
    About ten times faster than sorting for 4 members; break-even near 16 (measured on
    2048-cell fields). A NaN member makes the point NaN (the caller then sorts)."""
    m = members.shape[0]
    y = np.asarray(obs, dtype=dtype)
    out = np.abs(np.subtract(members[0], y, dtype=dtype))
    tmp = np.empty_like(out)
    for i in range(1, m):
        out += np.abs(np.subtract(members[i], y, out=tmp, dtype=dtype), out=tmp)
    out /= m
    spread = np.zeros_like(out)
    for i in range(m):
        for j in range(i + 1, m):
            spread += np.abs(np.subtract(members[i], members[j], out=tmp, dtype=dtype), out=tmp)
    out -= spread / (m * (m - 1) if fair else m * m)
    return out


def crps_ensemble_array(forecast, obs, axis: int = -1, fair: bool = True):
    """Ensemble CRPS per point for numpy arrays or torch tensors (members along ``axis``).

    Differentiable in torch (sorting is piecewise linear). numpy inputs with up to
    ``_PAIRWISE_MEMBERS`` members use the pairwise form (:func:`_crps_pairwise`), others are
    sorted in cache-sized blocks on all cores (inline when already on the shared pool).
    """
    xp = namespace(forecast, obs)
    x = xp.moveaxis(forecast, axis, -1)
    if xp.name == "torch":
        return crps_from_sorted(xp.sort(x, axis=-1), obs, fair)
    obs = np.asarray(obs)
    shape = np.broadcast_shapes(x.shape[:-1], obs.shape)
    dtype = np.result_type(x.dtype, obs.dtype, np.float32)
    if 1 < x.shape[-1] <= _PAIRWISE_MEMBERS:
        out = _crps_pairwise(np.moveaxis(forecast, axis, 0), obs, dtype, fair)
        if not np.isnan(out).any() or not (np.isnan(out) & ~np.isnan(obs)).any():
            return out  # else a NaN member: the sorted path below drops it point by point
    x2 = np.broadcast_to(x, (*shape, x.shape[-1])).reshape(-1, x.shape[-1])
    y1 = np.broadcast_to(obs, shape).reshape(-1)
    out = np.empty(y1.shape, dtype=dtype)

    def run(start: int) -> None:
        stop = min(start + _CRPS_ROWS, y1.size)
        block = np.sort(np.asarray(x2[start:stop], dtype=dtype), axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN where all is NaN
            out[start:stop] = crps_from_sorted(block, y1[start:stop].astype(dtype), fair)

    starts = range(0, y1.size, _CRPS_ROWS)
    if len(starts) > 1:
        pool_map(run, starts)
    else:
        for s in starts:
            run(s)
    return out.reshape(shape)


def crps_gaussian_array(mean, std, obs):
    """CRPS of N(mean, std^2) at ``obs``: ``s [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]``.

    ``z = (obs - mean) / std``; units of the variable. Reference: Gneiting et al. (2005),
    Mon. Wea. Rev. 133, eq. (5). CRPS(N(1, 1), 1.02) = 0.23385455.
    """
    xp = namespace(mean, std, obs)
    z = (obs - mean) / std
    cdf = 0.5 * (1.0 + xp.erf(z / math.sqrt(2.0)))
    pdf = xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return std * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))


def energy_score_array(forecast, obs, weights=None, fair: bool = True):
    """Energy score per sample: members on axis -2, flattened field on axis -1.

    ``ES = mean_i ||x_i - y|| - sum_{i != j} ||x_i - x_j|| / (2 M (M - 1))`` (fair, all
    pairs, unbiased) or ``/ (2 M^2)`` (``fair=False``), with ``||v||^2 = sum_c w_c v_c^2``
    (Euclidean when ``weights`` is None). Pairwise distances come from the weighted Gram
    matrix. Units of the variable. Reference: Gneiting & Raftery (2007), JASA 102, eq. (22).
    """
    xp = namespace(forecast, obs, weights)
    w = 1.0 if weights is None else weights[..., None, :]  # broadcast over members
    m = forecast.shape[-2]
    d = forecast - obs[..., None, :]
    skill = xp.mean(xp.sqrt(xp.sum(w * d * d, axis=-1)), axis=-1)
    gram = (forecast * w) @ xp.moveaxis(forecast, -1, -2)
    diag = xp.sum(forecast * w * forecast, axis=-1)
    sq = diag[..., :, None] + diag[..., None, :] - 2.0 * gram
    dist = xp.sqrt(xp.maximum(sq, 0.0 * sq))
    denom = 2.0 * m * (m - 1) if fair else 2.0 * m * m
    return skill - xp.sum(dist, axis=(-2, -1)) / denom


def brier_array(forecast, obs, threshold, axis: int = -1):
    """``(p - o)^2`` with ``p`` = fraction of finite members above ``threshold``, ``o = [y > t]``.

    Dimensionless, in [0, 1]. Reference: Brier (1950), Mon. Wea. Rev. 78.
    """
    xp = namespace(forecast, obs)
    x = xp.moveaxis(forecast, axis, -1)
    valid = ~xp.isnan(x)
    p = xp.sum(valid & (x > threshold), axis=-1) / xp.sum(valid, axis=-1)
    o = (obs > threshold) * 1.0
    return xp.where(xp.isnan(obs), obs, (p - o) ** 2)


def rank_array(forecast, obs, uniform, axis: int = -1):
    """Rank of ``obs`` among the members, 0..M, ties broken by ``uniform`` in [0, 1).

    ``rank = #(x < y) + floor(u (#(x == y) + 1))`` (Hamill 2001, random tie breaking).
    """
    x = np.moveaxis(np.asarray(forecast), axis, -1)
    y = np.asarray(obs)[..., None]
    below = np.sum(x < y, axis=-1)
    ties = np.sum(x == y, axis=-1)
    return below + np.floor(np.asarray(uniform) * (ties + 1)).astype(below.dtype)


# -- xarray entry points ------------------------------------------------------------------


def _reduce_field(field: Field, like: Field, region, mask, spatial_mean: bool) -> Field:
    if not spatial_mean:
        return time_mean(field, like)
    return time_mean(area_mean(field, region=region, mask=mask), like)


def crps_ensemble_pointwise(
    forecast: Field, truth: Field, member_dim: str = "member", fair: bool = True
) -> Field:
    """Ensemble CRPS at every point (no averaging); lazy for dask inputs."""
    check_member_dim(forecast, member_dim)
    truth = _prepare(forecast, truth)
    return xr.apply_ufunc(
        crps_ensemble_array,
        forecast,
        truth,
        input_core_dims=[[member_dim], []],
        kwargs={"fair": fair},
        dask="parallelized",
        output_dtypes=[np.float32],
    )


def crps_ensemble(
    forecast: Field,
    truth: Field,
    *,
    member_dim: str = "member",
    fair: bool = True,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Ensemble CRPS, area-weighted and time-mean (units of the variable).

    Fair estimator by default (``fair=False``: classic). See the module docstring for the
    formula; ``spatial_mean=False`` returns the time-mean CRPS map.
    """
    if not spatial_mean:
        return time_mean(crps_ensemble_pointwise(forecast, truth, member_dim, fair), forecast)
    check_member_dim(forecast, member_dim)
    truth = _prepare(forecast, truth)

    def pointwise(blocks, scratch):
        members, obs = blocks
        return [crps_ensemble_array(members, obs, axis=1, fair=fair)]

    def compute(w):
        (per_sample,) = spatial_means(pointwise, [forecast, truth], w, ["crps"], member_dim)
        return time_mean(per_sample, forecast)

    # one pass: the CRPS of each block is reduced while in cache, never stored as a field
    return per_region(compute, forecast, region, mask, together=True)


def crps_gaussian(
    mean: Field,
    std: Field,
    truth: Field,
    *,
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """CRPS of Gaussian forecasts N(mean, std^2) (:func:`crps_gaussian_array`), averaged."""
    truth = _prepare(mean, truth)
    field = crps_gaussian_array(mean, std.assign_coords(lat=mean["lat"], lon=mean["lon"]), truth)
    return _reduce_field(field, mean, region, mask, spatial_mean)


def crps_skill_score(crps_forecast: Field, crps_reference: Field) -> Field:
    """CRPSS ``1 - CRPS_forecast / CRPS_reference`` (1 perfect, 0 no better than reference)."""
    return 1.0 - crps_forecast / crps_reference


def ensemble_spread(
    forecast: Field,
    *,
    member_dim: str = "member",
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """``sqrt(mean_t mean_w var_m(x))`` with the unbiased (ddof=1) member variance (units)."""
    check_member_dim(forecast, member_dim)
    variance = forecast.var(member_dim, ddof=1)
    return np.sqrt(_reduce_field(variance, forecast, region, mask, spatial_mean))


def ensemble_mean_rmse(
    forecast: Field,
    truth: Field,
    *,
    member_dim: str = "member",
    region: RegionArg = "global",
    mask=None,
) -> Field:
    """RMSE of the ensemble mean, ``sqrt(mean_t mean_w (mean_m x - y)^2)`` (units)."""
    check_member_dim(forecast, member_dim)
    return rmse(forecast.mean(member_dim), truth, region=region, mask=mask)


def spread_skill_ratio(
    forecast: Field,
    truth: Field,
    *,
    member_dim: str = "member",
    region: RegionArg = "global",
    mask=None,
) -> Field:
    """``sqrt((M + 1) / M) * spread / RMSE(ensemble mean)``; near 1 for a reliable ensemble.

    The factor corrects for the finite ensemble: the ensemble-mean error of a reliable
    M-member ensemble has variance ``(M + 1) / M`` times the member variance.
    Reference: Fortin et al. (2014), J. Hydrometeor. 15; WeatherBench 2.
    """
    check_member_dim(forecast, member_dim)
    m = forecast.sizes[member_dim]
    spread = ensemble_spread(forecast, member_dim=member_dim, region=region, mask=mask)
    skill = ensemble_mean_rmse(forecast, truth, member_dim=member_dim, region=region, mask=mask)
    return math.sqrt((m + 1) / m) * spread / skill


def rank_histogram(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    *,
    member_dim: str = "member",
    seed: int = 0,
    region: RegionArg = "global",
    mask=None,
) -> xr.DataArray:
    """Relative frequency of the truth's rank among the members (dim ``rank``, 0..M).

    Ranks over all samples and cells of the region with cell-area weights (sum 1 per lead
    time / level); ties (e.g. zero precipitation) broken at random with a seeded generator
    (Hamill 2001). Flat for a reliable ensemble, U-shaped when under-dispersed.
    """
    check_member_dim(forecast, member_dim)
    truth = _prepare(forecast, truth)
    m = forecast.sizes[member_dim]
    truth_b, _ = xr.broadcast(truth, forecast.isel({member_dim: 0}, drop=True))
    if truth_b.chunks:
        rng = dsa.random.default_rng(seed)
        u = rng.random(truth_b.shape, chunks=truth_b.data.chunks)
    else:
        u = np.random.default_rng(seed).random(truth_b.shape)
    uniform = truth_b.copy(data=u)
    ranks = xr.apply_ufunc(
        rank_array,
        forecast,
        truth_b,
        uniform,
        input_core_dims=[[member_dim], [], []],
        dask="parallelized",
        output_dtypes=[np.int64],
    )
    onehot = (ranks == xr.DataArray(np.arange(m + 1), dims="rank")).astype(np.float32)
    reduce_dims = [*sample_dims(forecast)]

    def compute(w):
        weighted = (onehot * w).sum([*reduce_dims, "lat", "lon"])
        return weighted / weighted.sum("rank")

    return per_region(compute, forecast, region, mask).assign_coords(rank=np.arange(m + 1))


def energy_score(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    *,
    member_dim: str = "member",
    fair: bool = True,
    region: RegionArg = "global",
    mask=None,
) -> xr.DataArray:
    """Energy score over the (lat, lon) field of each sample, averaged over time.

    :func:`energy_score_array` with area weights (cell area x region x mask, mean 1 over
    the grid) in the norm; fair (all pairs, unbiased) by default. Units of the variable.
    Cells where the truth or any member is non-finite are left out of the norm.
    """
    check_member_dim(forecast, member_dim)
    truth = _prepare(forecast, truth)

    def per_sample(x, y, w):
        flat_x = x.reshape(*x.shape[:-2], -1)
        flat_y = y.reshape(*y.shape[:-2], -1)
        finite = np.isfinite(flat_y) & np.isfinite(flat_x).all(axis=-2)
        wf = np.where(finite, w.reshape(-1), 0.0)
        return energy_score_array(
            np.where(finite[..., None, :], flat_x, 0.0), np.where(finite, flat_y, 0.0), wf, fair
        )

    def compute(w):
        w = w / w.mean()
        es = xr.apply_ufunc(
            per_sample,
            forecast,
            truth,
            w,
            input_core_dims=[[member_dim, "lat", "lon"], ["lat", "lon"], ["lat", "lon"]],
            dask="parallelized",
            output_dtypes=[np.float64],
        )
        return time_mean(es, forecast)

    return per_region(compute, forecast, region, mask)


def brier_score(
    forecast: Field,
    truth: Field,
    threshold,
    *,
    member_dim: str = "member",
    region: RegionArg = "global",
    mask=None,
    spatial_mean: bool = True,
) -> Field:
    """Brier score of the event ``value > threshold`` (:func:`brier_array`), averaged.

    ``threshold``: a number or a DataArray (e.g. with a ``threshold`` dim, or per-cell
    climatological quantiles). Dimensionless.
    """
    check_member_dim(forecast, member_dim)
    truth = _prepare(forecast, truth)
    field = xr.apply_ufunc(
        brier_array,
        forecast,
        truth,
        threshold,
        input_core_dims=[[member_dim], [], []],
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    return _reduce_field(field, forecast, region, mask, spatial_mean)
