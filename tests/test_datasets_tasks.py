"""``climbench tasks prepare NAME --download``: the task's card and selection, and the real
UK ERA5 task fetched from a loopback server (its pinned sha256 checked) and prepared."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from climbench.cli import app
from climbench.datasets.manifest import verify
from climbench.datasets.tasks import task_request
from climbench.errors import TaskError
from climbench.tasks import get_task
from tests.servers.http_files import FileServer

UK = "pydata+xarray-data/era5-2mt-2019-03-uk.grib"


def test_the_era5_task_asks_its_fields_levels_and_years(tmp_path) -> None:
    request = task_request(get_task("forecast/era5-5.625", tmp_path))
    assert request["card"].name == "wb2-era5-5.625"
    assert request["levels"] == [500.0, 850.0]
    assert request["years"] == [1979, 2019]
    assert set(request["variables"]) == {
        "geopotential", "temperature", "2m_temperature", "10m_u_component_of_wind",
        "10m_v_component_of_wind", "mean_sea_level_pressure", "total_precipitation_6hr",
        "land_sea_mask", "geopotential_at_surface",
    }  # fmt: skip


def test_a_task_without_a_card_is_refused(tmp_path) -> None:
    with pytest.raises(TaskError, match="no dataset card serves"):
        task_request(get_task("emulation/synthetic", tmp_path))


def test_prepare_with_download_fetches_then_prepares(shared_file, tmp_path, monkeypatch) -> None:
    src = shared_file(UK)
    www = tmp_path / "www"
    www.mkdir()
    (www / src.name).write_bytes(src.read_bytes())
    server = FileServer(www)
    try:
        monkeypatch.setenv("CLIMBENCH_ENDPOINT_XARRAY_ERA5_UK_T2M", server.url)
        root = tmp_path / "data"
        result = CliRunner().invoke(
            app,
            ["tasks", "prepare", "forecast/era5-uk-t2m", "--download", "--data-root", str(root)],
        )
        assert result.exit_code == 0, result.output
    finally:
        server.close()
    folder = root / "datasets" / "xarray-era5-uk-t2m-era5-uk-t2m-2019-03"
    assert (folder / src.name).read_bytes() == src.read_bytes() and verify(folder)[1] == []
    assert get_task("forecast/era5-uk-t2m", root).is_prepared()
