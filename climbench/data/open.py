"""``open_dataset``: any supported file, store, URL or list of them as a canonical dataset."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from climbench.data import formats, overrides, plausibility, schema, vocabulary
from climbench.data.remote import fetch
from climbench.data.sources.base import detect
from climbench.data.times import build_time_axis
from climbench.errors import CalendarError, DataFileError, DataValueError, VariableNotFoundError

PathLike = str | os.PathLike


def open_dataset(
    path_or_url: PathLike | Sequence[PathLike],
    *,
    source: str | None = None,
    variables: Sequence[str] | None = None,
    units: Mapping[str, str] | None = None,
    times: Sequence | None = None,
    chunks: dict | str | None = None,
    check_values: bool = False,
    valid_ranges: Mapping[str, tuple[float, float]] | None = None,
    allow_missing_chunks: bool = False,
    sha256: str | None = None,
) -> xr.Dataset:
    """Open weather or climate data as the canonical dataset of DESIGN.md.

    Args:
        path_or_url: a GRIB, netCDF or Zarr path; an ``http(s)://`` / ``s3://`` / ``gs://``
            URL (Zarr read in place, files downloaded to the cache and verified); a glob
            pattern; or a list of any of these, combined by their coordinates (files split
            by time are concatenated, files of different variables merged).
        source: force the source adapter (``"era5"``, ``"cmip6"``, ``"merra2"``, ``"wrf"``,
            ``"curvilinear"``, ``"ecmwf-ens"``, ``"hindcast"``, ``"cf-timeseries"``,
            ``"station"``, ``"cf"``) instead of detecting it.
        variables: keep only these (canonical names or any alias, e.g. ``"t2m"``).
        units: override wrong or missing ``units`` attributes, e.g. ``{"tasmax": "degC"}``;
            also of coordinates and leads, e.g. a hindcast's ``{"lead": "months"}``.
        times: one datetime per step of the file's time dimension, for files whose times
            are missing or not certain (:mod:`climbench.data.overrides`).
        chunks: dask chunks passed to xarray (``None`` keeps the engines' lazy arrays,
            ``"auto"`` or a dict for dask).
        check_values: also read the data (once) and refuse variables that are entirely NaN
            and values outside the plausible range of their variable
            (:data:`climbench.data.vocabulary.PLAUSIBLE_RANGES`, in canonical units, after
            unit conversion): a wrong units label (kelvin values labelled degC read as
            ~550 K) or a corrupt value. NaN values are skipped (masked data are fine).
        valid_ranges: ``{variable: (low, high)}`` in canonical units, replacing the
            plausible range of a vocabulary variable (canonical, alias or source name) or
            adding one for a variable outside the vocabulary (those are otherwise not
            checked); used when ``check_values``.
        allow_missing_chunks: accept a local Zarr store whose arrays lack chunk files. By
            default such a store is refused (a missing chunk reads as the fill value, NaN,
            so a damaged or partially copied store would give all-NaN steps without an
            error). Pass True for stores that omit chunks equal to the fill value on
            purpose: zarr-python 3 does so by default (``write_empty_chunks=False``).
        sha256: expected checksum of a single downloaded file.

    Returns:
        A lazy ``xarray.Dataset`` with canonical names, SI units and normalised coordinates,
        in one of the layouts of :mod:`climbench.data.layouts` (regular grid, curvilinear
        grid, stations, index).
        ``ds.attrs["climbench_source"]`` names the adapter used; source metadata (CMIP6
        DRS fields, MERRA-2 collection) are in ``ds.attrs``.
    """
    paths = _expand(path_or_url)
    parts = [
        _open_one(
            p,
            source=source,
            units=units,
            times=times,
            chunks=chunks,
            sha256=sha256,
            allow_missing_chunks=allow_missing_chunks,
        )
        for p in paths
    ]
    ds = parts[0] if len(parts) == 1 else combine(parts, [str(p) for p in paths])
    if variables is not None:
        ds = select_variables(ds, variables, name=str(path_or_url))
    if check_values:
        check_data_values(ds, name=str(path_or_url), valid_ranges=valid_ranges)
    return ds


def _expand(path_or_url: PathLike | Sequence[PathLike]) -> list[str]:
    items = [path_or_url] if isinstance(path_or_url, (str, os.PathLike)) else list(path_or_url)
    if not items:
        raise DataFileError("no input given", expected="at least one path or URL", found="none")
    out: list[str] = []
    for item in items:
        text = str(item)
        if not formats.is_url(text) and glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise DataFileError(
                    "no file matches the pattern",
                    path=text,
                    expected="at least one file",
                    found="none",
                )
            out.extend(matches)
        else:
            out.append(text)
    return out


def _open_one(
    path: str,
    *,
    source: str | None,
    units: Mapping[str, str] | None,
    chunks: dict | str | None,
    sha256: str | None,
    allow_missing_chunks: bool,
    times: Sequence | None = None,
) -> xr.Dataset:
    if formats.is_url(path):
        if path.rstrip("/").endswith(".zarr"):
            try:
                raw = xr.open_zarr(path, chunks=chunks, consolidated=None)
            except Exception as err:
                raise DataFileError(
                    "cannot open remote Zarr store",
                    path=path,
                    expected="a reachable Zarr store",
                    found=f"{type(err).__name__}: {err}",
                ) from err
            fmt = "zarr"
        else:
            local = fetch(path, sha256=sha256)
            fmt = formats.detect_format(local)
            formats.check_integrity(local, fmt)
            raw = formats.open_raw(local, fmt, chunks)
    else:
        fmt = formats.detect_format(path)
        formats.check_integrity(path, fmt)
        if fmt == "zarr" and not allow_missing_chunks:
            formats.refuse_missing_chunks(
                path, "source store", "allow_missing_chunks=True (CLI --allow-missing-chunks)"
            )
        raw = formats.open_raw(path, fmt, chunks)
    raw = overrides.apply(raw, path, times=times, units=units)
    raw = build_time_axis(raw, path)  # times given by other variables, where certain
    adapter = detect(path, raw, source)
    meta = adapter.metadata(path, raw)
    ds = schema.normalise_coords(adapter.adjust(raw, path), path)
    ds = schema.canonicalise(ds, path, units)
    ds.attrs.update(meta)
    ds.attrs.update(climbench_source=adapter.name, climbench_format=fmt, climbench_path=str(path))
    return ds


def _calendar(ds: xr.Dataset) -> str | None:
    if "time" not in ds.coords:
        return None
    values = ds["time"].values
    if np.issubdtype(values.dtype, np.datetime64):
        return "standard/proleptic_gregorian (numpy datetime64)"
    first = values.flat[0] if values.size else None
    return getattr(first, "calendar", type(first).__name__)


def combine(parts: list[xr.Dataset], paths: list[str]) -> xr.Dataset:
    """Combine canonical datasets by coordinates (concatenate in time, merge variables).

    Refuses mixed calendars with :class:`CalendarError` and overlapping times with
    :class:`TimeAxisError`.
    """
    calendars = {p: _calendar(ds) for p, ds in zip(paths, parts, strict=True)}
    distinct = {c for c in calendars.values() if c is not None}
    if len(distinct) > 1:
        raise CalendarError(
            "sources with different calendars cannot be combined",
            path=", ".join(paths),
            expected="one calendar",
            found="; ".join(f"{Path(p).name}: {c}" for p, c in calendars.items()),
            hint="open them separately, or convert one with ds.convert_calendar(...) knowingly",
        )
    try:
        # join="exact": variables with different time spans are refused, never NaN-padded
        combined = xr.combine_by_coords(
            parts,
            combine_attrs="drop_conflicts",
            join="exact",
            data_vars="all",
            coords="different",
            compat="no_conflicts",
        )
    except ValueError as err:
        spans = "; ".join(
            f"{Path(p).name}: {sorted(map(str, ds.data_vars))} "
            + (
                f"{ds['time'].values[0]}..{ds['time'].values[-1]}"
                if "time" in ds.dims
                else "no time"
            )
            for p, ds in zip(paths, parts, strict=True)
        )
        raise DataFileError(
            "sources cannot be combined",
            path=", ".join(paths),
            expected="files that differ only in time steps, or only in "
            "variables over the same times and grid",
            found=f"{err} ({spans})",
            hint="select a common time range (prepare --start/--end) or "
            "regrid to one grid (--grid)",
        ) from err
    schema._check_time(combined, ", ".join(paths))
    combined.attrs["climbench_path"] = ", ".join(paths)
    return combined


def select_variables(ds: xr.Dataset, variables: Sequence[str], name: str = "dataset") -> xr.Dataset:
    """Keep ``variables`` (canonical names or aliases); the error lists what ``ds`` has."""
    wanted = []
    for requested in variables:
        canonical = vocabulary.canonical_name(requested)
        key = canonical if canonical in ds.data_vars else requested
        if key not in ds.data_vars:
            available = sorted(map(str, ds.data_vars))
            raise VariableNotFoundError(
                "requested variable not in the dataset",
                path=name,
                variable=requested,
                expected=f"one of {available}",
                found=f"no '{requested}'"
                + (f" (canonical '{canonical}')" if canonical != requested else ""),
                hint="run `climbench data info` on the file to list its variables",
            )
        wanted.append(key)
    corners = [c for c in ("lat_vertices", "lon_vertices") if c in ds.coords]  # curvilinear
    return ds[wanted].assign_coords({c: ds[c] for c in corners})


def check_data_values(
    ds: xr.Dataset,
    name: str = "dataset",
    valid_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """Read every variable once and refuse, with :class:`DataValueError`, one that has no
    finite value or values outside its plausible range (:func:`plausibility.plausible_ranges`).

    All reductions of a variable go into one dask computation, so each chunk is read once.
    """
    ranges = plausibility.plausible_ranges(ds, valid_ranges)
    lazy = {}
    for vname, da in ds.data_vars.items():
        if not np.issubdtype(da.dtype, np.number):
            continue
        da = da if da.chunks is not None else da.chunk("auto")
        extremes = plausibility.value_extremes(da) if vname in ranges else ()
        lazy[str(vname)] = (np.isfinite(da).any(), *extremes)
    with plausibility.all_nan_warnings_silenced():
        computed = dask.compute(lazy)[0]
    for vname, (finite, *_) in computed.items():
        if not bool(finite):
            raise DataValueError(
                "variable is entirely NaN",
                path=name,
                variable=vname,
                expected="at least one finite value",
                found="only NaN / Inf",
                hint="check the file's _FillValue and the selected region",
            )
    extremes = {v: tuple(found[1:]) for v, found in computed.items() if v in ranges}
    plausibility.check_value_ranges(ds, extremes, ranges, name)
