"""Downscaling tasks: coarse inputs, fine targets, crops and region splits.

Data under ``Task.data_dir`` (statistics over the training split only):

- ``coarse.zarr``: the inputs on the coarse grid;
- ``fine.zarr``: the targets and the fine-grid constants (land-sea mask, orography);
- ``coarse-bilinear.zarr``: the inputs interpolated bilinearly to the fine grid, which is
  both the ``bilinear`` reference baseline and the learned models' input (as in most ML
  downscaling work, the network learns the correction to interpolation).

A regional task crops both grids to its box (:attr:`DownscalingProtocol.crop`); a task with
``train_regions`` masks the training loss to them and is scored only on ``test_regions``
(the out-of-region split).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from climbench.data.prepare import MANIFEST, open_prepared, prepare
from climbench.errors import StoreError
from climbench.tasks.forecast import _check_sources
from climbench.tasks.spec import TaskSpec

COARSE, FINE, BILINEAR = "coarse.zarr", "fine.zarr", "coarse-bilinear.zarr"


def is_prepared(task) -> bool:
    return all((task.data_dir / name / MANIFEST).is_file() for name in (COARSE, FINE, BILINEAR))


def _synthetic_sources(task, progress: bool) -> tuple[Path, Path]:
    from climbench.data.synthetic import write_downscaling

    p = task.spec.dataset.params
    first, last = p["years"]
    out = task.data_root / "sources" / f"{task.spec.dataset.id}-{first}-{last}-seed{p['seed']}"
    if not (
        (out / "coarse.zarr" / "zarr.json").is_file()
        and (out / "fine.zarr" / "zarr.json").is_file()
    ):
        write_downscaling(
            out,
            years=(first, last),
            seed=p["seed"],
            variables=[f.variable for f in task.spec.targets],
            coarse=p["coarse"],
            overwrite=True,
            progress=progress,
        )
    return out / "coarse.zarr", out / "fine.zarr"


def build(task, sources, *, overwrite: bool, progress: bool) -> None:
    spec = task.spec
    if spec.dataset.kind == "synthetic-downscaling":
        coarse, fine = _synthetic_sources(task, progress)
    else:
        if not sources or len(sources) > 2:
            raise StoreError(
                "a downscaling task needs one or two sources",
                variable=task.name,
                expected="--source COARSE --source FINE, or one --source FILE (its fields "
                "coarsened conservatively to the coarse grid are the inputs)",
                found=f"{len(sources or [])} sources",
            )
        coarse, fine = (_check_sources(task, sources) * 2)[-2:]
    task.data_dir.mkdir(parents=True, exist_ok=True)
    train = spec.splits["train"]
    stats = (train.start, train.end)
    proto = spec.downscaling
    inputs = [f.variable for f in spec.inputs]
    units = spec.dataset.params.get("units")  # the spec's override of wrong unit attributes
    prepare(
        coarse,
        task.data_dir / COARSE,
        grid=proto.coarse_grid,
        variables=inputs,
        units=units,
        stats_period=stats,
        overwrite=True,
        progress=progress,
    )
    prepare(
        fine,
        task.data_dir / FINE,
        grid=proto.fine_grid,
        variables=[f.variable for f in spec.targets] + list(spec.constants),
        units=units,
        stats_period=stats,
        overwrite=True,
        progress=progress,
    )
    prepare(
        task.data_dir / COARSE,
        task.data_dir / BILINEAR,
        grid=proto.fine_grid,
        method="bilinear",
        stats_period=stats,
        overwrite=True,
        progress=progress,
    )


def crop_index(spec: TaskSpec, lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """``isel`` indices of the task's crop box on a grid (all cells when not regional)."""
    box = spec.downscaling.crop
    if box is None:
        return {"lat": np.arange(lat.size), "lon": np.arange(lon.size)}
    mask = box.mask(lat, lon)
    return {"lat": np.flatnonzero(mask.any(axis=1)), "lon": np.flatnonzero(mask.any(axis=0))}


def _open(task, name: str) -> xr.Dataset:
    ds = open_prepared(task.data_dir / name)
    return ds.isel(crop_index(task.spec, ds["lat"].values, ds["lon"].values))


def coarse(task) -> xr.Dataset:
    """Inputs on the coarse grid (cropped)."""
    return _open(task, COARSE)


def fine(task) -> xr.Dataset:
    """Targets and constants on the fine grid (cropped)."""
    return _open(task, FINE)


def bilinear(task) -> xr.Dataset:
    """Inputs interpolated to the fine grid (cropped)."""
    return _open(task, BILINEAR)


def loss_mask(task) -> np.ndarray:
    """(lat, lon) float mask of the fine cells whose targets training may see."""
    ds = fine(task)
    regions = task.spec.downscaling.train_regions
    if not regions:
        return np.ones((ds.sizes["lat"], ds.sizes["lon"]), dtype=np.float32)
    lat, lon = ds["lat"].values, ds["lon"].values
    return np.logical_or.reduce([r.mask(lat, lon) for r in regions]).astype(np.float32)


def load_split(task, split: str) -> xr.Dataset:
    """Coarse inputs; for train / validation also the fine targets (see :func:`_pair`)."""
    period = task.spec.splits[split].slice()
    inputs = coarse(task).sel(time=period)
    if split == "test":
        return inputs.assign_attrs(split="test", contents="inputs only")
    return _pair(inputs, fine(task).sel(time=period))


def _pair(inputs: xr.Dataset, targets: xr.Dataset) -> xr.Dataset:
    """Inputs on (coarse_lat, coarse_lon) beside targets on (lat, lon), in one dataset."""
    inputs = inputs.rename({"lat": "coarse_lat", "lon": "coarse_lon"})
    return xr.merge([inputs.rename({k: f"coarse_{k}" for k in inputs.data_vars}), targets])


def truth(task) -> xr.Dataset:
    period = task.spec.splits["test"].slice()
    ds = fine(task).sel(time=period)
    return xr.Dataset({f.name: ds[f.variable] for f in task.spec.targets})


def template(task) -> xr.Dataset:
    t = truth(task)
    return xr.Dataset(
        coords={"time": t["time"].values, "lat": t["lat"].values, "lon": t["lon"].values},
        attrs=task.attrs(),
    )


def network_predictions(
    task, arrays: dict[str, np.ndarray], datamodule, members: int
) -> xr.Dataset:
    """A network's outputs (field -> (time, [member], lat, lon)) as downscaling predictions
    on the task's fine grid, at the datamodule's prediction times."""
    grid = fine(task)
    dims = ["time", *(["member"] if members else []), "lat", "lon"]
    data = {
        f.name: xr.DataArray(
            arrays[f.name], dims=dims, attrs={"units": grid[f.variable].attrs.get("units", "")}
        )
        for f in task.spec.targets
    }
    coords = {
        "time": datamodule.predict_times.values,
        "lat": grid["lat"].values,
        "lon": grid["lon"].values,
    }
    return xr.Dataset(data, coords=coords, attrs=task.attrs())
