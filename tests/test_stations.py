"""The canonical station schema, CSV station tables and scoring gridded forecasts at
stations (bilinear to each station, lapse-rate height correction, per-station and
aggregated scores with intervals over times)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import climbench
from climbench.data.schema import validate
from climbench.data.stations import open_station_csv, station_coords
from climbench.errors import DataFileError, SchemaError, VariableNotFoundError
from climbench.evaluation.stations import (
    STANDARD_LAPSE_RATE,
    interpolate_to_stations,
    score_stations,
)
from tests.test_open_real_files import KNMI

TIMES = pd.date_range("2024-05-16T00", periods=24, freq="h")


def grid_forecast(values=None, lat=None, lon=None) -> xr.Dataset:
    """2 m temperature on a 0.25 deg grid over the Netherlands, linear in lat and lon."""
    lat = np.arange(50.0, 54.01, 0.25) if lat is None else lat
    lon = np.arange(2.0, 8.01, 0.25) if lon is None else lon
    if values is None:
        field = 290.0 - 1.5 * (lat[:, None] - 50) + 0.4 * (lon[None, :] - 2)
        values = np.broadcast_to(field, (TIMES.size, *field.shape)).copy()
    return xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), values, {"units": "K"})},
        coords={"time": TIMES, "lat": lat, "lon": lon},
    )


def linear_truth(lat, lon):
    return 290.0 - 1.5 * (np.asarray(lat) - 50) + 0.4 * (np.asarray(lon) - 2)


def station_obs(lat, lon, values, elevation=None) -> xr.Dataset:
    ids = [f"S{k}" for k in range(len(lat))]
    ds = xr.Dataset({"2m_temperature": (("time", "station"), values, {"units": "K"})})
    return ds.assign_coords(time=TIMES, **station_coords(ids, lat, lon, elevation))


def test_csv_table_opens_in_the_station_schema(tmp_path: Path) -> None:
    rows = []
    for k, t in enumerate(TIMES[:4]):
        for sid, lat, lon, z in (("06260", 52.1, 5.18, 1.9), ("06380", 50.9, 5.77, 114.3)):
            if sid == "06380" and k == 2:
                continue  # a missing row
            rows.append(
                {"STN": sid, "date": t.isoformat(), "latitude": lat, "longitude": lon}
                | {"elevation": z, "ta": 12.0 + k, "pp": 1013.0, "note": "ok"}
            )
    path = tmp_path / "stations.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    ds = open_station_csv(
        path,
        columns={"station": "STN", "time": "date", "lat": "latitude", "lon": "longitude"},
        units={"ta": "degC", "pp": "hPa"},
    )
    validate(ds, "stations.csv")
    assert ds.sizes == {"time": 4, "station": 2}
    assert ds["station"].values.tolist() == ["06260", "06380"]
    t2m = ds["2m_temperature"]
    assert t2m.dims == ("time", "station") and t2m.attrs["units"] == "K"
    np.testing.assert_allclose(t2m.sel(station="06260").values, 285.15 + np.arange(4))
    assert np.isnan(t2m.sel(station="06380").values[2])  # the missing row
    assert ds["mean_sea_level_pressure"].attrs["units"] == "Pa"
    assert float(ds["elevation"].sel(station="06380")) == 114.3
    assert "note" not in ds  # text columns are not observations


def test_csv_table_errors_name_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["a"], "time": ["2024-05-16"], "ta": [1.0]}).to_csv(path, index=False)
    with pytest.raises(DataFileError) as info:
        open_station_csv(path)
    message = str(info.value)
    assert str(path) in message and "'station'" in message and "columns=" in message
    moved = tmp_path / "moved.csv"
    pd.DataFrame(
        {
            "station": ["a", "a"],
            "time": ["2024-05-16T00", "2024-05-16T01"],
            "lat": [52.0, 52.5],
            "lon": [5.0, 5.0],
            "ta": [1.0, 2.0],
        }
    ).to_csv(moved, index=False)
    with pytest.raises(DataFileError, match="lat changes between rows"):
        open_station_csv(moved)


def test_bilinear_to_stations_is_exact_for_a_linear_field() -> None:
    lat, lon = np.array([50.1, 51.37, 53.9]), np.array([2.2, 4.77, 7.9])
    at = interpolate_to_stations(grid_forecast(), station_obs(lat, lon, np.zeros((24, 3))))
    np.testing.assert_allclose(at["2m_temperature"].values[0], linear_truth(lat, lon), atol=1e-9)
    assert at["2m_temperature"].dims == ("time", "station")
    assert at["station_name"].values.tolist() == ["S0", "S1", "S2"]


def test_masked_cell_and_outside_station() -> None:
    """NaN-aware: a station beside a masked cell takes the valid neighbours; a station
    outside the grid gets NaN, never an extrapolated value."""
    forecast = grid_forecast()
    forecast["2m_temperature"][:, 4, 4] = np.nan  # lat 51.0, lon 3.0
    lat, lon = np.array([51.1, 55.0]), np.array([3.1, 4.0])
    at = interpolate_to_stations(forecast, station_obs(lat, lon, np.zeros((24, 2))))
    value = at["2m_temperature"].values[0]
    # the three valid corners of the cell, with their bilinear weights renormalised
    corners = {(51.0, 3.25): 0.6 * 0.4, (51.25, 3.0): 0.4 * 0.6, (51.25, 3.25): 0.4 * 0.4}
    expected = sum(w * linear_truth(*c) for c, w in corners.items()) / sum(corners.values())
    assert value[0] == pytest.approx(expected, abs=1e-9)
    assert np.isnan(value[1])


def test_scores_per_station_and_aggregated_with_intervals() -> None:
    lat, lon = np.array([50.5, 52.0, 53.5]), np.array([3.0, 5.0, 7.0])
    truth = linear_truth(lat, lon)
    noise = np.random.default_rng(5).normal(0, 0.5, (24, 3))
    obs = station_obs(lat, lon, truth[None, :] - np.array([1.0, 0.0, -2.0]) + noise)
    obs["2m_temperature"][3, 0] = np.nan  # a missing observation
    per_station, table = score_stations(grid_forecast(), obs)
    bias = per_station["2m_temperature_bias"].values
    errors = np.array([1.0, 0.0, -2.0])[None, :] - noise
    errors[3, 0] = np.nan
    np.testing.assert_allclose(bias, np.nanmean(errors, axis=0), atol=1e-9)
    np.testing.assert_allclose(
        per_station["2m_temperature_rmse"].values, np.sqrt(np.nanmean(errors**2, axis=0))
    )
    assert per_station["2m_temperature_n"].values.tolist() == [23, 24, 24]
    rows = table.set_index("metric")
    assert rows.loc["rmse", "value"] == pytest.approx(np.sqrt(np.nanmean(errors**2)))
    assert rows.loc["mae", "value"] == pytest.approx(np.nanmean(np.abs(errors)))
    for metric in ("bias", "mae", "rmse"):
        low, value, high = rows.loc[metric, ["ci_low", "value", "ci_high"]]
        assert low < value < high
    assert rows.loc["rmse", "n_times"] == 24 and rows.loc["rmse", "n_stations"] == 3


def test_lapse_rate_moves_temperature_to_station_height() -> None:
    """A model whose terrain is 500 m where the station is at 0 m: the corrected forecast
    is 500 m * 6.5 K/km = 3.25 K warmer, and the station scores follow."""
    lat, lon = np.array([52.0]), np.array([5.0])
    forecast = grid_forecast()
    orography = xr.full_like(forecast["2m_temperature"].isel(time=0, drop=True), 500.0 * 9.80665)
    orography.attrs = {"units": "m2 s-2"}
    truth = linear_truth(lat, lon) + 500.0 * STANDARD_LAPSE_RATE
    obs = station_obs(lat, lon, np.full((24, 1), truth), elevation=[0.0])
    plain, _ = score_stations(forecast, obs)
    corrected, _ = score_stations(
        forecast, obs, orography=orography, lapse_rate=STANDARD_LAPSE_RATE
    )
    assert float(plain["2m_temperature_bias"][0]) == pytest.approx(-3.25)
    assert float(corrected["2m_temperature_bias"][0]) == pytest.approx(0.0, abs=1e-9)


def test_forecast_layout_scored_per_lead() -> None:
    lat, lon = np.array([51.0, 53.0]), np.array([4.0, 6.0])
    base = grid_forecast()["2m_temperature"]
    leads = pd.to_timedelta([1, 3], unit="h")
    inits = TIMES[:20]
    values = np.stack([base.sel(time=inits).values + k for k in (0.5, 1.5)], axis=1)
    forecast = xr.Dataset(
        {"2m_temperature": (("init_time", "lead_time", "lat", "lon"), values)},
        coords={"init_time": inits, "lead_time": leads, "lat": base.lat, "lon": base.lon},
    )
    obs = station_obs(lat, lon, np.broadcast_to(linear_truth(lat, lon), (24, 2)).copy())
    per_station, table = score_stations(forecast, obs)
    bias = per_station["2m_temperature_bias"]
    assert bias.dims == ("lead_time", "station")
    np.testing.assert_allclose(bias.values, [[0.5, 0.5], [1.5, 1.5]], atol=1e-9)
    rmse = table[table.metric == "rmse"]
    assert rmse["value"].tolist() == pytest.approx([0.5, 1.5])
    assert rmse["n_times"].tolist() == [20, 20]  # valid times within the observations


def test_real_knmi_stations_scored_against_a_gridded_field(shared_file) -> None:
    """The KNMI observations against a gridded 'forecast' made from them (each station's
    17:20 temperature put on a 0.25 deg grid by nearest station): bilinear interpolation
    back to the stations must reproduce a station's value where its neighbourhood is its
    own, so the MAE is small, and scores are reported for the Dutch stations only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        obs = climbench.open_dataset([shared_file(KNMI.format(h)) for h in ("1720", "1730")])
    dutch = obs.where(
        (obs["lat"] > 50.5) & (obs["lat"] < 53.7) & (obs["lon"] > 3.3) & (obs["lon"] < 7.3),
        drop=True,
    )
    t2m = dutch["2m_temperature"].isel(time=0)
    ok = np.isfinite(t2m.values)
    lat, lon = np.arange(50.5, 53.75, 0.25), np.arange(3.25, 7.5, 0.25)
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    slat, slon = dutch["lat"].values[ok], dutch["lon"].values[ok]
    d2 = (glat[..., None] - slat) ** 2 + ((glon[..., None] - slon) * np.cos(np.deg2rad(52))) ** 2
    field = t2m.values[ok][np.argmin(d2, axis=-1)]
    forecast = xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), np.stack([field, field]), {"units": "K"})},
        coords={"time": dutch["time"].values, "lat": lat, "lon": lon},
    )
    per_station, table = score_stations(forecast, dutch, resamples=200)
    mae = table.set_index("metric").loc["mae"]
    assert mae["n_stations"] == int(ok.sum()) and mae["n_times"] == 2
    assert 0.0 <= mae["value"] < 1.5  # K: a nearest-station field, read back bilinearly
    assert float(np.abs(per_station["2m_temperature_bias"]).max()) < 5.0


def test_scoring_refuses_what_it_cannot_score() -> None:
    obs = station_obs(np.array([52.0]), np.array([5.0]), np.zeros((24, 1)))
    with pytest.raises(VariableNotFoundError, match="not in both"):
        score_stations(grid_forecast().rename({"2m_temperature": "t"}), obs)
    curvilinear = grid_forecast().rename(lat="y", lon="x")
    with pytest.raises(SchemaError, match="regular lat-lon grid"):
        interpolate_to_stations(curvilinear, obs)
