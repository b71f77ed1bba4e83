"""The provider-API access methods against loopback servers serving real files: the real
cdsapi client (CDS retrieve protocol), ESGF file search, a Zenodo record, NASA CMR search
with Earthdata-style basic auth behind a redirect (temporary netrc), and an intake-esm
catalog (JSON + CSV) pointing at local Zarr stores."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import climbench
from climbench.datasets.manifest import MANIFEST, verify
from climbench.errors import ConfigError, DataFileError
from tests.servers.http_files import FileServer
from tests.servers.services import CDSLegacy, CMRSearch, ESGFSearch, json_route

CDS_FILE = "RocketPy-Team+RocketPy/data/weather/hedy_euroc_2025_weather_data.nc"
MERRA = "KANISHKLEGENDARY+ISRO-Hackathon-AeroSphinX-Project-/merra_downloads"
CMIP6 = "Climate-REF+ref-sample-data/data/CMIP6/CMIP/CSIRO/ACCESS-ESM1-5"
TAS_HIST = f"{CMIP6}/historical/r1i1p1f1/Amon/tas/gn/v20191115/tas_Amon_ACCESS-ESM1-5_historical_r1i1p1f1_gn_200001-201412.nc"  # noqa: E501
PR_HIST = f"{CMIP6}/historical/r1i1p1f1/Amon/pr/gn/v20191115/pr_Amon_ACCESS-ESM1-5_historical_r1i1p1f1_gn_200001-201412.nc"  # noqa: E501
ERF = "duncanwp+ClimateBench/inputs_NorESM2_ERF.csv"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def www(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = FileServer(root)
    yield server
    server.close()


def put(server: FileServer, relative: str, data: bytes) -> str:
    path = server.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return server.url_of(relative)


# -- CDS --------------------------------------------------------------------------------------
@pytest.fixture
def cds(www, shared_file, monkeypatch, tmp_path):
    data = shared_file(CDS_FILE).read_bytes()
    put(www, "cache/result.nc", data)
    service = CDSLegacy(www.url, "cache/result.nc", len(data))
    www.routes["/api/"] = service
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CDSAPI_RC", str(tmp_path / "home" / ".cdsapirc"))
    monkeypatch.setenv("CLIMBENCH_ENDPOINT_CDS_ERA5_PRESSURE_LEVELS", f"{www.url}/api")
    monkeypatch.delenv("CDSAPI_URL", raising=False)
    return service, data


def test_cds_through_the_real_cdsapi_client(cds, tmp_path, monkeypatch) -> None:
    service, data = cds
    monkeypatch.setenv("CDSAPI_KEY", service.key)
    out = climbench.download(
        "cds-era5-pressure-levels",
        variables=["geopotential"],
        levels=[500],
        years="2025",
        out=tmp_path / "dl",
    )
    [request] = service.requests
    assert request["dataset"] == "reanalysis-era5-pressure-levels"
    assert request["variable"] == ["geopotential"] and request["year"] == ["2025"]
    assert request["pressure_level"] == ["500"] and request["data_format"] == "netcdf"
    got = out / "geopotential_500_2025.nc"
    assert got.read_bytes() == data
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["files"][0]["sha256"] == sha256(data)
    assert verify(out)[1] == []
    ds = climbench.open_dataset(got)  # the new CDS netCDF layout (valid_time, pressure_level)
    assert "geopotential" in ds and "level" in ds.dims
    assert not (tmp_path / "home" / ".cdsapirc").exists()  # credentials never written
    climbench.download("cds-era5-pressure-levels", variables=["geopotential"], levels=[500],
                       years="2025", out=tmp_path / "dl")  # fmt: skip
    assert len(service.requests) == 1  # complete: nothing requested again


def test_cds_without_credentials_names_where_they_are_read(cds, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CDSAPI_KEY", raising=False)
    with pytest.raises(ConfigError, match="no Climate Data Store credentials") as info:
        climbench.download("cds-era5-pressure-levels", variables=["temperature"], levels=[850],
                           years="2025", out=tmp_path / "dl")  # fmt: skip
    assert ".cdsapirc" in str(info.value) and "CDSAPI_KEY" in str(info.value)
    assert not (tmp_path / "home" / ".cdsapirc").exists()


def test_cds_wrong_key_is_a_clear_refusal(cds, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CDSAPI_KEY", "12345:wrong")
    with pytest.raises(DataFileError, match="refused the request") as info:
        climbench.download("cds-era5-pressure-levels", variables=["temperature"], levels=[850],
                           years="2025", out=tmp_path / "dl")  # fmt: skip
    assert "Authentication failed" in str(info.value)
    assert not (tmp_path / "dl" / MANIFEST).exists()


# -- ESGF -------------------------------------------------------------------------------------
def test_esgf_search_records_with_checksums(www, shared_file, tmp_path, monkeypatch) -> None:
    records = []
    for rel, var in ((TAS_HIST, "tas"), (PR_HIST, "pr")):
        data = shared_file(rel).read_bytes()
        name = Path(rel).name
        url = put(www, f"thredds/fileServer/{name}", data)
        records.append(
            {
                "title": name,
                "size": len(data),
                "checksum": [sha256(data)],
                "checksum_type": ["SHA256"],
                "url": [f"{url}|application/netcdf|HTTPServer", "gsiftp://x|x|GridFTP"],
                "source_id": ["ACCESS-ESM1-5"],
                "experiment_id": ["historical"],
                "member_id": ["r1i1p1f1"],
                "table_id": ["Amon"],
                "variable_id": [var],
            }
        )
    search = ESGFSearch(records)
    www.routes["/esg-search/search"] = search
    monkeypatch.setenv("CLIMBENCH_ENDPOINT_CMIP6_ESGF", f"{www.url}/esg-search/search")
    facets = {"source_id": "ACCESS-ESM1-5", "experiment_id": "historical"}
    out = climbench.download("cmip6-esgf", variables=["tas"], years="2000-2014",
                             facets=facets, out=tmp_path / "dl")  # fmt: skip
    assert search.queries[0]["type"] == "File" and search.queries[0]["variable_id"] == "tas"
    [entry] = json.loads((out / MANIFEST).read_text())["files"]
    assert entry["path"] == Path(TAS_HIST).name
    assert entry["provider_checksum"] == f"sha256:{records[0]['checksum'][0]}"
    ds = climbench.open_dataset(out / entry["path"])
    assert "2m_temperature" in ds
    with pytest.raises(ConfigError, match="unknown facet"):
        climbench.download("cmip6-esgf", facets={"institution": "CSIRO"}, dry_run=True)


def test_esgf_record_with_a_wrong_checksum_is_refused(www, shared_file, tmp_path) -> None:
    data = shared_file(TAS_HIST).read_bytes()
    url = put(www, "f/tas.nc", data)
    www.routes["/search"] = ESGFSearch(
        [
            {
                "title": "tas_185001-201412.nc",
                "size": len(data),
                "checksum": ["0" * 32],
                "checksum_type": ["MD5"],
                "url": [f"{url}|application/netcdf|HTTPServer"],
                "variable_id": ["tas"],
            }
        ]  # fmt: skip
    )
    with pytest.raises(DataFileError, match="checksum mismatch"):
        climbench.download("cmip6-esgf", variables=["tas"], out=tmp_path / "dl",
                           endpoint=f"{www.url}/search")  # fmt: skip
    assert (tmp_path / "dl" / "tas_185001-201412.nc.bad").exists()


# -- Zenodo -----------------------------------------------------------------------------------
def _tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_zenodo_record_files_verified_by_md5(www, shared_file, tmp_path, monkeypatch) -> None:
    archives = {
        "train_val.tar.gz": _tar_gz({"inputs_NorESM2_ERF.csv": shared_file(ERF).read_bytes()}),
        "test.tar.gz": _tar_gz({"tas.nc": shared_file(TAS_HIST).read_bytes()}),
        "README.md": b"not wanted",
    }
    files = []
    for name, data in archives.items():
        url = put(www, f"records/7064308/files/{name}", data)
        files.append({"key": name, "size": len(data), "links": {"self": url},
                      "checksum": "md5:" + hashlib.md5(data).hexdigest()})  # fmt: skip
    www.routes["/api/records/7064308"] = json_route({"id": 7064308, "files": files})
    monkeypatch.setenv("CLIMBENCH_ENDPOINT_CLIMATEBENCH", f"{www.url}/api/records/7064308")
    plan = climbench.download("climatebench", dry_run=True, out=tmp_path / "dl")
    assert [i.name for i in plan.items] == ["train_val.tar.gz", "test.tar.gz"]
    assert plan.total_bytes == len(archives["train_val.tar.gz"]) + len(archives["test.tar.gz"])
    out = climbench.download("climatebench", out=tmp_path / "dl")
    assert (out / "test.tar.gz").read_bytes() == archives["test.tar.gz"]
    assert not (out / "README.md").exists()
    with tarfile.open(out / "train_val.tar.gz") as tar:
        assert b"CO2" in tar.extractfile("inputs_NorESM2_ERF.csv").read()


# -- Earthdata / GES DISC -----------------------------------------------------------------------
def _granule(url: str, data: bytes) -> dict:
    name = url.rsplit("/", 1)[1]
    return {
        "umm": {
            "GranuleUR": name,
            "RelatedUrls": [
                {"URL": url, "Type": "GET DATA"},
                {"URL": url + ".xml", "Type": "GET DATA"},
            ],
            "DataGranule": {
                "ArchiveAndDistributionInformation": [
                    {
                        "Name": name,
                        "SizeInBytes": len(data),
                        "Checksum": {"Value": hashlib.md5(data).hexdigest(), "Algorithm": "MD5"},
                    }
                ]
            },  # fmt: skip
        }
    }


@pytest.fixture
def gesdisc(www, shared_data, monkeypatch, tmp_path):
    files = sorted((shared_data / MERRA).glob("MERRA2_400.tavg1_2d_slv_Nx.2024010[1-5].SUB.nc"))
    if len(files) < 5:
        pytest.skip("MERRA-2 sample files missing")
    items = [
        _granule(put(www, f"data/MERRA2/M2T1NXSLV.5.12.4/2024/01/{f.name}", f.read_bytes()),
                 f.read_bytes())
        for f in files
    ]  # fmt: skip
    search = CMRSearch(items, page_size=2)
    www.routes["/search/granules.umm_json"] = search
    www.faults.basic_auth = ("earthdata-user", "s3cret")
    www.faults.auth_redirect = True
    monkeypatch.setenv("CLIMBENCH_ENDPOINT_MERRA2_M2T1NXSLV", f"{www.url}/search/granules.umm_json")
    monkeypatch.delenv("EARTHDATA_TOKEN", raising=False)
    return search, files


def test_merra2_granules_by_search_with_netrc_login(gesdisc, tmp_path, monkeypatch) -> None:
    search, files = gesdisc
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login earthdata-user password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    out = climbench.download("merra2-m2t1nxslv", years="2024", out=tmp_path / "dl")
    assert search.queries[0]["short_name"] == "M2T1NXSLV"
    assert search.queries[0]["temporal"].startswith("2024-01-01")
    assert len(search.queries) == 3  # five granules, two per page
    assert sorted(p.name for p in out.glob("*.nc")) == [f.name for f in files]
    ds = climbench.open_dataset(sorted(out.glob("*.nc")))
    assert "2m_temperature" in ds and ds.sizes["time"] == 15
    assert verify(out)[1] == []


def test_merra2_with_an_earthdata_token(gesdisc, www, tmp_path, monkeypatch) -> None:
    _, files = gesdisc
    www.faults.basic_auth = None
    www.faults.bearer = "edl-token-123"
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("EARTHDATA_TOKEN", "edl-token-123")
    out = climbench.download("merra2-m2t1nxslv", years="2024", out=tmp_path / "dl")
    assert len(list(out.glob("*.nc"))) == len(files)
    monkeypatch.setenv("EARTHDATA_TOKEN", "expired")
    with pytest.raises(DataFileError, match="authentication required"):
        climbench.download("merra2-m2t1nxslv", years="2024", out=tmp_path / "dl2")


def test_merra2_wrong_login_names_the_earthdata_credential(gesdisc, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login earthdata-user password wrong\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with pytest.raises(DataFileError, match="authentication required") as info:
        climbench.download("merra2-m2t1nxslv", years="2024", out=tmp_path / "dl")
    assert "netrc" in str(info.value) and "EARTHDATA_TOKEN" in str(info.value)


# -- intake-esm ----------------------------------------------------------------------------------
def test_intake_esm_catalog_of_local_zarr_stores(shared_file, tmp_path) -> None:
    pytest.importorskip("intake_esm")
    rows = []
    for rel, var in ((TAS_HIST, "tas"), (PR_HIST, "pr")):
        store = tmp_path / "cloud" / f"{var}.zarr"
        with xr.open_dataset(shared_file(rel)) as ds:
            ds.load().to_zarr(store, zarr_format=2, consolidated=True)
        rows.append(f"CMIP,CSIRO,ACCESS-ESM1-5,historical,r1i1p1f1,Amon,{var},gn,{store},20191115")
    csv = tmp_path / "catalog.csv"
    csv.write_text(
        "activity_id,institution_id,source_id,experiment_id,member_id,table_id,variable_id,"
        "grid_label,zstore,version\n" + "\n".join(rows) + "\n"
    )
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({
        "esmcat_version": "0.1.0", "id": "test", "description": "local copy",
        "catalog_file": str(csv),
        "attributes": [{"column_name": c} for c in ("activity_id", "institution_id", "source_id",
                       "experiment_id", "member_id", "table_id", "variable_id", "grid_label")],
        "assets": {"column_name": "zstore", "format": "zarr"},
        "aggregation_control": {"variable_column_name": "variable_id", "groupby_attrs": [
            "source_id", "experiment_id", "table_id"], "aggregations": []},
    }))  # fmt: skip
    facets = {"source_id": "ACCESS-ESM1-5", "experiment_id": "historical", "table_id": "Amon"}
    out = climbench.download("cmip6-pangeo", variables=["tas"], years="2005-2009",
                             facets=facets, out=tmp_path / "dl", endpoint=str(catalog))  # fmt: skip
    [store] = sorted(out.glob("*.zarr"))
    assert store.name == "ACCESS-ESM1-5.historical.r1i1p1f1.Amon.tas.zarr"
    ds = climbench.open_dataset(store)
    src = climbench.open_dataset(shared_file(TAS_HIST)).sel(time=slice("2005", "2009"))
    assert ds.sizes["time"] == 60
    np.testing.assert_allclose(ds["2m_temperature"].values, src["2m_temperature"].values)
    assert verify(out)[1] == []


@pytest.mark.parametrize(
    ("module", "card", "kwargs"),
    [
        ("cdsapi", "cds-era5-single-levels", {"variables": ["t2m"], "years": "2020"}),
        ("intake_esm", "cmip6-pangeo", {"variables": ["tas"]}),
        ("gcsfs", "wb2-era5-5.625", {"variables": ["t2m"], "years": "2000", "dry_run": True}),
    ],
)
def test_a_missing_extra_is_named(module, card, kwargs, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    cached = importlib.import_module("fsspec.registry")._registry  # (fsspec.registry is a view)
    for protocol in ("gs", "gcs"):  # fsspec caches the classes it imported
        monkeypatch.delitem(cached, protocol, raising=False)
    monkeypatch.setenv("CLIMBENCH_GCS_ENDPOINT", "http://127.0.0.1:9")  # never the internet
    monkeypatch.setenv("CDSAPI_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("CDSAPI_KEY", "1:x")
    with pytest.raises(ConfigError, match="not installed|missing") as info:
        climbench.download(card, out=tmp_path / "dl", **kwargs)
    assert "climbench[download]" in str(info.value)


@pytest.mark.parametrize(
    "card, service", [("cds-era5-single-levels", "CDS"), ("merra2-m2t1nxslv", "MERRA-2")]
)
def test_services_served_by_year_refuse_a_request_without_years(card, service, tmp_path) -> None:
    with pytest.raises(ConfigError, match=f"a {service} download needs years") as err:
        climbench.download(card, out=tmp_path / "dl", dry_run=True)
    assert err.value.variable == "years" and card in str(err.value)
    assert not (tmp_path / "dl").exists()
