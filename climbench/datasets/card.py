"""Dataset cards: what a dataset is, where it lives, how to fetch it, and on which terms.

A card is one YAML file in ``climbench/datasets/cards/`` (the top-level ``datasets/`` folder
points there). :func:`load_card` validates it against the schema below and returns a frozen
:class:`Card`; every problem is a :class:`~climbench.errors.ConfigError` naming the file and
the key.

Schema (keys marked * are required)::

    name*: wb2-era5-5.625            # lower case, digits, '.', '-'
    version*: 1                      # bumped when the card's data change
    title*, provider*: text
    access*:
      method*: zarr | http | cds | earthdata | esgf | intake-esm | zenodo
      endpoint*: URL (gs://, https://, a catalog URL, a CDS API URL, ...)
      options: {method-specific settings}  # zarr: time_dim, level_dim, level_scale (to
                                         # hPa), valid_time_attrs; http/zenodo: files;
                                         # cds: dataset, request; earthdata: short_name,
                                         # version, provider; esgf/intake-esm: facets
    variables*: [{native*, canonical*, units*, levels: bool}]   # levels: on pressure levels
    levels: [hPa, ...]
    grid*: {kind*, nlat, nlon, resolution_deg, latitude, dims}
    time*: {start*, end*, step*}     # ISO dates, a pandas frequency (6h, 1h, 1MS)
    licence*: {id*, url*, notes}
    citation*: {doi*, bibtex*}
    checksums*: {source*: provider | recorded, files: {name: sha256 or md5:...}, note}
    credentials*: {kind*: none | cdsapirc | earthdata | ..., where}
    size*: {bytes*, note}             # estimate of the whole dataset
    notes: layout quirks, text

``checksums.source`` says where trust comes from: ``provider`` (the provider publishes a
checksum per file, taken from its API or listed under ``files``) or ``recorded`` (none is
published: climbench records sha256 of every file or Zarr chunk on first download in the
manifest and checks them after, see :mod:`climbench.datasets.manifest`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from climbench.errors import ConfigError

#: the access methods, one module each in this package
METHODS = ("zarr", "http", "cds", "earthdata", "esgf", "intake-esm", "zenodo")
CHECKSUM_SOURCES = ("provider", "recorded")
_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


@dataclass(frozen=True)
class Variable:
    """One variable of a card: its name at the provider, its canonical name and units."""

    native: str
    canonical: str
    units: str
    levels: bool = False


@dataclass(frozen=True)
class Card:
    """A validated dataset card (see the module docstring for the meaning of each field)."""

    name: str
    version: int
    title: str
    provider: str
    method: str
    endpoint: str
    options: dict[str, Any]
    variables: tuple[Variable, ...]
    levels: tuple[float, ...]
    grid: dict[str, Any]
    time: dict[str, str]
    licence: dict[str, str]
    citation: dict[str, str]
    checksums: dict[str, Any]
    credentials: dict[str, str]
    size_bytes: int
    size_note: str = ""
    notes: str = ""
    path: str = field(default="", compare=False)

    @property
    def endpoint_env(self) -> str:
        """The environment variable that points this card's endpoint elsewhere (a mirror,
        a test server): ``CLIMBENCH_ENDPOINT_`` + the name in upper case, non-alphanumerics
        as ``_`` (``wb2-era5-5.625`` -> ``CLIMBENCH_ENDPOINT_WB2_ERA5_5_625``)."""
        return "CLIMBENCH_ENDPOINT_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper())

    def resolved_endpoint(self, override: str | None = None) -> str:
        """The endpoint to use: ``override``, else ``$endpoint_env``, else the card's."""
        return override or os.environ.get(self.endpoint_env) or self.endpoint

    def variable(self, name: str) -> Variable:
        """The card variable called ``name``: its canonical or native name, or an alias of
        the canonical vocabulary (``t2m``, ``tas``, ``z``)."""
        from climbench.data.vocabulary import resolve

        found = resolve(name)
        alias = found[0].name if found is not None and found[1] is None else None
        for var in self.variables:
            if name in (var.canonical, var.native) or var.canonical == alias:
                return var
        raise ConfigError(
            "the dataset has no such variable",
            path=self.name,
            variable=name,
            expected="one of " + ", ".join(v.canonical for v in self.variables),
            found=repr(name),
            hint=f"climbench datasets show {self.name} lists its variables",
        )


def load_card(path: str | os.PathLike) -> Card:
    """Read and validate one card file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(
            "cannot read dataset card", path=path, expected="a YAML file", found=str(err)
        ) from err
    return card_from_dict(data, str(path))


def card_from_dict(data: Any, where: str) -> Card:
    """Validate a card's parsed YAML (``where`` names it in errors) and build the Card."""
    check = _Checker(where)
    data = check.mapping(data, "card")
    name = check.text(data, "name")
    if not _NAME.match(name):
        check.fail("name", "lower-case letters, digits, '.' and '-'", repr(name))
    if Path(where).suffix == ".yaml" and Path(where).stem != name:
        check.fail("name", f"the file name {Path(where).stem!r}", repr(name))
    access = check.mapping(data.get("access"), "access")
    method = check.text(access, "method", "access.method")
    if method not in METHODS:
        check.fail("access.method", f"one of {', '.join(METHODS)}", repr(method))
    raw_vars = data.get("variables")
    if not isinstance(raw_vars, list) or not raw_vars:
        check.fail("variables", "a non-empty list", repr(raw_vars))
    variables = []
    for i, item in enumerate(raw_vars):
        item = check.mapping(item, f"variables[{i}]")
        variables.append(
            Variable(
                native=check.text(item, "native", f"variables[{i}].native"),
                canonical=check.text(item, "canonical", f"variables[{i}].canonical"),
                units=check.text(item, "units", f"variables[{i}].units"),
                levels=bool(item.get("levels", False)),
            )
        )
    levels = data.get("levels") or []
    if not isinstance(levels, list) or not all(isinstance(x, (int, float)) for x in levels):
        check.fail("levels", "a list of pressure levels in hPa", repr(levels))
    grid = check.mapping(data.get("grid"), "grid")
    check.text(grid, "kind", "grid.kind")
    time = check.mapping(data.get("time"), "time")
    for key in ("start", "end", "step"):
        check.text(time, key, f"time.{key}")
    licence = check.mapping(data.get("licence"), "licence")
    for key in ("id", "url"):
        check.text(licence, key, f"licence.{key}")
    citation = check.mapping(data.get("citation"), "citation")
    for key in ("doi", "bibtex"):
        check.text(citation, key, f"citation.{key}")
    checksums = check.mapping(data.get("checksums"), "checksums")
    if checksums.get("source") not in CHECKSUM_SOURCES:
        check.fail("checksums.source", " or ".join(CHECKSUM_SOURCES), repr(checksums.get("source")))
    credentials = check.mapping(data.get("credentials"), "credentials")
    check.text(credentials, "kind", "credentials.kind")
    size = check.mapping(data.get("size"), "size")
    if not isinstance(size.get("bytes"), int) or size["bytes"] <= 0:
        check.fail("size.bytes", "a positive integer (bytes)", repr(size.get("bytes")))
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        check.fail("version", "a positive integer", repr(version))
    known = {
        "name", "version", "title", "provider", "access", "variables", "levels", "grid",
        "time", "licence", "citation", "checksums", "credentials", "size", "notes",
    }  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        check.fail(unknown[0], f"only the keys {sorted(known)}", repr(unknown[0]))
    return Card(
        name=name,
        version=version,
        title=check.text(data, "title"),
        provider=check.text(data, "provider"),
        method=method,
        endpoint=check.text(access, "endpoint", "access.endpoint"),
        options=dict(check.mapping(access.get("options") or {}, "access.options")),
        variables=tuple(variables),
        levels=tuple(float(x) for x in levels),
        grid=dict(grid),
        time={k: str(v) for k, v in time.items()},
        licence={k: str(v) for k, v in licence.items()},
        citation={k: str(v) for k, v in citation.items()},
        checksums=dict(checksums),
        credentials={k: str(v) for k, v in credentials.items()},
        size_bytes=size["bytes"],
        size_note=str(size.get("note", "")),
        notes=str(data.get("notes", "")),
        path=where,
    )


class _Checker:
    """Builds the card errors: the file, the key, what was expected and found."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, expected: str, found: str) -> None:
        raise ConfigError(
            "invalid dataset card",
            path=self.where,
            variable=key,
            expected=expected,
            found=found,
            hint="see the schema in climbench/datasets/card.py",
        )

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            self.fail(key, "a mapping", type(value).__name__)
        return value

    def text(self, data: dict, key: str, label: str | None = None) -> str:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.fail(label or key, "a value", "nothing")
        return str(value)
