"""``climbench run`` ends at the leaderboard: its models (files or in-memory datasets)
become local entries on a site beside the committed entries."""

from __future__ import annotations

import json
import re

import xarray as xr

from climbench.baselines import reference_predictions
from climbench.evaluation import evaluate
from climbench.leaderboard import submit
from climbench.leaderboard.local import local_site


def test_local_site_puts_the_run_models_beside_the_entries(emulation_task, tmp_path):
    root = tmp_path / "committed"
    reference = reference_predictions(emulation_task, "pattern_scaling")
    card = {"name": "pattern_scaling", "revision": "1", "type": "baseline", "contact": "t"}
    submit(reference, emulation_task, card, root=root)
    in_memory = xr.open_zarr(reference).load()
    in_memory = in_memory.map(lambda v: (v * 1.01).astype("float32").assign_attrs(v.attrs))
    models = {"my-emulator": in_memory}
    results = evaluate(models, emulation_task)  # as climbench run scores, baselines beside
    index = local_site([(emulation_task, results, models)], tmp_path / "site", root=root)
    page = (index.parent / "tasks" / "emulation-synthetic-v1.html").read_text()
    assert "my-emulator" in page and '<span class="tag">local</span>' in page
    chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', page, re.S).group(1))
    names = {m["name"] for m in chart["models"]}
    assert names == {"my-emulator", "pattern_scaling"}
    mine = results.table[(results.table.model == "my-emulator")]
    h = emulation_task.spec.headline
    value = mine[(mine.metric == h.metric) & (mine.variable == h.field)].value.item()
    assert f'data-sort="{float(f"{value:.7g}")}"' in page  # entries keep 7 digits
    again = local_site([(emulation_task, results, models)], tmp_path / "site", root=root)
    assert again == index  # a later run replaces its own site
