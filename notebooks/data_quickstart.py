# %% [markdown]
# # climbench data quickstart
#
# From raw reanalysis and climate-model files to a training-ready store, with the real
# sample files in `../shared/data`. Run it as a script (`python notebooks/data_quickstart.py`)
# or open it in Jupyter with jupytext (percent format). The tests execute it.

# %%
import os
from pathlib import Path
from tempfile import mkdtemp

import numpy as np
import xarray as xr

import climbench
from climbench.data.grids import cell_area_weights
from climbench.data.prepare import open_prepared, read_manifest
from climbench.data.regrid import regrid
from climbench.errors import UnitsError

DATA = Path(
    os.environ.get(
        "CLIMBENCH_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
OUT = Path(mkdtemp(prefix="climbench-quickstart-"))

# %% [markdown]
# ## 1. Open any source as the canonical dataset
# GRIB, netCDF (old and new CDS layouts), CMIP6 and MERRA-2 files all come out with the
# same names, units and coordinate order.

# %%
uk = climbench.open_dataset(DATA / "pydata+xarray-data/era5-2mt-2019-03-uk.grib")
print(uk)  # 2m_temperature (time, lat, lon), lat ascending, lon in [0, 360)

eda = climbench.open_dataset(DATA / "ecmwf+cfgrib/tests/sample-data/era5-levels-members.grib")
spread = eda["geopotential"].sel(level=500).std("member").mean()
print(f"ERA5 EDA z500 ensemble spread: {float(spread):.1f} m2 s-2")

cmip = DATA / "Climate-REF+ref-sample-data/data/CMIP6/CMIP/CSIRO/ACCESS-ESM1-5"
tas_1pct = climbench.open_dataset(next((cmip / "1pctCO2").rglob("tas_*.nc")))
print({k: tas_1pct.attrs[k] for k in ("source_id", "experiment_id", "member_id", "table_id")})
print(type(tas_1pct["time"].values[0]))  # cftime: year 0101 is kept, not shifted

# %% [markdown]
# ## 2. Wrong units are caught, and an override fixes them
# This ERA5-Land file stores tasmax in degC but labels it `mm d-1`.

# %%
quebec = DATA / "hydrologie+xhydro-testdata/data/precip_oi/ERA5_land_3_variables_raw_subset.nc"
try:
    climbench.open_dataset(quebec)
except UnitsError as err:
    print("refused:", str(err)[:160], "...")
fixed = climbench.open_dataset(quebec, units={"tasmax": "degC", "tasmin": "degC"})
print(float(fixed["maximum_2m_temperature"].mean()), fixed["maximum_2m_temperature"].attrs["units"])

# %% [markdown]
# ## 3. Regrid conservatively: the global mean is preserved

# %%
z500 = climbench.open_dataset(DATA / "pydata+xarray-data/eraint_uvz.nc")["geopotential"]
z500 = z500.sel(level=500).isel(month=0)
coarse = regrid(z500, "5.625")


def global_mean(da: xr.DataArray) -> float:
    weights = xr.DataArray(cell_area_weights(da["lat"].values), dims="lat")
    return float(da.weighted(weights).mean(("lat", "lon")))


print("relative change of the global mean:", global_mean(coarse) / global_mean(z500) - 1)

# %% [markdown]
# ## 4. Prepare a training store
# Float32, one time step per chunk, statistics over the period you name, a manifest.

# %%
store = climbench.prepare(
    DATA / "pydata+xarray-data/era5-2mt-2019-03-uk.grib",
    OUT / "uk.zarr",
    grid="lat=50.5:57.5:1,lon=-9.5:1.5:1",
    stats_period=("2019-03-01", "2019-03-24"),
)
manifest = read_manifest(store)
print(manifest["stats"]["2m_temperature"]["mean"], manifest["stats_period"])
ds = open_prepared(store)
assert np.isfinite(ds["2m_temperature"].isel(time=0)).all()
