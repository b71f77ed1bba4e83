"""Outputs never destroy data: paths that are not climbench's own earlier output of the
same kind are refused, outputs may not overlap inputs, replacements are atomic even when
the process is killed, and leftovers of killed runs are listed and cleaned.

The reproductions are the user's own: ``climbench evaluate ... --out DIR`` and
``climbench train ... --predictions PATH`` over a folder, a file, the predictions being
scored, the task data or the current folder; ``kill -9`` during ``--overwrite`` and during
``tasks prepare``; a disk that fills up while results or a task store are written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from climbench import cli, io
from climbench.errors import StoreError
from climbench.tasks import get_task

TASK = "emulation/synthetic"


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """``climbench ARGS`` in-process: (exit status, stdout + stderr)."""
    monkeypatch.setattr(sys, "argv", ["climbench", *args])
    monkeypatch.setenv("COLUMNS", "250")
    with pytest.raises(SystemExit) as info:
        cli.main()
    out = capsys.readouterr()
    return (info.value.code or 0), out.out + out.err


def run_subprocess(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def hidden_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def root(emulation_task) -> Path:
    """The task data root (``--data-root``) of the prepared emulation task."""
    return emulation_task.data_root


@pytest.fixture(scope="module")
def ridge(root: Path, tmp_path_factory) -> Path:
    """Ridge predictions written by ``climbench train`` (a climbench predictions store)."""
    out = tmp_path_factory.mktemp("predictions") / "ridge.zarr"
    result = run_subprocess(
        "-m", "climbench.cli", "train", "--task", TASK, "--model", "ridge",
        "--data-root", str(root), "--predictions", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert io.output_kind(out) == "predictions"
    return out


def evaluate_to(monkeypatch, capsys, ridge: Path, root: Path, out: Path, *extra: str):
    return run_cli(
        monkeypatch, capsys, "evaluate", str(ridge), "--task", TASK, "--data-root", str(root),
        "--resamples", "0", "--out", str(out), *extra,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# paths that are not climbench's own output
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [(), ("--overwrite",)])
def test_evaluate_never_replaces_a_folder_it_did_not_write(
    monkeypatch, capsys, ridge, root, tmp_path, extra
) -> None:
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "precious.txt").write_text("precious")
    code, out = evaluate_to(monkeypatch, capsys, ridge, root, decoy, *extra)
    assert code == 2, out
    assert "climbench did not write" in out and "decoy" in out
    assert (decoy / "precious.txt").read_text() == "precious"
    assert hidden_entries(tmp_path) == []


def test_evaluate_never_turns_a_file_into_a_folder(
    monkeypatch, capsys, ridge, root, tmp_path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("notes")
    code, out = evaluate_to(monkeypatch, capsys, ridge, root, notes, "--overwrite")
    assert code == 2 and "a file" in out
    assert notes.read_text() == "notes"
    assert hidden_entries(tmp_path) == []  # no .notes.txt.old-* either


@pytest.mark.parametrize(
    "where", ["the predictions", "inside the predictions", "the data root", "the task data"]
)
def test_evaluate_out_may_not_overlap_an_input(monkeypatch, capsys, ridge, root, where) -> None:
    task_dir = get_task(TASK, root).data_dir
    out = {
        "the predictions": ridge,
        "inside the predictions": ridge / "results",
        "the data root": root,
        "the task data": task_dir,
    }[where]
    before = sorted(p.name for p in ridge.iterdir())
    code, text = evaluate_to(monkeypatch, capsys, ridge, root, out, "--overwrite")
    assert code == 2, text
    assert "an input of this command" in text
    assert sorted(p.name for p in ridge.iterdir()) == before
    assert get_task(TASK, root).is_prepared()


@pytest.mark.parametrize("out", [".", "../here"])
def test_evaluate_out_may_not_be_the_current_folder(
    monkeypatch, capsys, ridge, root, tmp_path, out
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    (here / "work.py").write_text("print('mine')")
    monkeypatch.chdir(here)
    code, text = evaluate_to(monkeypatch, capsys, ridge, root, Path(out), "--overwrite")
    assert code == 2, text
    assert "would replace the current folder" in text
    assert (here / "work.py").read_text() == "print('mine')"


def test_overwrite_replaces_an_earlier_results_folder_only_when_asked(
    monkeypatch, capsys, ridge, root, tmp_path
) -> None:
    results = tmp_path / "results"
    code, text = evaluate_to(monkeypatch, capsys, ridge, root, results)
    assert code == 0, text
    assert io.output_kind(results) == "results"
    first = json.loads((results / "summary.json").read_text())
    code, text = evaluate_to(monkeypatch, capsys, ridge, root, results)
    assert code == 2 and "already exists" in text and "--overwrite" in text
    (results / "summary.json").write_text("{}")  # mark the old folder
    code, text = evaluate_to(monkeypatch, capsys, ridge, root, results, "--overwrite")
    assert code == 0, text
    assert json.loads((results / "summary.json").read_text())["task"] == first["task"]
    assert hidden_entries(tmp_path) == []


def test_train_predictions_never_replace_a_folder_it_did_not_write(
    monkeypatch, capsys, root, tmp_path
) -> None:
    decoy = tmp_path / "decoy.zarr"
    decoy.mkdir()
    (decoy / "precious.txt").write_text("precious")
    start = time.perf_counter()
    code, out = run_cli(
        monkeypatch, capsys, "train", "--task", TASK, "--model", "ridge",
        "--data-root", str(root), "--predictions", str(decoy), "--overwrite",
    )  # fmt: skip
    assert code == 2 and "climbench did not write" in out
    assert (decoy / "precious.txt").read_text() == "precious"
    assert time.perf_counter() - start < 30  # refused before fitting, not after


def test_one_kind_of_output_never_replaces_another(
    monkeypatch, capsys, ridge, root, tmp_path
) -> None:
    results = tmp_path / "results"
    assert evaluate_to(monkeypatch, capsys, ridge, root, results)[0] == 0
    code, out = run_cli(
        monkeypatch, capsys, "train", "--task", TASK, "--model", "ridge",
        "--data-root", str(root), "--predictions", str(results), "--overwrite",
    )  # fmt: skip
    assert code == 2 and "a climbench results folder" in out
    assert io.output_kind(results) == "results"


def test_check_output_path_api_names_what_it_found(tmp_path) -> None:
    store = tmp_path / "x.zarr"
    with io.atomic_directory(store, "prepared-store") as tmp:
        tmp.mkdir()
    with pytest.raises(StoreError, match="a climbench prepared store"):
        io.check_output_path(store, "predictions", overwrite=True)
    with pytest.raises(StoreError, match="contains an input"):
        io.check_output_path(tmp_path, "results", inputs=[store])
    assert io.check_output_path(store, "prepared-store", overwrite=True) == store


# ---------------------------------------------------------------------------------------
# kill -9 during --overwrite
# ---------------------------------------------------------------------------------------

#: a subprocess that replaces OUT ("old") by "new" with --overwrite and SIGKILLs itself at
#: the point named by MODE, through the real atomic_directory
KILLED_OVERWRITE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from climbench import io

    out, mode = Path(sys.argv[1]), sys.argv[2]
    real_exchange, real_pair = io._exchange, io._rename_pair

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def exchange(a, b):
        if mode == "before-exchange":
            die()
        if mode == "no-exchange":
            return False
        real_exchange(a, b)
        die()

    def rename_pair(out, trash, partial):
        os.replace(out, trash)
        die()  # between the two renames

    io._exchange, io._rename_pair = exchange, rename_pair
    with io.atomic_directory(out, "results", overwrite=True) as tmp:
        tmp.mkdir()
        (tmp / "data.txt").write_text("new")
    """
)


def write_results(out: Path, text: str) -> None:
    with io.atomic_directory(out, "results", overwrite=True) as tmp:
        tmp.mkdir()
        (tmp / "data.txt").write_text(text)


def killed_overwrite(tmp_path: Path, mode: str) -> Path:
    out = tmp_path / "results"
    write_results(out, "old")
    script = tmp_path / "overwrite.py"
    script.write_text(KILLED_OVERWRITE)
    result = run_subprocess(str(script), str(out), mode, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    return out


def test_exchange_is_atomic_on_this_file_system(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    if not io._exchange(a, b):
        pytest.skip("this file system cannot exchange two paths atomically")
    assert (b / "x").read_text() == "a" and not (a / "x").exists()


@pytest.mark.parametrize("mode, expected", [("before-exchange", "old"), ("after-exchange", "new")])
def test_kill_during_overwrite_leaves_the_old_or_the_new_store(tmp_path, mode, expected) -> None:
    out = killed_overwrite(tmp_path, mode)
    assert (out / "data.txt").read_text() == expected
    assert io.output_kind(out) == "results"
    left = io.leftovers(tmp_path)
    assert [item.action for item in left] == ["remove"]  # the writer is dead
    io.clean(tmp_path)
    assert hidden_entries(tmp_path) == []
    assert (out / "data.txt").read_text() == expected


def test_kill_between_the_fallback_renames_is_recovered(tmp_path) -> None:
    out = killed_overwrite(tmp_path, "no-exchange")
    assert not out.exists()  # the two-rename fallback cannot be atomic
    actions = {item.action: item for item in io.leftovers(tmp_path)}
    assert sorted(actions) == ["remove", "restore"]  # the new partial; the old output
    assert actions["restore"].target == out
    write_results(tmp_path / "other", "x")  # an unrelated write does not touch it
    assert not out.exists()
    io.recover_interrupted(out)  # what the next write of `out` does first
    assert (out / "data.txt").read_text() == "old"
    write_results(out, "newer")
    assert (out / "data.txt").read_text() == "newer"
    assert hidden_entries(tmp_path) == []


def test_clean_skips_the_partial_of_a_running_writer(tmp_path) -> None:
    running = tmp_path / f".store.zarr.partial-{os.getpid()}-0123abcd"
    legacy = tmp_path / ".store.zarr.partial-89abcdef"  # written before pids were named
    for folder in (running, legacy):
        folder.mkdir()
        (folder / "chunk").write_bytes(b"x" * 100)
    actions = {item.path.name: item.action for item in io.clean(tmp_path)}
    assert actions == {running.name: "in use", legacy.name: "remove"}
    assert running.exists() and not legacy.exists()


# ---------------------------------------------------------------------------------------
# kill -9 during tasks prepare, then climbench data clean
# ---------------------------------------------------------------------------------------


def test_killed_prepare_leaves_nothing_that_looks_complete_and_clean_removes_it(
    monkeypatch, capsys, tmp_path
) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "climbench.cli", "tasks", "prepare",
         "forecast/synthetic-5.625", "--data-root", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not io.leftovers(data) and time.monotonic() < deadline:
            assert proc.poll() is None, "prepare ended before it could be killed"
            time.sleep(0.05)
        time.sleep(1.0)  # let it write for a moment
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not get_task("forecast/synthetic-5.625", data).is_prepared()
    left = io.leftovers(data)
    assert left and all(item.action == "remove" for item in left)
    assert sum(item.size for item in left) > 0

    code, out = run_cli(monkeypatch, capsys, "data", "clean", str(data), "--dry-run")
    assert code == 0 and "would free" in out
    assert io.leftovers(data) == left  # a dry run removes nothing
    code, out = run_cli(monkeypatch, capsys, "data", "clean", str(data))
    assert code == 0 and "removed" in out and "freed" in out
    assert io.leftovers(data) == []
    code, out = run_cli(monkeypatch, capsys, "data", "clean", str(data))
    assert "no leftovers" in out


# ---------------------------------------------------------------------------------------
# disk full while writing (a file-size limit makes every write past it fail)
# ---------------------------------------------------------------------------------------

LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    limit = int(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.argv = ["climbench", *sys.argv[2:]]
    from climbench.cli import main
    main()
    """
)


def run_limited(tmp_path: Path, limit: int, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "limited.py"
    script.write_text(LIMITED)
    return run_subprocess(str(script), str(limit), *args)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("limit", [2_000, 9_000])  # in the tables; in the samples netCDF
def test_disk_full_while_writing_results_publishes_nothing(ridge, root, tmp_path, limit) -> None:
    out = tmp_path / "results"
    result = run_limited(
        tmp_path, limit, "evaluate", str(ridge), "--task", TASK, "--data-root", str(root),
        "--resamples", "0", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "writing failed; nothing was published" in result.stderr
    for noise in ("Traceback", "Event loop is closed", "Task was destroyed"):
        assert noise not in result.stderr
    assert not out.exists()
    assert io.leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_disk_full_while_writing_a_task_store_publishes_nothing(tmp_path) -> None:
    data = tmp_path / "data"
    result = run_limited(tmp_path, 200_000, "tasks", "prepare", TASK, "--data-root", str(data))
    assert result.returncode == 2, result.stderr
    assert "writing failed; nothing was published" in result.stderr
    for noise in ("Traceback", "Event loop is closed", "Task was destroyed", "never retrieved"):
        assert noise not in result.stderr
    assert not get_task(TASK, data).is_prepared()
    assert io.leftovers(data) == []


def test_json_outputs_are_standard_json(tmp_path) -> None:
    path = tmp_path / "summary.json"
    io.write_json_atomic(path, {"rmse": float("inf"), "ci": [float("nan"), 1.5]})
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data == {"rmse": None, "ci": [None, 1.5]}
