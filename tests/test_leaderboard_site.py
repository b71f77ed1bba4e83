"""The static site: golden structure, no external src/href, every page's numbers are the
entries', ranks with ties, the noise floor, escaping of user strings; and the same site
in headless Chromium (Debian chromium + chromium-driver, driven by selenium) from file://
and from http://127.0.0.1: no console errors, charts drawn, sorting changes the order and
aria-sort, and no alert from a model named <script>alert(1)</script>."""

from __future__ import annotations

import io
import json
import re
import shutil
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from climbench.errors import StoreError
from climbench.leaderboard import build_site, check, retract
from climbench.leaderboard.ranking import lookup
from climbench.leaderboard.render import safe_url, script_json
from climbench.leaderboard.results_codec import decode_results
from climbench.leaderboard.store import load_entries
from tests.leaderboard_board import (  # noqa: F401 (browser is a fixture)
    XSS_DESCRIPTION,
    XSS_NAME,
    browser,
    load_page,
    make_board,
)

TASK_PAGE = "tasks/emulation-synthetic-v1.html"


@pytest.fixture(scope="module")
def site(emulation_task, tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    root = make_board(emulation_task, folder)
    index = build_site(folder / "site", root)
    return root, index.parent, emulation_task


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, dict]] = []
        self.scripts: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a:
                self.links.append((tag, a[key], a))
        self._in_json = tag == "script" and a.get("type") == "application/json"

    def handle_data(self, data):
        if self._in_json:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self._in_json = False


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_golden_structure(site):
    root, out, _ = site
    entries = load_entries(root)
    expected = {
        "index.html",
        "methodology.html",
        TASK_PAGE,
        "static/site.css",
        "static/site.js",
        "static/favicon.svg",
    }
    for e in entries:
        expected |= {f"entries/{e['id']}.html", f"data/{e['id']}.json", f"data/{e['id']}.csv"}
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert expected <= files
    assert all(f.startswith(("figures/", ".climbench")) for f in files - expected)
    assert len([f for f in files if f.endswith(".png")]) >= len(entries)


def test_no_external_sources_and_only_http_links(site):
    _, out, _ = site
    for page in out.rglob("*.html"):
        for tag, target, attrs in parse(page).links:
            if target.startswith(("http://", "https://")):
                assert tag == "a" and attrs.get("src") is None, (page, target)
                assert "noopener" in attrs.get("rel", ""), (page, target)
                continue
            assert ":" not in target.split("/")[0], (page, target)  # no scheme, no //host
            local = (page.parent / target.split("#")[0]).resolve()
            assert target.startswith("#") or local.is_file(), (page, target)


def test_every_page_shows_the_entries_numbers(site):
    root, out, task = site
    spec = task.spec
    h = spec.headline
    entries = {e["id"]: e for e in load_entries(root)}
    page = (out / TASK_PAGE).read_text(encoding="utf-8")
    chart = json.loads(parse(out / TASK_PAGE).scripts[0])
    assert {m["id"] for m in chart["models"]} == set(entries)
    for model in chart["models"]:
        value = lookup(entries[model["id"]], h.field, h.metric, h.region, None)[0]
        shown = model["series"][h.field][h.metric]["v"][0]
        assert shown == float(f"{value:.4g}")
        # the table's sort key is the exact value
        row = re.search(rf'data-entry="{model["id"]}">(.*?)</tr>', page, re.S).group(1)
        assert f'data-sort="{value}"' in row
        entry_page = (out / "entries" / f"{model['id']}.html").read_text(encoding="utf-8")
        assert f"{value:.5g}" in entry_page
        assert (out / "data" / f"{model['id']}.json").read_bytes() == next(
            p.read_bytes() for p in (root / "entries").rglob(f"{model['id']}.json")
        )
        table = pd.read_csv(io.StringIO((out / "data" / f"{model['id']}.csv").read_text()))
        assert table.value.tolist() == pytest.approx(
            decode_results(entries[model["id"]]["results"])["value"], nan_ok=True, rel=1e-15
        )


def test_ranks_ties_and_the_noise_floor(site):
    root, out, _ = site
    page = (out / TASK_PAGE).read_text(encoding="utf-8")
    ids = {e["model"]["name"]: e["id"] for e in load_entries(root)}

    def rank(name: str) -> str:
        row = re.search(rf'data-entry="{ids[name]}">(.*?)</tr>', page, re.S).group(1)
        return re.search(r"<td[^>]*>(.*?)</td>", row, re.S).group(1).strip()

    assert rank("pattern_scaling") == rank("tiny-offset")  # a tie
    assert rank("offset") != rank("pattern_scaling")
    assert "noise-floor" in rank("noise floor")
    assert page.count("scores better than the noise floor") == 4


def test_user_strings_are_escaped(site):
    root, out, _ = site
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text and "</script><script>" not in text, page
        assert "\u2028" not in "".join(parse(page).scripts), page
    task_page = (out / TASK_PAGE).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in task_page
    data = json.loads(parse(out / TASK_PAGE).scripts[0])
    assert XSS_NAME in {m["name"] for m in data["models"]}
    xss = next(e for e in load_entries(root) if e["model"]["name"] == XSS_NAME)
    entry_page = (out / "entries" / f"{xss['id']}.html").read_text(encoding="utf-8")
    assert "&lt;/script&gt;&lt;script&gt;alert(2)" in entry_page
    assert xss["model"]["description"] == XSS_DESCRIPTION


def test_script_json_and_safe_url():
    text = str(script_json({"a": "</script>\u2028\u2029&"}))
    assert "<" not in text and "\u2028" not in text and "\u2029" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script>\u2028\u2029&"}
    assert safe_url("https://example.org/x") == "https://example.org/x"
    for bad in ("javascript:alert(1)", "data:text/html,x", "file:///etc", "//host/x", 3):
        assert safe_url(bad) == ""


def test_build_replaces_only_its_own_site(site, tmp_path):
    root, out, _ = site
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "keep.txt").write_text("mine")
    with pytest.raises(StoreError):
        build_site(decoy, root, overwrite=True)
    assert (decoy / "keep.txt").read_text() == "mine"
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with pytest.raises(StoreError):
        build_site(copy, root)  # an earlier site needs --overwrite
    assert build_site(copy, root, overwrite=True) == copy / "index.html"
    assert check(root, git=False) == 5


# -- headless Chromium ------------------------------------------------------------------


def _check_pages(driver, base: str, root: Path, tag: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    load_page(driver, f"{base}/index.html", f"{tag}-index.png")
    assert driver.find_element(By.CSS_SELECTOR, "#tasks tbody tr a").text == "emulation/synthetic"
    load_page(driver, f"{base}/{TASK_PAGE}", f"{tag}-task.png")
    chart = driver.find_element(By.CSS_SELECTOR, "#chart svg")
    assert len(chart.find_elements(By.CSS_SELECTOR, "g.series circle")) == 4  # the models
    assert len(chart.find_elements(By.CSS_SELECTOR, "line.floor")) == 1  # the noise floor
    assert driver.find_elements(By.CSS_SELECTOR, "table.scorecard td[style]")
    assert driver.find_elements(By.CSS_SELECTOR, ".maps img")
    for img in driver.find_elements(By.CSS_SELECTOR, "img"):
        assert driver.execute_script("return arguments[0].naturalWidth", img) > 0
    header = driver.find_element(By.XPATH, "//table[@id='board']//th[.//button[text()='Model']]")

    def names() -> list[str]:
        cells = driver.find_elements(By.CSS_SELECTOR, "#board tbody tr td:nth-child(2) a")
        return [c.text for c in cells]

    before = names()
    header.find_element(By.TAG_NAME, "button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = names()
    assert ascending == sorted(before, key=str.lower) and ascending != before
    header.find_element(By.TAG_NAME, "button").send_keys(Keys.ENTER)  # keyboard
    assert header.get_attribute("aria-sort") == "descending"
    assert names() == ascending[::-1]
    relative = driver.find_element(By.ID, "chart-relative")
    relative.find_elements(By.TAG_NAME, "option")[1].click()
    assert "% vs" in driver.find_element(By.CSS_SELECTOR, "#chart svg").text
    xss = next(e for e in load_entries(root) if e["model"]["name"] == XSS_NAME)
    load_page(driver, f"{base}/entries/{xss['id']}.html", f"{tag}-entry.png")
    assert XSS_NAME in driver.find_element(By.TAG_NAME, "h1").text


def test_site_in_chromium_from_file(site, browser):  # noqa: F811 (the fixture)
    root, out, _ = site
    _check_pages(browser, out.as_uri(), root, "file")


@pytest.fixture
def static_server(site):
    """A static file server of the site on 127.0.0.1 (content types by suffix, as any
    web server sends them)."""
    _, out, _ = site

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_site_in_chromium_over_http(site, browser, static_server):  # noqa: F811 (fixture)
    root, _, _ = site
    _check_pages(browser, static_server, root, "http")


def test_a_retracted_entry_is_listed_struck_through_and_not_ranked(site, tmp_path):
    root, _, _ = site
    copy = tmp_path / "lb"
    shutil.copytree(root, copy)
    offset = next(e for e in load_entries(copy) if e["model"]["name"] == "offset")
    retract(offset["id"], "trained on the test years", root=copy)
    page = (build_site(tmp_path / "site", copy).parent / TASK_PAGE).read_text(encoding="utf-8")
    row = re.search(rf'<tr class="status-(\w+)" data-entry="{offset["id"]}">(.*?)</tr>', page, re.S)
    assert row.group(1) == "retracted"
    assert "retracted: trained on the test years" in row.group(2)
    assert '<span class="tag">retracted</span>' in row.group(2)  # no rank
