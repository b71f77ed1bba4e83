"""The committed baseline entries (``leaderboard/``): valid (what CI checks), one board per
synthetic task, and a site whose numbers are theirs, with forecast curves drawn in
headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from climbench.leaderboard import build_site, check
from climbench.leaderboard.ranking import lookup
from climbench.leaderboard.site import task_slug
from climbench.leaderboard.store import load_entries
from climbench.tasks.registry import get_spec
from tests.leaderboard_board import browser, load_page  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent / "leaderboard"
SYNTHETIC = ("forecast/synthetic-5.625", "downscaling/synthetic-x4-europe", "emulation/synthetic")


def test_committed_entries_are_valid_and_cover_the_synthetic_tasks():
    assert check(ROOT) == len(load_entries(ROOT))
    tasks = {e["task"]["name"] for e in load_entries(ROOT)}
    assert set(SYNTHETIC) <= tasks
    for e in load_entries(ROOT):
        spec = get_spec(f"{e['task']['name']}@{e['task']['version']}")
        assert set(spec.baselines) <= {x["model"]["name"] for x in load_entries(ROOT)}
        assert e["model"]["type"] in ("baseline", "noise-floor")


@pytest.fixture(scope="module")
def committed_site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("committed") / "site", ROOT).parent


def test_committed_site_shows_the_entries_numbers(committed_site):
    entries = load_entries(ROOT)
    for e in entries:
        spec = get_spec(f"{e['task']['name']}@{e['task']['version']}")
        h = spec.headline
        value = lookup(e, h.field, h.metric, h.region, h.lead_hours)[0]
        page = committed_site / "tasks" / f"{task_slug(spec.name, spec.version)}.html"
        text = page.read_text(encoding="utf-8")
        row = re.search(rf'data-entry="{e["id"]}">(.*?)</tr>', text, re.S).group(1)
        assert f'data-sort="{value}"' in row
        chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', text, re.S).group(1))
        model = next(m for m in chart["models"] if m["id"] == e["id"])
        columns = model["series"][h.field][h.metric]
        points = dict(zip(chart["leads"] or [None], columns["v"], strict=True))
        lead = None if h.lead_hours is None else float(h.lead_hours)
        assert points[lead] == float(f"{value:.4g}")


def test_forecast_curves_in_chromium(committed_site, browser):  # noqa: F811 (the fixture)
    from selenium.webdriver.common.by import By

    spec = get_spec("forecast/synthetic-5.625")
    page = committed_site / "tasks" / f"{task_slug(spec.name, spec.version)}.html"
    load_page(browser, page.as_uri(), "committed-forecast.png")
    lines = browser.find_elements(By.CSS_SELECTOR, "#chart svg g.series polyline")
    bands = browser.find_elements(By.CSS_SELECTOR, "#chart svg g.series polygon")
    n = len([e for e in load_entries(ROOT) if e["task"]["name"] == spec.name])
    assert len(lines) == n and len(bands) == n
    spectra = browser.find_element(By.CSS_SELECTOR, "img[alt^='zonal power spectra']")
    assert browser.execute_script("return arguments[0].naturalWidth", spectra) > 0
    field = browser.find_element(By.ID, "chart-field")
    field.find_elements(By.TAG_NAME, "option")[2].click()
    chosen = field.get_attribute("value")
    assert browser.find_element(By.CSS_SELECTOR, "#chart svg").get_attribute("data-field") == chosen
