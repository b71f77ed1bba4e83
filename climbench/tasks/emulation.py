"""Emulation tasks (ClimateBench style): scenarios of forcing in, annual climate maps out.

Data under ``Task.data_dir``: ``emulation.zarr`` with dims ``(scenario, year, lat, lon)``
for the targets (the ensemble mean over members) and ``(scenario, year[, lat, lon])`` for
the forcings; a scenario without a given year is NaN there. With an ``anomaly_reference``
(the control run) the targets are changes from its training-years mean per cell, as in
ClimateBench. Annual data are indexed by an
integer ``year`` (CMIP6 model years such as 0101 precede what numpy datetimes can hold), so
emulation predictions use ``(scenario, year, lat, lon)``. ``emulation.json`` holds the
normalisation statistics, computed over the training scenarios and years only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from climbench.data.formats import harmless_warnings_silenced
from climbench.data.open import open_dataset
from climbench.data.sources.cmip6 import parse_drs
from climbench.errors import DataFileError, StoreError
from climbench.io import atomic_directory, write_json_atomic
from climbench.metrics import area_mean
from climbench.tasks.spec import TaskSpec

STORE, STATS = "emulation.zarr", "emulation.json"
#: pre-industrial CO2 of the CMIP6 DECK (ppm) and the Myhre et al. (1998) forcing factor
CO2_PI_PPM, MYHRE = 284.317, 5.35


def is_prepared(task) -> bool:
    return (task.data_dir / STATS).is_file() and (task.data_dir / STORE / "zarr.json").is_file()


def _synthetic(task, progress: bool) -> xr.Dataset:
    from climbench.data.synthetic import climate

    p = task.spec.dataset.params
    first, last = p["years"]
    e = task.spec.emulation
    scenarios = [*e.train_scenarios, *e.validation_scenarios, *e.test_scenarios]
    ds = climate(
        grid=p["grid"],
        years=(first, last),
        members=p["members"],
        scenarios=scenarios,
        seed=p["seed"],
    )
    targets = [f.variable for f in task.spec.targets]
    out = ds[targets].mean("member")
    out = out.merge(ds[list(e.forcings)])
    return out.assign_coords(year=out["time"].dt.year).swap_dims(time="year").drop_vars("time")


def _co2_forcing(experiment: str, years: np.ndarray) -> np.ndarray:
    """Annual-mean CO2 forcing (W m-2) of an idealised CMIP6 experiment."""
    t = years - years[0] + 0.5  # mid-year, years since the experiment began
    if experiment == "piControl":
        return np.zeros(years.size)
    if experiment == "abrupt-4xCO2":
        return np.full(years.size, MYHRE * np.log(4.0))
    if experiment == "1pctCO2":
        return MYHRE * t * np.log(1.01)
    raise StoreError(
        "no forcing protocol for this experiment",
        variable=experiment,
        expected="piControl, abrupt-4xCO2 or 1pctCO2",
        found=experiment,
    )


def _cmip6(task, sources) -> xr.Dataset:
    files: list[Path] = []
    for s in sources:
        p = Path(s)
        files += sorted(p.rglob("tas_*.nc")) if p.is_dir() else [p]
    p = task.spec.dataset.params
    by_experiment: dict[str, list[Path]] = {}
    for f in files:
        drs = parse_drs(f)
        if drs and drs.source_id == p["source_id"] and drs.member_id == p["member_id"]:
            by_experiment.setdefault(drs.experiment_id, []).append(f)
    parts = []
    for experiment, span in p["experiments"].items():
        if experiment not in by_experiment:
            raise DataFileError(
                "a CMIP6 experiment is missing from the sources",
                path=", ".join(map(str, sources)),
                variable="tas",
                expected=f"{p['source_id']} {p['member_id']} {experiment}",
                found="experiments " + ", ".join(sorted(by_experiment)),
            )
        ds = open_dataset(by_experiment[experiment], variables=["tas"])
        first, last = (int(y) for y in span.split("-"))
        annual = ds["2m_temperature"].groupby("time.year").mean()
        annual = annual.sel(year=slice(first, last)).load()
        years = annual["year"].values
        if years.size != last - first + 1:
            raise DataFileError(
                "a CMIP6 experiment does not cover its years",
                variable="tas",
                path=str(by_experiment[experiment][0]),
                expected=f"years {first}-{last}",
                found=f"{years.size} years {years.min()}-{years.max()}",
            )
        forcing = _co2_forcing(experiment, years)
        parts.append(
            xr.Dataset(
                {
                    "2m_temperature": annual,
                    "co2_forcing": ("year", forcing, {"units": "W m-2"}),
                    "co2_forcing_cumulative": ("year", np.cumsum(forcing), {"units": "W m-2 yr"}),
                }
            ).expand_dims(scenario=[experiment])
        )
    return xr.concat(parts, dim="scenario", join="outer")


def train_rows(ds: xr.Dataset, spec: TaskSpec) -> xr.Dataset:
    """The training rows: the training scenarios minus any held-out years."""
    out = ds.sel(scenario=list(spec.emulation.train_scenarios))
    hold = spec.emulation.holdout_period
    if hold is not None:
        years = out["year"].values
        keep = (years < int(hold.start)) | (years > int(hold.end))
        out = out.isel(year=np.flatnonzero(keep))
    return out


def build(task, sources, *, overwrite: bool, progress: bool) -> None:
    spec = task.spec
    ds = (
        _synthetic(task, progress)
        if spec.dataset.kind == "synthetic-climate"
        else _cmip6(task, sources)
    )
    # Load once: the synthetic data are lazy, and each statistic below would otherwise
    # regenerate every scenario (annual maps: a few MB).
    ds = ds.astype("float32").load()
    reference = spec.emulation.anomaly_reference
    if reference is not None:
        base = train_rows(ds, spec).sel(scenario=reference).mean("year")
        for f in spec.targets:
            ds[f.variable] = (ds[f.variable] - base[f.variable]).assign_attrs(
                ds[f.variable].attrs, anomaly_reference=f"{reference} training-years mean"
            )
    train = train_rows(ds, spec)
    stats = {}
    for name in ds.data_vars:
        values = np.asarray(train[name].values, dtype=np.float64)
        std = float(np.nanstd(values))
        stats[str(name)] = {
            "mean": float(np.nanmean(values)),
            "std": std if std > 0 else 1.0,
            "units": ds[name].attrs.get("units", ""),
        }
    task.data_dir.mkdir(parents=True, exist_ok=True)
    with (
        atomic_directory(task.data_dir / STORE, "emulation-store", overwrite=True) as tmp,
        harmless_warnings_silenced(),
    ):
        ds.compute().to_zarr(
            tmp, mode="w", consolidated=True, zarr_format=3, write_empty_chunks=True
        )
    write_json_atomic(
        task.data_dir / STATS,
        {
            "stats": stats,
            "scenarios": list(map(str, ds["scenario"].values)),
            "years": [int(ds.year[0]), int(ds.year[-1])],
        },
    )


def open_store(task) -> xr.Dataset:
    with harmless_warnings_silenced():
        return xr.open_zarr(task.data_dir / STORE, consolidated=True).load()


def statistics(task) -> dict:
    """Normalisation statistics over the training rows (``{name: {mean, std, units}}``)."""
    return json.loads((task.data_dir / STATS).read_text())["stats"]


def split_rows(task, split: str) -> xr.Dataset:
    """All variables of the rows of ``split`` (the test split: the test scenarios)."""
    spec, ds = task.spec, open_store(task)
    e = spec.emulation
    if split == "train":
        return train_rows(ds, spec)
    if split == "validation":
        if e.validation_scenarios:
            return ds.sel(scenario=list(e.validation_scenarios))
        hold = e.holdout_period
        return ds.sel(scenario=list(e.train_scenarios), year=slice(int(hold.start), int(hold.end)))
    return ds.sel(scenario=list(e.test_scenarios))


def load_split(task, split: str) -> xr.Dataset:
    """Forcings and targets; the test split has the forcings of the test scenarios only."""
    rows = split_rows(task, split)
    if split == "test":
        return rows[list(task.spec.emulation.forcings)].assign_attrs(
            split="test", contents="inputs only"
        )
    return rows


def _test_years(task, ds: xr.Dataset) -> xr.Dataset:
    period = task.spec.emulation.test_period
    return ds if period is None else ds.sel(year=slice(int(period.start), int(period.end)))


def truth(task) -> xr.Dataset:
    rows = _test_years(task, split_rows(task, "test"))
    return xr.Dataset({f.name: rows[f.variable] for f in task.spec.targets})


def template(task) -> xr.Dataset:
    t = truth(task)
    return xr.Dataset(
        coords={k: t[k].values for k in ("scenario", "year", "lat", "lon")}, attrs=task.attrs()
    )


def forcing_features(rows: xr.Dataset, forcings: tuple[str, ...]) -> np.ndarray:
    """(scenario * year, k) global-mean forcings: the inputs of pattern scaling."""
    cols = []
    for name in forcings:
        da = rows[name]
        if "lat" in da.dims:
            da = area_mean(da)
        cols.append(da.transpose("scenario", "year").values.reshape(-1))
    return np.stack(cols, axis=1).astype(np.float64)


def network_predictions(
    task, arrays: dict[str, np.ndarray], datamodule, members: int
) -> xr.Dataset:
    """A network's outputs (field -> (sample, [member], lat, lon), the template's
    (scenario, year) pairs scenario-major) as emulation predictions."""
    tmpl = template(task)
    units = statistics(task)
    sizes = (tmpl.sizes["scenario"], tmpl.sizes["year"])
    dims = ["scenario", "year", *(["member"] if members else []), "lat", "lon"]
    data = {
        f.name: xr.DataArray(
            arrays[f.name].reshape(*sizes, *arrays[f.name].shape[1:]),
            dims=dims,
            attrs={"units": units[f.variable]["units"]},
        )
        for f in task.spec.targets
    }
    return xr.Dataset(data, coords=tmpl.coords, attrs=tmpl.attrs)
