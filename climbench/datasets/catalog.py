"""The ``intake-esm`` access method: CMIP6 Zarr stores listed by an intake-esm catalog (the
Pangeo CMIP6 catalog on Google Cloud), selected by facets (source_id, experiment_id,
member_id, table_id, variable_id) and fetched as Zarr subsets
(:mod:`climbench.datasets.zarr_subset`: only the chunks of the years asked), one store per
catalog entry. Needs ``intake-esm`` (the ``download`` extra)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from climbench.datasets import zarr_subset
from climbench.datasets.card import Card
from climbench.datasets.manifest import file_entry
from climbench.datasets.methods import AccessMethod
from climbench.datasets.plan import Plan
from climbench.datasets.progress import Reporter
from climbench.datasets.selection import Selection
from climbench.errors import ConfigError, DataFileError

FACETS = ("source_id", "experiment_id", "member_id", "table_id", "variable_id")


def entries(card: Card, selection: Selection, endpoint: str) -> list[dict[str, str]]:
    """The catalog rows matching the facets and variables (one Zarr store each)."""
    try:
        import intake_esm
    except ImportError as err:
        raise ConfigError(
            "intake-esm is not installed",
            expected="the download extra",
            found=str(err),
            hint='pip install "climbench[download]"',
        ) from err
    try:
        catalog = intake_esm.esm_datastore(endpoint)
    except Exception as err:  # noqa: BLE001 (intake-esm wraps fsspec and pydantic errors)
        raise DataFileError(
            "cannot read the intake-esm catalog",
            path=endpoint,
            expected="an ESM collection JSON with its CSV",
            found=f"{type(err).__name__}: {err}",
            hint="check the network, or point --endpoint at a local copy of the catalog",
        ) from err
    query = {k: v for k, v in selection.facets.items()}
    query["variable_id"] = [v.native for v in selection.variables]
    rows = catalog.search(**query).df
    if rows.empty:
        raise DataFileError(
            "no catalog entry matches",
            path=endpoint,
            expected="at least one Zarr store",
            found=f"none for {query}",
            hint="check the facets' spelling (e.g. table_id=Amon, member_id=r1i1p1f1)",
        )
    path_column = catalog.esmcat.assets.column_name
    return [
        {**{f: str(row[f]) for f in FACETS if f in row}, "zstore": str(row[path_column])}
        for _, row in rows.iterrows()
    ]


def _name(entry: dict[str, str]) -> str:
    return ".".join(entry.get(f, "") for f in FACETS) + ".zarr"


def plan(card: Card, selection: Selection, endpoint: str, out: Path) -> Plan:
    stores = []
    for entry in entries(card, selection, endpoint):
        var = card.variable(entry["variable_id"])
        sub = dataclasses.replace(selection, variables=(var,))
        stores.append((entry, sub, zarr_subset.plan(card, sub, entry["zstore"])))
    total = sum(z.uncompressed_bytes for _, _, z in stores)
    return Plan(
        card.name,
        card.method,
        endpoint,
        out,
        total_bytes=total,
        estimate=True,
        notes=[f"{len(stores)} store(s): " + ", ".join(_name(e) for e, _, _ in stores)],
        payload=_Stores(stores),
    )


@dataclasses.dataclass
class _Stores:
    stores: list

    @property
    def chunk_count(self) -> int:
        return sum(z.chunk_count for _, _, z in self.stores)

    @property
    def arrays(self) -> list:
        return [a for _, _, z in self.stores for a in z.arrays]


def fetch(plan: Plan, card: Card, selection: Selection, reporter: Reporter, jobs: int):
    files, sources = [], []
    bar = reporter.task(f"{card.name} chunks", plan.total_bytes)
    for entry, sub, zplan in plan.payload.stores:
        mirror = plan.out / zarr_subset.MIRROR / _name(entry)
        stats = zarr_subset.fetch_chunks(zplan, mirror, jobs=jobs, on_chunk=bar.advance)
        store = plan.out / _name(entry)
        zarr_subset.write_subset(mirror, store, card, sub, overwrite=store.exists())
        files += [file_entry(plan.out, p) for p in sorted(store.rglob("*")) if p.is_file()]
        sources.append(
            {
                **entry,
                "chunks_fetched": stats.fetched,
                "bytes_fetched": stats.bytes,
                "sha256": dict(sorted(stats.checksums.items())),
            }
        )
        zarr_subset.remove_mirror(mirror)
    zarr_subset.remove_mirror(plan.out / zarr_subset.MIRROR)
    return files, {"stores": sources}


METHOD = AccessMethod("intake-esm", plan, fetch)
