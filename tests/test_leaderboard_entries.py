"""Leaderboard entries: submit writes them from the official scorer; check refuses each kind
of bad entry (one test per refusal), verify rescores exactly, retract withdraws."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from climbench.baselines import reference_predictions
from climbench.errors import ClimbenchError, ConfigError, DataValueError, SchemaError, TaskError
from climbench.evaluation import evaluate
from climbench.leaderboard import check, problems, retract, submit, verify
from climbench.leaderboard.results_codec import decode_results
from climbench.leaderboard.schema import entry_digest
from climbench.leaderboard.store import entry_path, read_entry

CARD = {
    "name": "pattern_scaling",
    "revision": "1",
    "type": "baseline",
    "description": "closed-form pattern scaling",
    "training_data": "emulation/synthetic training scenarios",
    "training_scenarios": ["control", "ssp126", "ssp585", "ghg-only", "aer-only"],
    "licence": "MIT",
    "citation": "climbench",
    "contact": "maintainers",
    "code_url": "https://example.org/climbench",
}


def write_card(folder: Path, **changes) -> Path:
    card = {**CARD, **changes}
    path = folder / f"card-{abs(hash(json.dumps(card, sort_keys=True)))}.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in card.items() if v is not None}))
    return path


def perturbed(task, folder: Path, name: str, offset: float) -> Path:
    """The pattern-scaling predictions plus ``offset`` (another model's file)."""
    ds = xr.open_zarr(reference_predictions(task, "pattern_scaling")).load()
    out = ds.copy()
    for v in out.data_vars:
        out[v] = (ds[v] + np.float32(offset)).astype("float32")
        out[v].attrs = ds[v].attrs
    out.attrs = {**ds.attrs, "model": name}
    path = folder / f"{name}.zarr"
    out.to_zarr(path, mode="w")
    return path


@pytest.fixture(scope="module")
def submitted(emulation_task, tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaderboard")
    root = folder / "lb"
    path = submit(
        reference_predictions(emulation_task, "pattern_scaling"),
        emulation_task,
        write_card(folder),
        root=root,
    )
    return emulation_task, folder, root, path


@pytest.fixture
def board(submitted, tmp_path):
    """A fresh copy of the one-entry leaderboard."""
    task, _, root, path = submitted
    copy = tmp_path / "lb"
    shutil.copytree(root, copy)
    return task, copy, copy / path.relative_to(root)


def rewrite(path: Path, change, digest: bool = True, to: Path | None = None) -> Path:
    data = json.loads(path.read_text())
    change(data)
    if digest:
        data["digest"] = entry_digest(data)
    to = to or path
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_text(json.dumps(data, indent=1))
    return to


# -- submit ---------------------------------------------------------------------------


def test_submit_records_the_official_scores(submitted):
    task, _, root, path = submitted
    entry = read_entry(path).data
    assert path == entry_path(root, "emulation/synthetic", task.version, entry["id"])
    assert entry["task"] == {
        "name": task.name,
        "version": task.version,
        "digest": task.spec.digest(),
    }
    official = evaluate(reference_predictions(task, "pattern_scaling"), task, baselines=False)
    table = official.table
    row = table[(table.metric == "rmse") & (table.variable == "2m_temperature")].iloc[0]
    series = next(
        s for s in entry["results"] if s["metric"] == "rmse" and s["variable"] == "2m_temperature"
    )
    assert series["region"] == row.region and series["lead_hours"] == [None]
    assert series["value"][0] == float(f"{row.value:.7g}")  # float32 precision, as verify
    assert series["ci_low"][0] == pytest.approx(row.ci_low, rel=5e-7)
    assert decode_results(entry["results"])["value"][0] == series["value"][0]
    assert sum(len(s["value"]) for s in entry["results"]) == len(table)
    assert entry["flags"]["training_overlaps_test"] is False
    assert entry["flags"]["missing_card_fields"] == ["training_periods"]
    assert entry["flags"]["nan_fraction"] == 0.0
    assert len(entry["samples"]["samples"]) == 21  # test years 2080-2100
    assert entry["maps"]["fields"]["2m_temperature"]["shape"] == [32, 64]
    assert entry["digest"] == entry_digest(entry)
    assert check(root) == 1


def test_submit_flags_training_on_the_test_scenario(board, tmp_path):
    task, root, _ = board
    card = write_card(tmp_path, revision="leaky", training_scenarios=["ssp245"])
    predictions = perturbed(task, tmp_path, "leaky", 0.01)
    entry = read_entry(submit(predictions, task, card, root=root)).data
    assert entry["flags"]["training_overlaps_test"] is True
    assert check(root, git=False) == 2


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": None}, "lacks required fields"),
        ({"type": "magic"}, "unknown model type"),
        ({"code_url": "javascript:alert(1)"}, "http(s) URLs"),
        ({"weights_url": "file:///etc/passwd"}, "http(s) URLs"),
        ({"name": "x" * 101}, "length limit"),
        ({"description": "d" * 2001}, "length limit"),
        ({"training_periods": [["2020", "2010"]]}, "not a date range"),
        ({"parameters": "many"}, "wrong type"),
        ({"licence_": "MIT"}, "unknown model card field"),
    ],
)
def test_submit_refuses_a_bad_card(board, tmp_path, changes, message):
    task, root, _ = board
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        submit(
            reference_predictions(task, "pattern_scaling"),
            task,
            write_card(tmp_path, **changes),
            root=root,
        )


def test_submit_refuses_a_card_that_is_not_yaml(board, tmp_path):
    task, root, _ = board
    bad = tmp_path / "card.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not readable YAML"):
        submit(reference_predictions(task, "pattern_scaling"), task, bad, root=root)
    with pytest.raises(ConfigError, match="not found"):
        submit(
            reference_predictions(task, "pattern_scaling"), task, tmp_path / "no.yaml", root=root
        )


def test_submit_refuses_the_same_model_revision(board, tmp_path):
    task, root, _ = board
    with pytest.raises(ConfigError, match="revision already has an entry"):
        submit(perturbed(task, tmp_path, "other", 0.3), task, write_card(tmp_path), root=root)


def test_submit_refuses_the_same_predictions(board, tmp_path):
    task, root, _ = board
    with pytest.raises(ConfigError, match="predictions already have an entry"):
        submit(
            reference_predictions(task, "pattern_scaling"),
            task,
            write_card(tmp_path, revision="2"),
            root=root,
        )


def test_submit_refuses_superseding_an_unknown_entry(board, tmp_path):
    task, root, _ = board
    with pytest.raises(ConfigError, match="supersedes names no entry"):
        submit(
            perturbed(task, tmp_path, "v2", 0.2),
            task,
            write_card(tmp_path, revision="2"),
            root=root,
            supersedes="no-such-entry",
        )


def test_submit_refuses_what_the_scorer_refuses(board, tmp_path):
    task, root, _ = board
    path = perturbed(task, tmp_path, "nan", 0.0)
    ds = xr.open_zarr(path).load()
    ds["2m_temperature"][0, 0, 0, 0] = np.nan
    ds.to_zarr(tmp_path / "nan2.zarr", mode="w")
    with pytest.raises(ClimbenchError, match="NaN"):
        submit(tmp_path / "nan2.zarr", task, write_card(tmp_path, revision="nan"), root=root)
    with pytest.raises(ClimbenchError, match="not found"):
        submit(tmp_path / "missing.zarr", task, write_card(tmp_path, revision="3"), root=root)
    assert check(root, git=False) == 1  # nothing was written


def test_supersede_then_retract(board, tmp_path):
    task, root, first = board
    old = read_entry(first).data["id"]
    new = submit(
        perturbed(task, tmp_path, "v2", 0.05),
        task,
        write_card(tmp_path, revision="2"),
        root=root,
        supersedes=old,
    )
    assert read_entry(new).data["supersedes"] == old
    record = retract(new.stem, "wrong forcing file", root=root)
    assert json.loads(record.read_text())["reason"] == "wrong forcing file"
    assert check(root, git=False) == 2
    with pytest.raises(ConfigError, match="already retracted"):
        retract(new.stem, "again", root=root)
    with pytest.raises(ConfigError, match="needs a reason"):
        retract(old, "  ", root=root)


# -- check: one test per refusal --------------------------------------------------------


def refused(root: Path, message: str, kind=SchemaError) -> None:
    found = problems(root, git=False)
    assert any(isinstance(e, kind) and message in str(e) for e in found), [str(e) for e in found]
    with pytest.raises(ClimbenchError):
        check(root, git=False)


def test_check_refuses_a_schema_violation(board):
    _, root, path = board
    rewrite(path, lambda d: d.pop("flags"))
    refused(root, "entry keys are not the schema's")


def test_check_refuses_a_wrong_type(board):
    _, root, path = board
    rewrite(path, lambda d: d["task"].update(version="1"))
    refused(root, "task.version has the wrong type")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(results=[]), "results must be a non-empty list"),
        (lambda d: d["results"][0].pop("ci_low"), "does not have the schema's keys"),
        (lambda d: d["results"][0].update(metric=1), "series name is not a string"),
        (lambda d: d["results"][0]["value"].append(1.0), "non-empty lists of one length"),
        (lambda d: d["results"][0]["value"].__setitem__(0, True), "not a number"),
        (lambda d: d["results"][0]["value"].__setitem__(0, "1.0"), "not a number"),
        (lambda d: d["results"].append(d["results"][0]), "two results series have the same"),
    ],
)
def test_check_refuses_malformed_results(board, change, message):
    _, root, path = board
    rewrite(path, change)
    refused(root, message)


def test_check_refuses_a_file_not_json(board):
    _, root, path = board
    path.write_text("{not json")
    refused(root, "entry is not JSON")


def test_check_refuses_a_file_name_that_is_not_the_id(board):
    _, root, path = board
    path.rename(path.with_name("renamed.json"))
    refused(root, "file name is not its id")


def test_check_refuses_an_entry_in_another_task_folder(board):
    _, root, path = board
    path.rename(root / "entries" / path.name)
    refused(root, "not in its task's folder")


def test_check_refuses_an_unknown_task(board):
    _, root, path = board
    to = root / "entries" / "emulation" / "nope" / "1" / path.name
    rewrite(path, lambda d: d["task"].update(name="emulation/nope"), to=to)
    path.unlink()
    refused(root, "unknown task", TaskError)


def test_check_refuses_an_unknown_task_version(board):
    _, root, path = board
    to = root / "entries" / "emulation" / "synthetic" / "99" / path.name
    rewrite(path, lambda d: d["task"].update(version=99), to=to)
    path.unlink()
    refused(root, "unknown task or task version", TaskError)


def test_check_refuses_another_task_digest(board):
    _, root, path = board
    rewrite(path, lambda d: d["task"].update(digest="0000000000000000"))
    refused(root, "task digest is not the protocol's", TaskError)


def test_check_refuses_an_entry_edited_without_its_digest(board):
    _, root, path = board
    rewrite(path, lambda d: d["results"][0]["value"].__setitem__(0, 0.001), digest=False)
    refused(root, "does not match its digest")


def _copy_as(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    data["id"] = data["id"][:-8] + "abcdef12"
    data["digest"] = entry_digest(data)
    (path.parent / f"{data['id']}.json").write_text(json.dumps(data))


def test_check_refuses_a_duplicate_model_revision(board):
    _, root, path = board
    _copy_as(path, lambda d: d["provenance"].update(predictions_sha256="ab" * 32))
    refused(root, "the same model name and revision")


def test_check_refuses_duplicate_predictions(board):
    _, root, path = board
    _copy_as(path, lambda d: d["model"].update(revision="2"))
    refused(root, "the same predictions digest")


def test_check_refuses_superseding_an_unknown_entry(board):
    _, root, path = board
    rewrite(path, lambda d: d.update(supersedes="gone-1-00000000"))
    refused(root, "supersedes no entry")


def test_check_refuses_an_entry_over_the_size_limit(board):
    _, root, path = board
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data, indent=1) + " " * 1_600_000)  # same content, padded
    refused(root, "over the size limit")


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda d: d["model"].update(name="n" * 101), "model.name"),
        (lambda d: d["model"].update(contact="c" * 201), "model.contact"),
        (
            lambda d: d["provenance"].update(predictions_name="p" * 201),
            "provenance.predictions_name",
        ),
    ],
)
def test_check_refuses_strings_over_their_limits(board, change, where):
    _, root, path = board
    rewrite(path, change)
    refused(root, "length limit")
    assert where in str(problems(root, git=False)[0])


def test_check_refuses_an_id_that_is_not_an_id(board):
    _, root, path = board
    to = path.with_name("javascript:alert(1).json")
    rewrite(path, lambda d: d.update(id="javascript:alert(1)"), to=to)
    path.unlink()
    refused(root, "not an entry id")


def test_check_refuses_a_bad_retraction(board):
    _, root, path = board
    (root / "retractions").mkdir()
    (root / "retractions" / "nobody-1-00000000.json").write_text('{"reason": "x"}')
    refused(root, "retraction of an unknown entry")
    (root / "retractions" / "nobody-1-00000000.json").unlink()
    (root / "retractions" / f"{path.stem}.json").write_text('{"reason": ""}')
    refused(root, "retraction without a reason")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_check_refuses_an_edited_or_deleted_merged_entry(board):
    _, root, path = board
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "entry")
    assert check(root) == 1
    # an edit with a recomputed digest passes the schema but not the history
    rewrite(path, lambda d: d["results"][0]["value"].__setitem__(0, 0.001))
    assert check(root, git=False) == 1
    with pytest.raises(SchemaError, match="committed entry was changed"):
        check(root)
    _git(root, "commit", "-q", "-am", "edit")
    assert check(root) == 1  # landed at HEAD: a pull request is checked against its base
    with pytest.raises(SchemaError, match="changed since HEAD~1"):
        check(root, base="HEAD~1")
    path.unlink()
    assert any("found deleted since HEAD" in str(e) for e in problems(root))
    with pytest.raises(ConfigError, match="unknown git revision"):
        check(root, base="no-such-branch")


# -- verify ---------------------------------------------------------------------------


def test_verify_reproduces_the_entry_exactly(submitted):
    task, _, root, path = submitted
    data = verify(path.stem, reference_predictions(task, "pattern_scaling"), root=root)
    assert data["id"] == path.stem


def test_verify_refuses_other_predictions_and_edited_numbers(board, tmp_path):
    task, root, path = board
    with pytest.raises(DataValueError, match="not the entry's predictions"):
        verify(path.stem, perturbed(task, tmp_path, "x", 0.1), root=root)
    rewrite(path, lambda d: d["results"][0]["value"].__setitem__(0, 0.001))
    with pytest.raises(DataValueError, match="does not reproduce"):
        verify(path, reference_predictions(task, "pattern_scaling"), root=root)
