"""Dataset cards: every shipped card validates against the schema, the registry finds
them, broken cards are refused with the file and key named, and the CLI lists and shows
them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import climbench
import climbench.datasets as datasets
from climbench.cli import app
from climbench.data.vocabulary import BY_NAME
from climbench.datasets.card import METHODS, card_from_dict, load_card
from climbench.datasets.registry import CARDS_DIR
from climbench.errors import ConfigError, TaskError

REPO = Path(__file__).resolve().parents[1]
REQUIRED = {
    "wb2-era5-5.625", "wb2-era5-1.5", "wb2-era5-0.25", "wb2-era5-climatology-5.625",
    "wb2-hres-5.625", "arco-era5", "cds-era5-single-levels", "cds-era5-pressure-levels",
    "cds-era5-land", "merra2-m2t1nxslv", "merra2-m2i3npasm", "cmip6-pangeo", "cmip6-esgf",
    "climatebench",
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(CARDS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_card_is_valid(path: Path) -> None:
    card = load_card(path)
    assert card.name == path.stem and card.method in METHODS
    assert card.licence["url"].startswith("https://") and "@" in card.citation["bibtex"]
    assert card.citation["doi"].startswith("10.")
    assert card.size_bytes > 0 and card.credentials["kind"]
    for var in card.variables:  # canonical names from the vocabulary (emission names aside)
        assert var.canonical in BY_NAME or card.name == "climatebench", var.canonical
        assert not var.levels or card.levels, f"{var.native} is on levels the card lacks"


def test_the_issue_cards_are_registered() -> None:
    assert {c.name for c in datasets.list()} >= REQUIRED
    card = datasets.get("wb2-era5-5.625")
    assert card.endpoint.startswith("gs://weatherbench2/datasets/era5/")
    assert datasets.get(card) is card
    assert datasets.get("arco-era5").options["valid_time_attrs"] == [
        "valid_time_start",
        "valid_time_stop",
    ]
    assert "descending" in datasets.get("wb2-era5-0.25").notes
    assert callable(climbench.download)


def test_top_level_folder_points_at_the_cards() -> None:
    assert "climbench/datasets/cards" in (REPO / "datasets" / "README.md").read_text()


def test_unknown_card_lists_the_known_ones() -> None:
    with pytest.raises(TaskError, match="unknown dataset card") as info:
        datasets.get("wb3-era5")
    assert "wb2-era5-5.625" in str(info.value)


def base_card() -> dict:
    return yaml.safe_load((CARDS_DIR / "wb2-era5-5.625.yaml").read_text())


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.pop("licence"), "licence"),
        (lambda d: d["access"].update(method="ftp"), "access.method"),
        (lambda d: d["citation"].pop("doi"), "citation.doi"),
        (lambda d: d.update(variables=[]), "variables"),
        (lambda d: d["variables"][0].pop("units"), "variables[0].units"),
        (lambda d: d["checksums"].update(source="trust me"), "checksums.source"),
        (lambda d: d["size"].update(bytes=-1), "size.bytes"),
        (lambda d: d.update(licence_url="x"), "licence_url"),
        (lambda d: d.update(name="WB2 ERA5"), "name"),
    ],
)
def test_broken_cards_are_refused(change, key, tmp_path) -> None:
    data = base_card()
    change(data)
    with pytest.raises(ConfigError, match="invalid dataset card") as info:
        card_from_dict(data, "cards/wb2-era5-5.625.yaml")
    assert info.value.variable == key and info.value.path == "cards/wb2-era5-5.625.yaml"


def test_a_file_whose_name_differs_from_the_card_is_refused(tmp_path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(base_card()))
    with pytest.raises(ConfigError, match="invalid dataset card") as info:
        load_card(path)
    assert info.value.variable == "name"


def test_endpoint_override_by_environment(monkeypatch) -> None:
    card = datasets.get("wb2-era5-5.625")
    assert card.endpoint_env == "CLIMBENCH_ENDPOINT_WB2_ERA5_5_625"
    assert card.resolved_endpoint() == card.endpoint
    monkeypatch.setenv(card.endpoint_env, "https://mirror.example/wb2.zarr")
    assert card.resolved_endpoint() == "https://mirror.example/wb2.zarr"
    assert card.resolved_endpoint("http://127.0.0.1:1/x.zarr") == "http://127.0.0.1:1/x.zarr"


def test_variables_by_canonical_native_or_alias_name() -> None:
    card = datasets.get("merra2-m2t1nxslv")
    assert card.variable("T2M") is card.variable("2m_temperature") is card.variable("t2m")
    assert datasets.get("wb2-era5-5.625").variable("z").canonical == "geopotential"


def test_selection_is_checked_against_the_card() -> None:
    with pytest.raises(ConfigError, match="no such variable") as info:
        climbench.download("wb2-era5-5.625", variables=["z500"], dry_run=True)
    assert "geopotential" in str(info.value)
    with pytest.raises(ConfigError, match="bad years"):
        climbench.download("wb2-era5-5.625", years="2018-1979", dry_run=True)
    with pytest.raises(ConfigError, match="takes no facets"):
        climbench.download("wb2-era5-5.625", facets={"source_id": "x"}, dry_run=True)


def test_cli_list_and_show() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["datasets", "list"], env={"COLUMNS": "160"})
    assert listed.exit_code == 0
    for name in ("wb2-era5-5.625", "merra2-m2i3npasm", "climatebench", "NASA-open-data"):
        assert name in listed.output
    shown = runner.invoke(app, ["datasets", "show", "wb2-era5-5.625"], env={"COLUMNS": "160"})
    assert shown.exit_code == 0
    for text in ("geopotential", "CC-BY-4.0", "10.1029/2023MS004019", "5.625", "@article"):
        assert text in shown.output
    missing = runner.invoke(app, ["datasets", "show", "nope"])
    assert missing.exit_code != 0
