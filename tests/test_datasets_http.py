"""HTTP file downloads against a loopback server with fault injection, serving real files
from ``../shared/data``: resume, retries, checksums, clear errors, atomic results, the
manifest, verify, and a download killed with SIGKILL then rerun."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import climbench
from climbench.datasets import http
from climbench.datasets.card import card_from_dict, load_card
from climbench.datasets.manifest import MANIFEST, verify
from climbench.errors import DataFileError, StoreError
from tests.servers.http_files import FileServer

REPO = Path(__file__).resolve().parents[1]
FILE = "pydata+xarray-data/eraint_uvz.nc"  # 4.2 MB, real ERA-Interim netCDF


@pytest.fixture
def served(shared_file, tmp_path):
    src = shared_file(FILE)
    root = tmp_path / "www"
    root.mkdir()
    (root / src.name).write_bytes(src.read_bytes())
    server = FileServer(root)
    yield server, src
    server.close()


def http_card(url: str, name: str, sha256: str | None) -> dict:
    """A card of the ``http`` method listing one file (with its published sha256)."""
    data = yaml.safe_load((REPO / "climbench/datasets/cards/climatebench.yaml").read_text())
    data.update(name="test-files", title="one real file", variables=data["variables"][:1])
    data["access"] = {"method": "http", "endpoint": url, "options": {"files": [name]}}
    data["checksums"] = {"source": "provider" if sha256 else "recorded"}
    if sha256:
        data["checksums"]["files"] = {name: sha256}
    return data


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_for(server: FileServer, src: Path, checksum: bool = True):
    return card_from_dict(http_card(server.url, src.name, sha256(src) if checksum else None), "t")


def test_download_complete_verified_with_manifest(served, tmp_path) -> None:
    server, src = served
    out = climbench.download(card_for(server, src), out=tmp_path / "dl")
    assert (out / src.name).read_bytes() == src.read_bytes()
    manifest = json.loads((out / MANIFEST).read_text())
    [entry] = manifest["files"]
    assert entry["sha256"] == sha256(src) and entry["size"] == src.stat().st_size
    assert entry["url"] == server.url_of(src.name)
    assert manifest["card"]["name"] == "test-files" and manifest["licence"]["id"] == "CC-BY-4.0"
    assert verify(out)[1] == []
    ds = climbench.open_dataset(out / src.name)
    assert "geopotential" in ds
    sent = server.bytes_sent()
    climbench.download(card_for(server, src), out=tmp_path / "dl")  # complete: nothing fetched
    assert server.bytes_sent() == sent


def test_dropped_connection_resumes_with_range(served, tmp_path) -> None:
    server, src = served
    size = src.stat().st_size
    server.faults.drop_after = size // 2
    out = climbench.download(card_for(server, src), out=tmp_path / "dl")
    assert (out / src.name).read_bytes() == src.read_bytes()
    gets = [r for r in server.log if r.method == "GET"]
    resumed_at = int(gets[1].range.removeprefix("bytes=").rstrip("-"))
    assert gets[0].range is None and size // 2 - http.BLOCK <= resumed_at <= size // 2
    assert gets[1].status == 206
    assert server.bytes_sent() <= size + http.BLOCK  # at most the block in flight twice


def test_503_is_retried_then_succeeds(served, tmp_path) -> None:
    server, src = served
    server.faults.fail_503 = 2
    out = climbench.download(card_for(server, src), out=tmp_path / "dl")
    assert (out / src.name).read_bytes() == src.read_bytes()
    assert [r.status for r in server.log if r.method == "GET"][:3] == [503, 503, 200]


def test_server_ignoring_range_restarts_cleanly(served, tmp_path) -> None:
    server, src = served
    server.faults.drop_after = 1_000_000
    server.faults.ignore_range = True
    out = climbench.download(card_for(server, src), out=tmp_path / "dl")
    assert (out / src.name).read_bytes() == src.read_bytes()  # not the first MB twice
    assert [r.status for r in server.log if r.method == "GET"] == [200, 200]


def test_wrong_bytes_fail_the_checksum_and_are_kept_aside(served, tmp_path) -> None:
    server, src = served
    server.faults.corrupt = True
    with pytest.raises(DataFileError, match="checksum mismatch") as info:
        climbench.download(card_for(server, src), out=tmp_path / "dl")
    bad = tmp_path / "dl" / f"{src.name}.bad"
    assert str(bad) in str(info.value) and bad.stat().st_size == src.stat().st_size
    assert not (tmp_path / "dl" / src.name).exists()
    assert not (tmp_path / "dl" / MANIFEST).exists()  # nothing looks complete
    with pytest.raises(StoreError, match="no complete download"):
        verify(tmp_path / "dl")


@pytest.mark.parametrize(
    ("status", "message", "hint"),
    [
        (401, "authentication required", "credentials"),
        (403, "access refused", "credentials"),
        (404, "not found on the server", "card may be out of date"),
    ],
)
def test_http_errors_are_clear(served, tmp_path, status, message, hint) -> None:
    server, src = served
    server.faults.status = status
    with pytest.raises(DataFileError, match=message) as info:
        climbench.download(card_for(server, src), out=tmp_path / "dl")
    assert hint in str(info.value) and server.url_of(src.name) in str(info.value)
    assert len([r for r in server.log if r.method == "GET"]) == 1  # not retried


def test_unreachable_server_says_so(tmp_path, shared_file) -> None:
    src = shared_file(FILE)
    card = card_from_dict(http_card("http://127.0.0.1:9", src.name, None), "t")
    with pytest.raises(DataFileError, match="download failed after retries") as info:
        http.download_file(
            f"http://127.0.0.1:9/{src.name}", tmp_path / src.name, retries=1, backoff_s=0.01
        )
    assert "check the network" in str(info.value)
    assert card.method == "http"


def test_folder_not_ours_is_refused(served, tmp_path) -> None:
    server, src = served
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(StoreError, match="not a climbench download"):
        climbench.download(card_for(server, src), out=mine)
    assert (mine / "notes.txt").read_text() == "keep"


def test_verify_finds_a_changed_file(served, tmp_path) -> None:
    server, src = served
    out = climbench.download(card_for(server, src), out=tmp_path / "dl")
    data = bytearray((out / src.name).read_bytes())
    data[1000] ^= 0xFF
    (out / src.name).write_bytes(bytes(data))
    _, problems = verify(out)
    assert [p.path for p in problems] == [src.name] and "sha256" in problems[0].expected


def test_dry_run_fetches_nothing(served, tmp_path) -> None:
    server, src = served
    plan = climbench.download(card_for(server, src), out=tmp_path / "dl", dry_run=True)
    assert [i.url for i in plan.items] == [server.url_of(src.name)]
    assert not (tmp_path / "dl").exists() and server.log == []


def test_kill_9_mid_download_then_rerun(served, tmp_path) -> None:
    """A download killed with SIGKILL half-way resumes: complete, verified, fetching only
    what was not on disk; what the first run lost is the block in flight."""
    server, src = served
    size = src.stat().st_size
    server.faults.rate = size / 3.0  # about 3 s for the whole file
    card_file = tmp_path / "test-files.yaml"
    card_file.write_text(yaml.safe_dump(http_card(server.url, src.name, sha256(src))))
    script = textwrap.dedent(
        f"""
        import climbench
        from climbench.datasets.card import load_card
        climbench.download(load_card({str(card_file)!r}), out={str(tmp_path / "dl")!r})
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    deadline = time.monotonic() + 60
    while server.bytes_sent() < size // 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    requests_before = len(server.log)
    part = tmp_path / "dl" / f"{src.name}.part"
    kept = part.stat().st_size
    assert 0 < kept < size
    assert not (tmp_path / "dl" / MANIFEST).exists()
    server.faults.rate = None
    out = climbench.download(load_card(card_file), out=tmp_path / "dl")
    first = sum(r.sent for r in server.log[:requests_before])
    second = sum(r.sent for r in server.log[requests_before:])
    assert (out / src.name).read_bytes() == src.read_bytes() and verify(out)[1] == []
    assert second == size - kept  # the rerun fetches exactly what was not on disk
    # sent twice: the block being read when the process died and the server's pieces
    # already in the socket (it sends 64 KiB pieces)
    assert first - kept <= 3 * http.BLOCK
    assert second <= 0.55 * size + 3 * http.BLOCK


def test_a_full_disk_keeps_the_partial_file_and_says_so(served, tmp_path, monkeypatch) -> None:
    server, src = served

    class Full(io.FileIO):
        def write(self, data) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(http, "open", lambda path, mode: Full(path, mode), raising=False)
    with pytest.raises(StoreError, match="disk full") as info:
        climbench.download(card_for(server, src), out=tmp_path / "dl")
    assert f"{src.name}.part" in str(info.value) and "run again to resume" in str(info.value)
    assert not (tmp_path / "dl" / src.name).exists()
    assert not (tmp_path / "dl" / MANIFEST).exists()
