"""Scoring forecasts (``init_time, lead_time, [member], lat, lon``) against a forecast task.

One lazy pass: each dask block of the predictions (a run of init times with all leads, the
same inits for every field) becomes one task that reduces every field of those inits to
per-sample statistics (:mod:`.statistics`), picking the truth and the climatology at each
valid time by index. All blocks are computed in a single ``dask.compute``, so each
prediction chunk is read once and nothing is recomputed (WeatherBench 2 recomputes per
metric and per region). The truth and climatology of each field are read before the pass
and held in memory as (time, cell) arrays: for the test period at the benchmark grids
these are tens of MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from climbench.data.formats import reading
from climbench.data.grids import cell_area_weights, is_periodic
from climbench.data.prepare import load_prepared
from climbench.errors import DataValueError
from climbench.evaluation import validate
from climbench.evaluation.statistics import (
    BoundStatistic,
    field_statistics,
    stat_names,
    vector_statistics,
)
from climbench.metrics._reduce import region_weight_matrix
from climbench.metrics.scores import statistics_needed
from climbench.metrics.spectral import area_zonal_power_array
from climbench.metrics.weights import area_weights
from climbench.tasks import forecast as protocol
from climbench.tasks.derived import DERIVED_FIELDS, Accumulation
from climbench.tasks.spec import Field
from climbench.tasks.training_references import training_parameters

#: init times per task for predictions not backed by dask (in memory or opened lazily)
INIT_BLOCK = 16
#: key of the per-block (min, max) of every field in a block's results
RANGE = "__range__"
WIND = ("10m_u_component_of_wind", "10m_v_component_of_wind")


@dataclass
class SampleStatistics:
    """Per-sample statistics of one model on one task, ready for aggregation.

    ``values[field]``: (init, lead, region, stat) float64; ``stats[field]`` names the last
    axis (NaN at the leads a derived field does not have); ``spectra[field]``: (lead, 2,
    k) time-mean zonal power of forecast and truth (global only), when spectral scores were
    asked for.
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


@dataclass
class _Extras:
    """A forecast task's derived fields (:mod:`climbench.tasks.derived`) and registered
    statistics (:class:`~climbench.metrics.scores.Statistic`) with their training-split
    parameters, bound to the samples."""

    derived: list[Accumulation]
    #: derived field -> {lead index: source lead indices}
    leads: dict[str, dict[int, np.ndarray]]
    #: field -> [(statistic, parameters)]
    registered: dict[str, list]
    #: reference name -> (init, lead) parameter row of each sample
    entry_rows: dict[str, np.ndarray]

    @classmethod
    def build(cls, task, leads: pd.Index, truths: dict, valid: np.ndarray) -> _Extras:
        """Derive the truth of the derived fields into ``truths``; fit (or read the cached)
        parameters of every registered statistic the task's metrics need."""
        spec = task.spec
        lead_hours = leads.values / np.timedelta64(1, "h")
        derived_leads = {
            d.name: lead_map
            for d in (DERIVED_FIELDS[n] for n in spec.forecast.derived_fields)
            if (lead_map := d.lead_sources(lead_hours))
        }
        derived = [DERIVED_FIELDS[n] for n in derived_leads]
        for d in derived:
            truths[d.name] = d.truth(truths[d.source])
        variables = {f.name: f.variable for f in spec.targets} | {d.name: d.name for d in derived}

        def fit_on(name: str):
            return lambda: protocol.training_values(task, name)

        registered = {
            name: [
                (st, training_parameters(task, name, st.reference, fit_on(name))) for st in needed
            ]
            for name, variable in variables.items()
            if (needed := statistics_needed(spec.metrics, variable))
        }
        times = pd.DatetimeIndex(valid.ravel())
        entry_rows = {
            st.reference.name: st.reference.entry(times).reshape(valid.shape)
            for bound in registered.values()
            for st, _ in bound
        }
        return cls(derived, derived_leads, registered, entry_rows)

    def bind(self, name: str, start: int, n: int, lead_index=slice(None)) -> list[BoundStatistic]:
        """The registered statistics of field ``name`` for the inits ``start .. start+n``."""
        return [
            BoundStatistic(
                st, par, self.entry_rows[st.reference.name][start : start + n, lead_index].ravel()
            )
            for st, par in self.registered.get(name, [])
        ]


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
    return (t.day_of_year.to_numpy() - 1).reshape(valid.shape), h.reshape(valid.shape)


def _in_blocks(pred: xr.Dataset) -> xr.Dataset:
    """Variables not backed by dask (in memory, or opened without chunks) as dask arrays of
    ``INIT_BLOCK`` init times, whole along the other dims.

    Chunked before the fields are picked, so the levels of one variable share one read of
    each block; a file opened without dask chunks is then read in blocks of ``INIT_BLOCK``
    inits, one zarr call each, however small its own chunks are.
    """
    lazy = {
        name: da.chunk({d: INIT_BLOCK if d == "init_time" else -1 for d in da.dims})
        for name, da in pred.data_vars.items()
        if da.chunks is None and "init_time" in da.dims
    }
    return pred.assign(lazy)


def _per_block(arrays: list[xr.DataArray], fn) -> list:
    """``fn(start, *blocks)`` for every block of init times, the same blocks for every array
    (the init chunks of the first, whole along the other dims), in one ``dask.compute``.

    One blockwise layer over all arrays: a chunk that feeds two arrays (two levels of one
    variable) is one task, read once, and the graph stays one task per block (a
    ``dask.delayed`` call per block would carry, and cull, the whole graph each).
    """
    inits = arrays[0].chunks[0]
    data = [a.chunk({d: inits if d == "init_time" else -1 for d in a.dims}).data for a in arrays]

    ndim = data[0].ndim

    def run(*blocks: np.ndarray, block_info=None) -> np.ndarray:  # noqa: ANN001
        out = np.empty((1,) * ndim, dtype=object)
        out.flat[0] = fn(block_info[0]["array-location"][0][0], *blocks)
        return out

    # one object per block; no axis is dropped, which would make dask concatenate (copy)
    result = dsa.map_blocks(
        run,
        *data,
        chunks=((1,) * len(inits), *[(1,)] * (ndim - 1)),
        dtype=object,
        meta=np.empty((0,) * ndim, dtype=object),
    )
    (computed,) = dask.compute(result)
    return list(computed.ravel())


def _regions(task, lat: np.ndarray, lon: np.ndarray) -> tuple[list[str], np.ndarray]:
    from climbench.evaluation.regions import task_regions

    regions = task_regions(task.spec)
    weights = [np.asarray(area_weights(lat, lon, r)) for r in regions]
    return [getattr(r, "name", r) for r in regions], region_weight_matrix(weights)


def _load_references(
    task, fields: tuple[Field, ...], times: np.ndarray, clim: xr.Dataset
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The truth at ``times`` as (time, cell) and the climatology as (day x hour, cell)
    float32 arrays of every field, read before the pass.

    The truth is read straight from the prepared store
    (:func:`~climbench.data.prepare.load_prepared`: 0.4 s for a year of five variables,
    where dask takes a task per one-step chunk, 7 s a variable). Reading it inside the pass
    instead would let the prediction reads run ahead of the blocks that consume them.
    """
    variables = list(dict.fromkeys(f.variable for f in fields))
    path = task.data_dir / protocol.PREPARED
    truth = load_prepared(path, variables, (times[0], times[-1]))
    if not np.array_equal(truth["time"].values, times):
        truth = truth.sel(time=times)
    clim = clim[[f.name for f in fields]].load()
    truths, clims = {}, {}
    for f in fields:
        da = protocol.field_array(truth, f).transpose("time", "lat", "lon")
        truths[f.name] = np.ascontiguousarray(da.values, dtype=np.float32).reshape(times.size, -1)
        ncell = truths[f.name].shape[1]
        clims[f.name] = np.asarray(clim[f.name].values, dtype=np.float32).reshape(-1, ncell)
    return truths, clims


def sample_statistics(
    pred: xr.Dataset, task, path: str = "<predictions>", resamples: int = 0
) -> tuple[SampleStatistics, None]:
    """Validate ``pred`` against ``task`` and compute its per-sample statistics (lazily).

    The scorer of forecast tasks (:mod:`climbench.tasks.kinds`): every forecast score is a
    function of sample means, so there are no extra rows and ``resamples`` is not needed
    here (the intervals come from the aggregation)."""
    spec = task.spec
    template = task.template()
    inits = pd.Index(template["init_time"].values)
    leads = pd.Index(template["lead_time"].values)
    lat, lon = template["lat"].values, template["lon"].values
    pred, notes = _validated_layout(pred, task, (inits, leads), (lat, lon), path)
    truth = task.truth()
    members = int(pred.sizes.get("member", 1)) if "member" in pred.dims else 0
    fields = _target_fields(pred, spec.targets, truth, members, path)
    names, weights = _regions(task, lat, lon)
    score = _BlockScorer.build(task, truth, (inits, leads), (lat, lon), weights, members)

    with reading(path, "the predictions"):
        computed = _per_block(list(fields.values()), score)
    _refuse_implausible(computed, spec.targets, score.truths, inits, leads, path)

    values, stats, spectra = score.assemble(computed, len(inits))
    registered = score.extras.registered
    core = {  # registered statistics may be undefined (NaN) where their thresholds are
        k: v[..., : len(stats[k]) - sum(len(st.quantities) for st, _ in registered.get(k, []))]
        for k, v in values.items()
        if k not in score.extras.leads
    }
    _refuse_non_finite(core, stats, inits, leads, path)
    stats_obj = SampleStatistics(
        "init_time", inits.values, leads.values, names, values, stats, members, spectra, notes
    )
    return stats_obj, None


def _validated_layout(
    pred: xr.Dataset,
    task,
    samples: tuple[pd.Index, pd.Index],
    grid: tuple[np.ndarray, np.ndarray],
    path: str,
) -> tuple[xr.Dataset, list[str]]:
    """``pred`` checked against the task's attributes, its ``grid`` (lat, lon) and its
    ``samples`` (init and lead times; the protocol's inits only, in blocks of init times),
    with the notes for the results."""
    inits, leads = samples
    notes = validate.check_task_attrs(pred, task, path)
    pred = validate.check_grid(pred, *grid, path)
    extra = pred.sizes.get("init_time", 0) - len(inits)
    pred = validate.check_times(pred, "init_time", inits, path)
    pred = validate.check_times(pred, "lead_time", leads, path)
    if extra > 0:
        notes.append(f"{extra} init times outside the protocol were ignored")
    return _in_blocks(pred), notes


def _target_fields(
    pred: xr.Dataset, targets: tuple[Field, ...], truth: xr.Dataset, members: int, path: str
) -> dict[str, xr.DataArray]:
    """Each target field of ``pred``, its dims and units checked, in the scorer's order
    ``init_time, lead_time, [member], lat, lon``."""
    fields = {}
    for f in targets:
        da = validate.field_of(pred, f, path)
        validate.check_dims(da, ("init_time", "lead_time"), path, f.name)
        validate.check_units(da, truth[f.name].attrs.get("units", ""), path, f.name)
        order = ["init_time", "lead_time", *(["member"] if members else []), "lat", "lon"]
        fields[f.name] = da.transpose(*order)
    return fields


@dataclass
class _BlockScorer:
    """What every block of the pass needs: the truth and climatology as (time, cell)
    arrays, the rows each (init, lead) sample takes from them, the region weights and the
    task's derived fields and registered statistics. Called on the blocks of one run of
    init times (one per field), it gives their statistics (:meth:`__call__`)."""

    fields: list[str]
    truths: dict[str, np.ndarray]
    clims: dict[str, np.ndarray]
    #: (init, lead) -> row of the truth at the valid time, and of the climatology
    valid_pos: np.ndarray
    clim_rows: np.ndarray
    weights: np.ndarray
    members: int
    extras: _Extras
    #: latitude weights of the spectra, or None when no spectral score is asked for
    spectral_lat_weights: np.ndarray | None
    wind: bool
    grid: tuple[int, int]

    @classmethod
    def build(
        cls,
        task,
        truth: xr.Dataset,
        samples: tuple[pd.Index, pd.Index],
        grid: tuple[np.ndarray, np.ndarray],
        weights: np.ndarray,
        members: int,
    ) -> _BlockScorer:
        """Read the truth and climatology of ``task`` and index them by sample: ``samples``
        are the protocol's (inits, leads), ``grid`` its (lat, lon), ``weights`` the region
        weight matrix."""
        spec = task.spec
        inits, leads = samples
        lat, lon = grid
        fields = [f.name for f in spec.targets]
        clim = protocol.climatology(task)
        truth_times = truth["time"].values
        valid_pos = _valid_index(inits.values, leads.values, truth_times)
        doy, hour = _clim_index(truth_times[valid_pos], clim["hour"].values)
        with reading(str(task.data_dir), "the task's truth and climatology"):
            truths, clims = _load_references(task, spec.targets, truth_times, clim)
            extras = _Extras.build(task, leads, truths, truth_times[valid_pos])
        spectral = "spectral_divergence" in spec.metrics and is_periodic(lon)
        return cls(
            fields=fields,
            truths=truths,
            clims=clims,
            valid_pos=valid_pos,
            clim_rows=doy * clim.sizes["hour"] + hour,
            weights=weights,
            members=members,
            extras=extras,
            spectral_lat_weights=cell_area_weights(lat) if spectral else None,
            wind="wind_vector_rmse" in spec.metrics and all(w in fields for w in WIND),
            grid=(lat.size, lon.size),
        )

    def __call__(self, start: int, *blocks: np.ndarray) -> dict:
        """Statistics (and spectra) of every field for the inits ``start ..`` of a block.
        Overflow is silent: an absurd value is refused after the pass, by its extremes."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._block(start, *blocks)

    def _block(self, start: int, *blocks: np.ndarray) -> dict:
        n, nlead = blocks[0].shape[:2]
        pos = self.valid_pos[start : start + n].ravel()
        crow = self.clim_rows[start : start + n].ravel()
        named = dict(zip(self.fields, blocks, strict=True))
        out = {RANGE: {name: _extremes(block, start) for name, block in named.items()}}
        x = {name: self._samples(block) for name, block in named.items()}
        for name in self.fields:
            stats = field_statistics(
                x[name],
                self.truths[name],
                self.weights,
                self.clims[name],
                truth_rows=pos,
                climatology_rows=crow,
                extra=self.extras.bind(name, start, n),
            )
            spectra = self._spectra(name, x[name], pos, n)
            out[name] = (stats.reshape(n, nlead, *stats.shape[1:]), spectra)
        if self.wind:
            u, v = WIND
            vse = vector_statistics(
                x[u], x[v], self.truths[u], self.truths[v], self.weights, truth_rows=pos
            )
            out["10m_wind"] = (vse.reshape(n, nlead, *vse.shape[1:]), None)
        for d in self.extras.derived:
            out[d.name] = (self._derived(d, start, named[d.source]), None)
        return out

    def _samples(self, block: np.ndarray) -> np.ndarray:
        """A block ``(init, lead, [member], lat, lon)`` as rows of samples ``(init x lead,
        [member], cell)``; one member counts as a deterministic forecast."""
        n, nlead = block.shape[:2]
        x = block.reshape(n * nlead, *block.shape[2:-2], self.grid[0] * self.grid[1])
        return x[:, 0] if self.members == 1 else x

    def _spectra(self, name: str, x: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray | None:
        """(lead, 2, k) zonal power of the (ensemble-mean) forecast and of the truth at the
        samples' valid times ``pos``, summed over the block's ``n`` inits; None without
        spectral scores."""
        if self.spectral_lat_weights is None:
            return None
        fm = x.mean(axis=1) if x.ndim == 3 else x
        shape = (n, -1, *self.grid)
        power = [
            area_zonal_power_array(a.reshape(shape), self.spectral_lat_weights).sum(axis=0)
            for a in (fm, self.truths[name][pos])
        ]
        return np.stack(power, axis=1)

    def _derived(self, d: Accumulation, start: int, source: np.ndarray) -> np.ndarray:
        """(n, lead, region, stat) statistics of a derived field; NaN at leads it lacks."""
        n, nlead = source.shape[:2]
        lead_map = self.extras.leads[d.name]
        k = np.array(sorted(lead_map), dtype=np.int64)
        parts = np.stack([lead_map[j] for j in k])  # (lead, steps)
        block = source.reshape(n, nlead, *source.shape[2:-2], self.grid[0] * self.grid[1])
        if self.members == 1:
            block = block[:, :, 0]
        x = block[:, parts].sum(axis=2, dtype=np.float32)
        x = x.reshape(n * k.size, *x.shape[2:])
        stats = field_statistics(
            x,
            self.truths[d.name],
            self.weights,
            truth_rows=self.valid_pos[start : start + n, k].ravel(),
            extra=self.extras.bind(d.name, start, n, k),
        )
        result = np.full((n, nlead, *stats.shape[1:]), np.nan)
        result[:, k] = stats.reshape(n, k.size, *stats.shape[1:])
        return result

    def assemble(self, computed: list[dict], ninit: int) -> tuple[dict, dict, dict]:
        """The blocks' results joined: per-sample values, the names of their statistics and
        the time-mean spectra of each field."""
        values, stats, spectra = {}, {}, {}
        for name in computed[0]:
            if name == RANGE:
                continue
            values[name] = np.concatenate([part[name][0] for part in computed], axis=0)
            if name == "10m_wind":
                stats[name] = ("vse",)
                continue
            derived = name in self.extras.leads
            extra = [st for st, _ in self.extras.registered.get(name, [])]
            stats[name] = stat_names(not derived, self.members, extra)
            if self.spectral_lat_weights is not None and not derived:
                spectra[name] = sum(part[name][1] for part in computed) / ninit
        return values, stats, spectra


def _extremes(block: np.ndarray, start: int) -> list[tuple[float, int, int]]:
    """``[(value, init, lead)]`` of the smallest and largest value of a block of
    ``(init, lead, ...)`` predictions whose first init is number ``start``."""
    out = []
    for k in (int(np.argmin(block)), int(np.argmax(block))):
        i, j = np.unravel_index(k, block.shape)[:2]
        out.append((float(block.flat[k]), start + int(i), int(j)))
    return out


def _refuse_implausible(
    computed: list[dict],
    targets: tuple[Field, ...],
    truths: dict[str, np.ndarray],
    inits: pd.Index,
    leads: pd.Index,
    path: str,
) -> None:
    """Refuse values outside the plausible range of their field
    (:func:`~climbench.evaluation.validate.plausible_bounds`), naming the init and lead.
    ``computed``: the blocks' results, with every field's :func:`_extremes` under
    :data:`RANGE`."""
    for f in targets:
        bounds = validate.plausible_bounds(f.variable, truths[f.name])
        for part in computed:
            for value, i, j in part[RANGE][f.name]:
                where = f"at init {pd.Timestamp(inits[i])}, lead {pd.Timedelta(leads[j])}"
                validate.check_plausible(f.name, value, bounds, path, where)


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
