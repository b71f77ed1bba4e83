"""Per-sample statistics: the one pass over a predictions file that every score derives from.

WeatherBench-X style: for each sample (an init and lead time, or a time step) and region
the scorer computes area-weighted means of a few pointwise quantities, once, reading each
prediction value once. Every metric is then a cheap function of time means of these
statistics (see :mod:`climbench.evaluation.aggregate`), and bootstrap confidence intervals
resample the per-sample statistics instead of the data.

Statistics (area-weighted means over a region; ``f`` the forecast or ensemble mean, ``y``
the truth, ``c`` the climatology, members ``x_m``):

==========  ============================================  ==========================
``se``      ``(f - y)^2``                                 MSE, RMSE
``ae``      ``|f - y|``                                   MAE (= CRPS of one member)
``e``       ``f - y``                                     bias
``ff``      ``(f - c)^2``                                 ACC (uncentred, WB2)
``oo``      ``(y - c)^2``                                 ACC
``fo``      ``(f - c)(y - c)``                            ACC
``crps``    fair ensemble CRPS                            CRPS (ensembles)
``var``     unbiased member variance                      spread, spread-skill
``vse``     ``(u_f - u_y)^2 + (v_f - v_y)^2``             wind-vector RMSE
==========  ============================================  ==========================

Registered statistics (:class:`~climbench.metrics.scores.Statistic`: the extremes and SEEPS
families) are computed in the same blocks, after these, from the block's forecast, members
and truth and their training-split parameters at each row's valid time; each quantity's
mean leaves out the cells where it is NaN (a threshold undefined there).

Region weights are cell-area weights times the region mask, normalised to sum 1, so one
matrix product ``q @ W`` gives every region at once. Truth cells that are not finite (masked
data) are left out with their weight (the mean is renormalised per sample).

Speed: the samples are processed in blocks of a few rows (``_ROWS_BYTES`` of forecast),
so the truth and climatology rows of a block, gathered by index from arrays of the whole
verifying period (``truth_rows``, ``climatology_rows``), and every pointwise quantity stay
in the core's cache; the quantities are written into one reused float32 buffer and reduced
by matrix products with ``W``, each small enough that BLAS runs it on the calling thread.
Rows whose result is not finite (masked truth) are recomputed with the renormalised mean;
the common, unmasked case pays nothing for it. Sums are float32, as the inputs: about
1e-7 relative (at most a few 1e-7 on the 2048 cells of the 5.625-degree grid).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from climbench.metrics.probabilistic import crps_ensemble_array
from climbench.metrics.scores import Sample, Statistic

DETERMINISTIC = ("se", "ae", "e")
ANOMALY = ("ff", "oo", "fo")
ENSEMBLE = ("crps", "var")
#: bytes of forecast per block of rows: the block's inputs and quantities stay in cache
_ROWS_BYTES = 1 << 17
#: multiply-adds per matrix product, below the size at which BLAS libraries start worker
#: threads (OpenBLAS: 2^18, or 10^6 where it has small-matrix kernels); inside the dask
#: workers those threads only spin against them (measured 5 to 40 times slower on 2 cores)
_BLAS_MULTIPLY_ADDS = 1 << 18


def region_weight_matrix(weights: list[np.ndarray]) -> np.ndarray:
    """(ncell, nregion) float32 matrix of per-region weights, each column summing to 1."""
    w = np.stack([np.asarray(x, dtype=np.float64).ravel() for x in weights], axis=1)
    return (w / w.sum(axis=0, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class BoundStatistic:
    """A registered statistic with its fitted parameters for one field.

    ``parameters``: (entries, ncell) arrays of its :class:`~climbench.metrics.scores.Reference`;
    ``rows``: (samples,) the entry of each sample's valid time.
    """

    statistic: Statistic
    parameters: Mapping[str, np.ndarray]
    rows: np.ndarray


def stat_names(anomalies: bool, members: int, extra: Sequence[Statistic] = ()) -> tuple[str, ...]:
    """Statistics computed for one field (see the module table), then the quantities of the
    registered statistics ``extra``."""
    names = DETERMINISTIC + (ANOMALY if anomalies else ())
    names += ENSEMBLE if members > 1 else ()
    return names + tuple(q for st in extra for q in st.quantities)


class _Rows:
    """Rows ``s`` of an input: a slice of ``array``, or its rows ``index[s]`` gathered into a
    reused buffer (the whole verifying period is passed once, not a copy per block)."""

    def __init__(self, array: np.ndarray, index: np.ndarray | None, rows: int) -> None:
        self.array = array
        self.index = index
        self.buffer = (
            None if index is None else np.empty((rows, *array.shape[1:]), dtype=np.float32)
        )

    def __call__(self, s: slice) -> np.ndarray:
        if self.index is None:
            return np.asarray(self.array[s], dtype=np.float32)
        index = self.index[s]
        out = self.buffer[: index.size]
        if self.array.dtype == np.float32:
            return np.take(self.array, index, axis=0, out=out, mode="clip")  # unbuffered
        out[...] = self.array[index]
        return out


def _reduce(quantities: np.ndarray, valid_of, weights: np.ndarray, out: np.ndarray) -> None:
    """``out[row, region, k] = mean_w(quantities[k, row])``, renormalised where masked.

    ``quantities``: (nstat, rows, ncell) contiguous float32; ``valid_of(bad)``: the finite
    truth cells of the rows ``bad`` (a boolean row mask), called only when a row's result
    is not finite.
    """
    nstat, rows, ncell = quantities.shape
    flat = quantities.reshape(nstat * rows, ncell)
    res = np.empty((nstat * rows, weights.shape[1]), dtype=np.float32)
    step = max(1, _BLAS_MULTIPLY_ADDS // (ncell * weights.shape[1]))
    for a in range(0, flat.shape[0], step):
        np.matmul(flat[a : a + step], weights, out=res[a : a + step])
    out[...] = res.reshape(nstat, rows, -1).transpose(1, 2, 0)
    bad = ~np.isfinite(out).all(axis=(1, 2))
    if bad.any():
        valid = valid_of(bad)
        denom = valid.astype(np.float32) @ weights
        for k in range(nstat):
            q = np.where(valid, quantities[k, bad], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[bad, :, k] = q @ weights / denom


def field_statistics(
    forecast: np.ndarray,
    truth: np.ndarray,
    weights: np.ndarray,
    climatology: np.ndarray | None = None,
    *,
    truth_rows: np.ndarray | None = None,
    climatology_rows: np.ndarray | None = None,
    extra: Sequence[BoundStatistic] = (),
) -> np.ndarray:
    """Per-sample, per-region statistics of one field.

    Args:
        forecast: (samples, [members,] ncell) float32; with a members axis it is an
            ensemble (``forecast.ndim == 3``).
        truth: (samples, ncell), or (times, ncell) with ``truth_rows``.
        weights: (ncell, nregion) from :func:`region_weight_matrix`.
        climatology: (samples, ncell), or (entries, ncell) with ``climatology_rows``, or
            None (no anomaly statistics).
        truth_rows, climatology_rows: (samples,) the row of ``truth`` / ``climatology`` of
            each sample. A scorer passes the whole verifying period and climatology once
            instead of copying them at the valid times of every block.
        extra: registered statistics to compute too, with their parameters.

    Returns:
        (samples, nregion, nstat) float64, statistics ordered as :func:`stat_names`.
    """
    ensemble = forecast.ndim == 3
    members = forecast.shape[1] if ensemble else 1
    nsample, ncell = forecast.shape[0], forecast.shape[-1]
    nstat = len(stat_names(climatology is not None, members))
    nextra = sum(len(b.statistic.quantities) for b in extra)
    out = np.empty((nsample, weights.shape[1], nstat + nextra), dtype=np.float64)
    rows = max(1, _ROWS_BYTES // (4 * ncell * members))
    weights = np.asarray(weights, dtype=np.float32)
    get_y = _Rows(truth, truth_rows, rows)
    get_c = None if climatology is None else _Rows(climatology, climatology_rows, rows)
    qbuf = np.empty(max(nstat, nextra) * rows * ncell, dtype=np.float32)
    fbuf = np.empty((rows, ncell), dtype=np.float32) if ensemble else None
    for start in range(0, nsample, rows):
        s = slice(start, min(start + rows, nsample))
        n = s.stop - s.start
        x = np.asarray(forecast[s], dtype=np.float32)
        y = get_y(s)
        f = np.mean(x, axis=1, out=fbuf[:n]) if ensemble else x
        q = qbuf[: nstat * n * ncell].reshape(nstat, n, ncell)
        _pointwise(f, y, None if get_c is None else get_c(s), q)
        if ensemble:
            q[-2] = crps_ensemble_array(x, y, axis=1)
            q[-1] = x.var(axis=1, ddof=1)
        _reduce(q, lambda bad, y=y: np.isfinite(y[bad]), weights, out[s, :, :nstat])
        if extra:
            q = qbuf[: nextra * n * ncell].reshape(nextra, n, ncell)
            _registered(extra, s, f, x if ensemble else None, y, q)
            _reduce_skipping_nan(q, weights, out[s, :, nstat:])
    return out


def _registered(
    extra: Sequence[BoundStatistic],
    s: slice,
    f: np.ndarray,
    members: np.ndarray | None,
    y: np.ndarray,
    q: np.ndarray,
) -> None:
    """The quantities of the registered statistics of the rows ``s`` into ``q``."""
    k = 0
    for bound in extra:
        entries = bound.rows[s]
        parameters = {name: p[entries] for name, p in bound.parameters.items()}
        nq = len(bound.statistic.quantities)
        bound.statistic.pointwise(Sample(f, members, y, parameters), q[k : k + nq])
        k += nq


def _reduce_skipping_nan(quantities: np.ndarray, weights: np.ndarray, out: np.ndarray) -> None:
    """``out[row, region, k]``: the weighted mean of ``quantities[k, row]`` over the cells
    where that quantity is finite (NaN when it is nowhere finite in the region)."""
    for k, q in enumerate(quantities):
        valid = np.isfinite(q)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, :, k] = (np.where(valid, q, 0.0) @ weights) / (
                valid.astype(np.float32) @ weights
            )


def _pointwise(f: np.ndarray, y: np.ndarray, c: np.ndarray | None, q: np.ndarray) -> None:
    """The deterministic and anomaly quantities into ``q[0:6]`` (order of ``stat_names``)."""
    np.subtract(f, y, out=q[2])
    np.multiply(q[2], q[2], out=q[0])
    np.abs(q[2], out=q[1])
    if c is not None:
        np.subtract(f, c, out=q[5])  # f - c
        np.multiply(q[5], q[5], out=q[3])
        np.subtract(y, c, out=q[4])  # y - c
        np.multiply(q[5], q[4], out=q[5])
        np.multiply(q[4], q[4], out=q[4])


def vector_statistics(
    u_forecast: np.ndarray,
    v_forecast: np.ndarray,
    u_truth: np.ndarray,
    v_truth: np.ndarray,
    weights: np.ndarray,
    *,
    truth_rows: np.ndarray | None = None,
) -> np.ndarray:
    """(samples, nregion, 1) wind-vector squared error ``vse`` (ensemble means if 3-D).

    ``truth_rows``: the row of ``u_truth`` and ``v_truth`` of each sample (see
    :func:`field_statistics`).
    """
    ensemble = u_forecast.ndim == 3
    nsample, ncell = u_forecast.shape[0], u_forecast.shape[-1]
    out = np.empty((nsample, weights.shape[1], 1), dtype=np.float64)
    rows = max(1, _ROWS_BYTES // (4 * ncell))
    weights = np.asarray(weights, dtype=np.float32)
    get_u, get_v = _Rows(u_truth, truth_rows, rows), _Rows(v_truth, truth_rows, rows)
    qbuf = np.empty(2 * rows * ncell, dtype=np.float32)
    for start in range(0, nsample, rows):
        s = slice(start, min(start + rows, nsample))
        n = s.stop - s.start
        uf, vf = (np.asarray(a[s], dtype=np.float32) for a in (u_forecast, v_forecast))
        if ensemble:
            uf, vf = uf.mean(axis=1), vf.mean(axis=1)
        q = qbuf[: n * ncell].reshape(1, n, ncell)
        dv = qbuf[n * ncell : 2 * n * ncell].reshape(n, ncell)
        np.subtract(uf, get_u(s), out=q[0])
        np.multiply(q[0], q[0], out=q[0])
        np.subtract(vf, get_v(s), out=dv)
        np.multiply(dv, dv, out=dv)
        np.add(q[0], dv, out=q[0])
        _reduce(q, lambda bad, q=q: np.isfinite(q[0, bad]), weights, out[s])
    return out
