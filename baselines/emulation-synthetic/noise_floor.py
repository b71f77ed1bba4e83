"""The best score any emulator can reach on emulation/synthetic: the forced response itself.

The synthetic climate (:mod:`climbench.data.synthetic.climate`) is a forced response plus
internal variability. Its generator can produce the forced response alone (every member's
noise set to zero), which is the expectation of the truth given the forcings. Scored
against the task's truth (a 3-member mean, noise included), it gives the noise floor of
each field's NRMSE: no emulator of the forcings can be expected to beat it, and an
emulator close to it has learnt the forced signal.

Run from the repository root (the task data are prepared when missing)::

    python baselines/emulation-synthetic/noise_floor.py [--data-root DIR] [--predictions P]

``--predictions NAME=PATH`` (repeatable) scores other models beside the floor, e.g. a
``climbench train --config emulation-synthetic/cnn_lstm --predictions`` run.
"""

from __future__ import annotations

import argparse
from unittest import mock

import numpy as np
import xarray as xr

from climbench.data.synthetic import climate
from climbench.data.synthetic.climate import ClimateModel
from climbench.evaluation import evaluate
from climbench.tasks import emulation as em_task
from climbench.tasks import get_task


def forced_response(task) -> xr.Dataset:
    """The noise-free test predictions of ``task``, as anomalies from the noise-free
    reference (the task's anomaly reference over its training years)."""
    p, e = task.spec.dataset.params, task.spec.emulation
    scenarios = sorted({*e.test_scenarios, e.anomaly_reference})

    def no_noise(self, scenario_index: int, member: int) -> np.ndarray:
        return np.zeros((2, self.all_years.size, *self.grid.shape))

    with mock.patch.object(ClimateModel, "member_noise", no_noise):
        ds = climate(grid=p["grid"], years=tuple(p["years"]), members=1, scenarios=scenarios)
        ds = ds.isel(member=0).load()
    ds = ds.assign_coords(year=ds["time"].dt.year).swap_dims(time="year").drop_vars("time")
    reference = ds.sel(scenario=e.anomaly_reference).mean("year")
    template = em_task.template(task)
    out = xr.Dataset(coords=template.coords, attrs=template.attrs)
    for f in task.spec.targets:
        anomaly = (ds[f.variable] - reference[f.variable]).sel(
            scenario=template["scenario"].values, year=template["year"].values
        )
        out[f.name] = anomaly.transpose("scenario", "year", "lat", "lon").astype("float32")
        out[f.name].attrs["units"] = em_task.statistics(task)[f.variable]["units"]
    return out.assign_attrs(model="forced_response")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--predictions", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()
    task = get_task("emulation/synthetic", args.data_root)
    task.prepare_data()
    models = {"forced_response": forced_response(task)}
    for item in args.predictions:
        name, _, path = item.partition("=")
        models[name] = path
    evaluate(models, task, resamples=200).print()


if __name__ == "__main__":
    main()
