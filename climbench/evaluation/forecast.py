"""Scoring forecasts (``init_time, lead_time, [member], lat, lon``) against a forecast task.

One lazy pass: for every target field, each dask block of the predictions (a run of init
times with all leads) becomes one task that gathers the truth and the climatology at its
valid times and reduces them to per-sample statistics (:mod:`.statistics`). All fields and
blocks are computed in a single ``dask.compute``, so each prediction chunk is read once and
nothing is recomputed (WeatherBench 2 recomputes per metric and per region). The truth and
climatology of each field are held in memory as (time, cell) arrays: for the test period
at the benchmark grids these are tens of MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.grids import cell_area_weights, is_periodic
from climbench.data.progress import progress_bar
from climbench.errors import DataValueError
from climbench.evaluation import validate
from climbench.evaluation.statistics import (
    field_statistics,
    region_weight_matrix,
    stat_names,
    vector_statistics,
)
from climbench.metrics.spectral import area_zonal_power_array
from climbench.metrics.weights import area_weights
from climbench.tasks import forecast as protocol
from climbench.tasks.spec import Field

#: init times per task when the predictions are not dask-backed (numpy in memory)
INIT_BLOCK = 16
WIND = ("10m_u_component_of_wind", "10m_v_component_of_wind")


@dataclass
class SampleStatistics:
    """Per-sample statistics of one model on one task, ready for aggregation.

    ``values[field]``: (init, lead, region, stat) float64; ``stats[field]`` names the last
    axis; ``spectra[field]``: (lead, 2, k) time-mean zonal power of forecast and truth
    (global only), when spectral scores were asked for.
    """

    sample_dim: str
    samples: np.ndarray
    leads: np.ndarray | None
    regions: list[str]
    values: dict[str, np.ndarray]
    stats: dict[str, tuple[str, ...]]
    members: int
    spectra: dict[str, np.ndarray]
    notes: list[str]


def _valid_index(inits: np.ndarray, leads: np.ndarray, truth_times: np.ndarray) -> np.ndarray:
    """(init, lead) -> position of the valid time in ``truth_times`` (all must exist)."""
    valid = inits[:, None] + leads[None, :]
    pos = np.searchsorted(truth_times, valid)
    pos = np.clip(pos, 0, truth_times.size - 1)
    if not np.array_equal(truth_times[pos], valid):
        bad = valid[truth_times[pos] != valid][0]
        raise DataValueError(
            "the truth lacks a valid time",
            variable="time",
            expected="every init + lead inside the prepared data",
            found=f"no truth at {pd.Timestamp(bad)}",
        )
    return pos


def _clim_index(valid: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = pd.DatetimeIndex(valid.ravel())
    h = np.searchsorted(hours, t.hour.to_numpy())
    return (t.dayofyear.to_numpy() - 1).reshape(valid.shape), h.reshape(valid.shape)


def _as_blocks(da: xr.DataArray) -> tuple[list, list[int]]:
    """Dask blocks along init_time (whole along the other dims) and their first index."""
    if da.chunks is None:
        da = da.chunk({"init_time": INIT_BLOCK})
    da = da.chunk({d: -1 for d in da.dims if d != "init_time"})
    starts = np.concatenate([[0], np.cumsum(da.chunks[0])[:-1]]).astype(int).tolist()
    return list(da.data.to_delayed().ravel()), starts


def _regions(task, lat: np.ndarray, lon: np.ndarray) -> tuple[list[str], np.ndarray]:
    from climbench.evaluation.regions import task_regions

    regions = task_regions(task.spec)
    weights = [np.asarray(area_weights(lat, lon, r)) for r in regions]
    return [getattr(r, "name", r) for r in regions], region_weight_matrix(weights)


def sample_statistics(pred: xr.Dataset, task, path: str = "<predictions>") -> SampleStatistics:
    """Validate ``pred`` against ``task`` and compute its per-sample statistics (lazily)."""
    spec = task.spec
    notes = validate.check_task_attrs(pred, task, path)
    template = task.template()
    lat, lon = template["lat"].values, template["lon"].values
    pred = validate.check_grid(pred, lat, lon, path)
    inits = pd.Index(template["init_time"].values)
    leads = pd.Index(template["lead_time"].values)
    extra = pred.sizes.get("init_time", 0) - len(inits)
    pred = validate.check_times(pred, "init_time", inits, path)
    pred = validate.check_times(pred, "lead_time", leads, path)
    if extra > 0:
        notes.append(f"{extra} init times outside the protocol were ignored")
    truth = task.truth()
    clim = protocol.climatology(task)
    truth_times = truth["time"].values
    valid_pos = _valid_index(inits.values, leads.values, truth_times)
    doy, hour = _clim_index(truth_times[valid_pos], clim["hour"].values)
    names, weights = _regions(task, lat, lon)
    members = int(pred.sizes.get("member", 1)) if "member" in pred.dims else 0
    spectral = "spectral_divergence" in spec.metrics and is_periodic(lon)
    lat_w = cell_area_weights(lat)
    ncell = lat.size * lon.size

    fields = {}
    for f in spec.targets:
        da = validate.field_of(pred, f, path)
        validate.check_dims(da, ("init_time", "lead_time"), path, f.name)
        validate.check_units(da, truth[f.name].attrs.get("units", ""), path, f.name)
        order = ["init_time", "lead_time", *(["member"] if members else []), "lat", "lon"]
        fields[f.name] = da.transpose(*order)

    def load_truth(name: str) -> np.ndarray:
        return np.asarray(truth[name].values, dtype=np.float32).reshape(-1, ncell)

    truths = {f.name: dask.delayed(load_truth)(f.name) for f in spec.targets}
    clims = {
        f.name: dask.delayed(
            lambda n: np.asarray(clim[n].values, np.float32).reshape(366, -1, ncell)
        )(f.name)
        for f in spec.targets
    }

    def block_stats(block, start, field: Field, truth_all, clim_all):
        n = block.shape[0]
        pos = valid_pos[start : start + n]
        y = truth_all[pos.ravel()]
        c = clim_all[doy[start : start + n].ravel(), hour[start : start + n].ravel()]
        x = block.reshape(n * block.shape[1], *block.shape[2:-2], ncell)
        if members:
            x = x if members > 1 else x[:, 0]
        stats = field_statistics(x, y, weights, c)
        spectra = None
        if spectral:
            fm = x.mean(axis=1) if x.ndim == 3 else x
            shape = (n, block.shape[1], lat.size, lon.size)
            spectra = np.stack(
                [
                    area_zonal_power_array(fm.reshape(shape), lat_w).sum(axis=0),
                    area_zonal_power_array(y.reshape(shape), lat_w).sum(axis=0),
                ],
                axis=1,
            )
        return stats.reshape(n, block.shape[1], *stats.shape[1:]), spectra

    def wind_stats(ub, vb, start, tu, tv):
        n = ub.shape[0]
        pos = valid_pos[start : start + n].ravel()
        u = ub.reshape(n * ub.shape[1], *ub.shape[2:-2], ncell)
        v = vb.reshape(n * vb.shape[1], *vb.shape[2:-2], ncell)
        if members == 1:
            u, v = u[:, 0], v[:, 0]
        out = vector_statistics(u, v, tu[pos], tv[pos], weights)
        return out.reshape(n, ub.shape[1], *out.shape[1:])

    work: dict[str, list] = {}
    for f in spec.targets:
        blocks, starts = _as_blocks(fields[f.name])
        work[f.name] = [
            dask.delayed(block_stats)(b, s, f, truths[f.name], clims[f.name])
            for b, s in zip(blocks, starts, strict=True)
        ]
    wind = "wind_vector_rmse" in spec.metrics and all(w in fields for w in WIND)
    if wind:
        ub, starts = _as_blocks(fields[WIND[0]])
        vb, _ = _as_blocks(
            fields[WIND[1]].chunk({"init_time": fields[WIND[0]].chunks[0]})
            if fields[WIND[0]].chunks
            else fields[WIND[1]]
        )
        work["10m_wind"] = [
            dask.delayed(wind_stats)(u, v, s, truths[WIND[0]], truths[WIND[1]])
            for u, v, s in zip(ub, vb, starts, strict=True)
        ]
    with progress_bar(f"scoring {path}", enabled=False):
        (computed,) = dask.compute(work)

    values, stats, spectra = {}, {}, {}
    for name, parts in computed.items():
        if name == "10m_wind":
            values[name] = np.concatenate(parts, axis=0)
            stats[name] = ("vse",)
            continue
        values[name] = np.concatenate([p[0] for p in parts], axis=0)
        stats[name] = stat_names(True, members)
        if spectral:
            spectra[name] = sum(p[1] for p in parts) / len(inits)
    _refuse_non_finite(values, stats, inits, leads, path)
    return SampleStatistics(
        "init_time", inits.values, leads.values, names, values, stats, members, spectra, notes
    )


def _refuse_non_finite(values, stats, inits, leads, path) -> None:
    for name, v in values.items():
        bad = ~np.isfinite(v).all(axis=(-2, -1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataValueError(
                "predictions contain NaN or infinite values",
                path=path,
                variable=name,
                expected="finite values everywhere",
                found=f"{int(bad.sum())} bad samples, first init {pd.Timestamp(inits[i])} "
                f"lead {pd.Timedelta(leads[j])}",
            )
