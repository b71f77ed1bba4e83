"""Source adapters: what is particular to ERA5, CMIP6, MERRA-2 and generic CF files."""
