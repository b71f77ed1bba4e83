"""The synthetic climate generator: energy balance, scenarios, patterns, members, schema."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climbench.data.grids import cell_area_weights
from climbench.data.schema import validate
from climbench.data.synthetic import SCENARIOS, climate, two_layer_ebm
from climbench.errors import ClimbenchError, TimeAxisError


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return climate(members=3, seed=3).compute()


def global_mean(da: xr.DataArray) -> xr.DataArray:
    w = xr.DataArray(cell_area_weights(da["lat"].values), dims="lat")
    return da.weighted(w).mean(("lat", "lon"))


def test_energy_balance_equilibrium_and_transient_response() -> None:
    surface, deep = two_layer_ebm(np.full(3000, 3.7))
    assert surface[-1] == pytest.approx(3.7 / 1.2, rel=0.02)
    assert deep[-1] == pytest.approx(3.7 / 1.2, rel=0.05)
    # fast response: most of the fast equilibrium F / (lambda + gamma) within a decade
    assert surface[9] > 0.8 * 3.7 / (1.2 + 0.7)
    assert surface[9] < 0.6 * surface[-1]  # ... while the deep ocean still holds it back
    # transient climate response: 1 %/yr CO2, warming at doubling (year 70)
    forcing = 5.35 * np.log(1.01 ** np.arange(1, 141))
    tcr = two_layer_ebm(forcing)[0][69]
    assert 1.5 < tcr < 2.5  # ACCESS-ESM1-5 in ../shared/data: about 2.0 K


def test_schema_dims_and_attributes(ds: xr.Dataset) -> None:
    validate(ds)
    assert ds["scenario"].values.tolist() == list(SCENARIOS)
    assert ds["2m_temperature"].dims == ("scenario", "time", "member", "lat", "lon")
    assert ds["SO2"].dims == ("scenario", "time", "lat", "lon")
    assert ds["CO2"].dims == ("scenario", "time")
    assert ds.sizes["time"] == 251 and ds.sizes["member"] == 3
    assert ds.attrs["synthetic"] == 1 and ds.attrs["seed"] == 3
    assert ds["precipitation_90th_percentile"].attrs["units"] == "kg m-2 s-1"
    for name in ds.data_vars:
        assert np.isfinite(ds[name].values).all(), name


def test_scenarios_warm_in_order_of_forcing(ds: xr.Dataset) -> None:
    tas = global_mean(ds["2m_temperature"]).mean("member")
    anomaly = tas - tas.sel(scenario="control")
    end = anomaly.sel(time=slice("2081", "2100")).mean("time")
    assert float(end.sel(scenario="control")) == 0
    assert (
        end.sel(scenario="ssp585")
        > end.sel(scenario="ssp370")
        > end.sel(scenario="ssp245")
        > end.sel(scenario="ssp126")
        > 0.5
    )
    assert 3.0 < float(end.sel(scenario="ssp585")) < 6.0
    # aerosols cool, greenhouse gases warm; the sum is close to the all-forcing run
    recent = anomaly.sel(time=slice("1990", "2014")).mean("time")
    assert recent.sel(scenario="aer-only") < -0.2
    assert recent.sel(scenario="ghg-only") > recent.sel(scenario="ssp245") > 0.2
    total = recent.sel(scenario="aer-only") + recent.sel(scenario="ghg-only")
    assert float(total) == pytest.approx(float(recent.sel(scenario="ssp245")), abs=0.15)
    # the historical period is the same forcing in every SSP
    co2 = ds["CO2"].sel(time=slice("1850", "2014"))
    assert np.array_equal(co2.sel(scenario="ssp126"), co2.sel(scenario="ssp585"))
    assert float(ds["CO2"].sel(scenario="control").max()) == 0


def test_aerosol_pattern_is_not_a_multiple_of_the_greenhouse_pattern(ds: xr.Dataset) -> None:
    tas = ds["2m_temperature"].mean("member")
    later = tas.sel(time=slice("1990", "2100")).mean("time")
    aer = (later.sel(scenario="aer-only") - later.sel(scenario="control")).values.ravel()
    ghg = (later.sel(scenario="ghg-only") - later.sel(scenario="control")).values.ravel()
    r = np.corrcoef(aer, ghg)[0, 1]
    assert abs(r) < 0.8
    # the aerosol response sits in the north, where the emissions are
    lat = ds["lat"].values
    aer_map = aer.reshape(lat.size, -1)
    assert aer_map[lat > 20].mean() < 2 * aer_map[lat < -20].mean()


def test_members_differ_and_internal_variability_is_modest(ds: xr.Dataset) -> None:
    control = global_mean(ds["2m_temperature"].sel(scenario="control"))
    assert not np.allclose(control.isel(member=0), control.isel(member=1))
    assert 0.02 < float(control.std("time").mean()) < 0.3
    point = ds["2m_temperature"].sel(scenario="control").std("time").mean("member")
    assert 0.1 < float(point.mean()) < 2.0
    x = control.isel(member=0).values - control.isel(member=0).values.mean()
    assert np.corrcoef(x[:-1], x[1:])[0, 1] > 0.1  # red in time


def test_dtr_and_precipitation_fields(ds: xr.Dataset) -> None:
    dtr = ds["diurnal_temperature_range"]
    pr = ds["mean_total_precipitation_rate"]
    pr90 = ds["precipitation_90th_percentile"]
    assert float(dtr.min()) > 0 and float(pr.min()) >= 0
    assert bool((pr90 >= pr).all())
    mm_day = float(global_mean(pr.sel(scenario="control")).mean()) * 86400
    assert 2.0 < mm_day < 3.5
    gm = global_mean(pr).mean("member")
    change = gm.sel(scenario="ssp585", time="2100") / gm.sel(scenario="control", time="2100")
    assert 1.03 < float(change.squeeze()) < 1.15  # about 2 %/K
    land_dtr = global_mean(dtr.sel(scenario="aer-only") - dtr.sel(scenario="control"))
    assert float(land_dtr.sel(time=slice("1970", "2000")).mean()) < 0  # aerosol dimming


def test_reproducible_and_arguments_checked() -> None:
    a = climate(years="2000-2010", members=2, scenarios=["ssp245"], seed=5).compute()
    b = climate(years="2000-2010", members=2, scenarios=["ssp245"], seed=5).compute()
    c = climate(years="2000-2010", members=2, scenarios=["ssp245"], seed=6).compute()
    for name in a.data_vars:
        assert a[name].values.tobytes() == b[name].values.tobytes()
    assert not np.array_equal(a["2m_temperature"], c["2m_temperature"])
    with pytest.raises(ClimbenchError, match="unknown scenario"):
        climate(scenarios=["rcp85"])
    with pytest.raises(TimeAxisError):
        climate(years="1800-1900")
    with pytest.raises(ClimbenchError, match="members"):
        climate(members=0)
