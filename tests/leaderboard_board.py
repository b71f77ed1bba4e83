"""A small leaderboard of real entries on emulation/synthetic, for the site tests.

Five submissions scored by the official scorer: the pattern-scaling reference, a copy
offset by a thousandth of each field's standard deviation (ties with it), one offset by a
tenth, one whose model name is ``<script>alert(1)</script>`` (with ``</script>`` and
U+2028 in its description), and a "noise floor" entry that scores worse than the models,
so they are flagged as beating it. Also the headless Chromium fixture and page loader
the browser tests share.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from climbench.baselines import reference_predictions
from climbench.leaderboard import submit

XSS_NAME = "<script>alert(1)</script>"
XSS_DESCRIPTION = "ends the script </script><script>alert(2)</script> and\u2028breaks lines"


def _offset(task, folder: Path, name: str, sds: float) -> Path:
    ds = xr.open_zarr(reference_predictions(task, "pattern_scaling")).load()
    out = ds.copy()
    for v in ds.data_vars:
        out[v] = (ds[v] + np.float32(sds * float(ds[v].std()))).astype("float32")
        out[v].attrs = ds[v].attrs
    out.attrs = {**ds.attrs, "model": name}
    path = folder / f"{name}.zarr"
    out.to_zarr(path, mode="w")
    return path


def _card(folder: Path, name: str, **fields) -> Path:
    card = {"name": name, "revision": "1", "type": "ml", "contact": "tests", **fields}
    path = folder / f"card-{len(list(folder.glob('card-*')))}.yaml"
    path.write_text(yaml.safe_dump(card))
    return path


def make_board(task, folder: Path) -> Path:
    """Submit the five entries under ``folder / "lb"``; returns that root."""
    root = folder / "lb"
    scenarios = {"training_scenarios": ["control", "ssp126", "ssp585"]}
    submit(
        reference_predictions(task, "pattern_scaling"),
        task,
        _card(folder, "pattern_scaling", type="baseline", **scenarios),
        root=root,
    )
    for name, sds, extra in (
        ("tiny-offset", 0.001, {"code_url": "https://example.org/tiny"}),
        ("offset", 0.1, {}),
        (XSS_NAME, 0.05, {"description": XSS_DESCRIPTION}),
    ):
        submit(
            _offset(task, folder, f"m{sds}", sds),
            task,
            _card(folder, name, **extra, **scenarios),
            root=root,
        )
    submit(
        _offset(task, folder, "floor", 0.6),
        task,
        _card(folder, "noise floor", type="noise-floor"),
        root=root,
    )
    return root


# -- headless Chromium ---------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with the system chromedriver (one per test module). Missing
    Chromium is a failure, not a skip: ``.ci/run`` installs the Debian packages
    ``chromium`` and ``chromium-driver``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file(), (
        "install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,2200",
                "--disable-dev-shm-usage", "--allow-file-access-from-files"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def load_page(driver, url: str, shot: str | None = None) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    driver.get(url)
    driver.execute_script("return document.readyState")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 (an alert would be a script injection)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    widths = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    scroll, client = driver.execute_script(widths)
    assert scroll <= client + 1, f"{url}: the page is wider than the window ({scroll} > {client})"
    folder = os.environ.get("CLIMBENCH_SCREENSHOTS")
    if folder and shot:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / shot))
