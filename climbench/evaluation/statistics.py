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

The reduction is the metrics API's engine, :func:`climbench.metrics._reduce.block_means`:
the samples are processed in blocks of a few rows (``_ROWS_BYTES`` of forecast), so the
truth and climatology rows of a block, gathered by index from arrays of the whole verifying
period (``truth_rows``, ``climatology_rows``), and every pointwise quantity stay in the
core's cache; each quantity is reduced by a matrix product with ``W``. Rows whose result is
not finite (masked truth) are recomputed with the mean renormalised over the truth's finite
cells; the common, unmasked case pays nothing for it. Sums are float32, as the
inputs: about 1e-7 relative (at most a few 1e-7 on the 2048 cells of the 5.625-degree grid).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from climbench.metrics._reduce import block_means
from climbench.metrics.deterministic import vector_squared_error
from climbench.metrics.layout import GatheredRows
from climbench.metrics.probabilistic import crps_ensemble_array
from climbench.metrics.scores import Sample, Statistic

DETERMINISTIC = ("se", "ae", "e")
ANOMALY = ("ff", "oo", "fo")
ENSEMBLE = ("crps", "var")
#: bytes of forecast per block of rows: the block's inputs and quantities stay in cache
_ROWS_BYTES = 1 << 17


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


def _cells(array: np.ndarray, rows: np.ndarray | None, nsample: int):
    """A (samples, [members,] ncell) input as the engine reads it, (samples, ..., 1, ncell);
    with ``rows``, the rows ``rows[:nsample]`` of ``array`` picked block by block (the whole
    verifying period is passed once, not a copy per block)."""
    shaped = array.reshape(*array.shape[:-1], 1, array.shape[-1])
    if rows is None:
        return shaped
    return GatheredRows([shaped], np.asarray(rows[:nsample]), np.array([0, array.shape[0]]))


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
    nsample = forecast.shape[0]
    anomalies = climatology is not None
    names = stat_names(anomalies, members, [b.statistic for b in extra])
    extra_quantities = [q for b in extra for q in b.statistic.quantities]
    inputs = [_cells(forecast, None, nsample), _cells(truth, truth_rows, nsample)]
    if anomalies:
        inputs.append(_cells(climatology, climatology_rows, nsample))
    for bound in extra:
        inputs += [_cells(p, bound.rows, nsample) for p in bound.parameters.values()]

    def pointwise(blocks, scratch):
        return _quantities(blocks, scratch, anomalies, ensemble, extra)

    return block_means(
        pointwise,
        len(names),
        inputs,
        weights,
        threads=False,  # the scorers run blocks or fields in parallel themselves
        members=ensemble,
        shared_cells=len(names) - len(extra_quantities),
        cells_of=1,  # the truth's finite cells
        block_elements=_ROWS_BYTES // 4,
    )


def _quantities(blocks, scratch, anomalies: bool, ensemble: bool, extra) -> list[np.ndarray]:
    """The statistics of one block, ordered as :func:`stat_names` (the module table), then
    the quantities of the registered statistics ``extra``."""
    x, y, *rest = blocks
    c = rest.pop(0) if anomalies else None
    f = np.mean(x, axis=1, out=scratch(0)) if ensemble else x
    q = scratch(1, len(DETERMINISTIC) + len(ANOMALY) * anomalies + len(ENSEMBLE) * ensemble)
    _pointwise(f, y, c, q)
    if ensemble:
        q[-2] = crps_ensemble_array(x, y, axis=1)
        q[-1] = x.var(axis=1, ddof=1)
    out = list(q)
    if extra:
        r = scratch(2, sum(len(b.statistic.quantities) for b in extra))
        blocks_of_parameters = iter(rest)  # each statistic's parameters, in order
        k = 0
        for bound in extra:
            parameters = {name: next(blocks_of_parameters) for name in bound.parameters}
            nq = len(bound.statistic.quantities)
            sample = Sample(f, x if ensemble else None, y, parameters)
            bound.statistic.pointwise(sample, r[k : k + nq])
            k += nq
        out += list(r)
    return out


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
    if u_forecast.ndim == 3:
        u_forecast, v_forecast = u_forecast.mean(axis=1), v_forecast.mean(axis=1)
    nsample = u_forecast.shape[0]
    inputs = [_cells(a, None, nsample) for a in (u_forecast, v_forecast)]
    inputs += [_cells(a, truth_rows, nsample) for a in (u_truth, v_truth)]
    return block_means(
        lambda blocks, scratch: [vector_squared_error(*blocks)],
        1,
        inputs,
        weights,
        threads=False,
        block_elements=_ROWS_BYTES // 4,
    )
