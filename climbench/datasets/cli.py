"""``climbench datasets``: list, show, download and verify dataset cards' data."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from climbench.errors import DataValueError

datasets_app = typer.Typer(
    help="Dataset cards and downloads (resumable, verified, atomic).", no_args_is_help=True
)
console = Console()


@datasets_app.command("list")
def datasets_list() -> None:
    """The cards, with access method, size estimate and licence (titles: ``show``)."""
    from climbench.datasets.plan import _size
    from climbench.datasets.registry import all_cards

    table = Table(title="climbench dataset cards")
    for column in ("name", "method", "size (est.)", "licence", "credentials"):
        table.add_column(column, no_wrap=True)
    for card in all_cards():
        table.add_row(
            card.name,
            card.method,
            _size(card.size_bytes),
            card.licence["id"],
            card.credentials["kind"],
        )
    console.print(table)


@datasets_app.command("show")
def datasets_show(name: str = typer.Argument(..., help="Card name, e.g. wb2-era5-5.625.")) -> None:
    """Variables, levels, grid, time range, licence, citation and access of one card."""
    from climbench.datasets.plan import _size
    from climbench.datasets.registry import get

    card = get(name)
    out = console.print
    out(f"[bold]{card.name}[/] v{card.version}: {escape(card.title)}")
    out(f"provider: {escape(card.provider)}")
    out(f"access: {card.method} {escape(card.endpoint)}")
    out(f"  point it elsewhere with --endpoint or ${card.endpoint_env}")
    table = Table("canonical", "native", "units", "levels")
    for var in card.variables:
        table.add_row(var.canonical, var.native, var.units, "yes" if var.levels else "")
    out(table)
    if card.levels:
        out("levels (hPa): " + ", ".join(f"{x:g}" for x in card.levels))
    out("grid: " + ", ".join(f"{k}={v}" for k, v in card.grid.items()))
    out(f"time: {card.time['start']} .. {card.time['end']} every {card.time['step']}")
    out(f"size (estimate): {_size(card.size_bytes)} ({escape(card.size_note)})")
    out(f"licence: {card.licence['id']} {card.licence['url']}")
    if card.licence.get("notes"):
        out(f"  {escape(card.licence['notes'])}")
    out(f"credentials: {card.credentials['kind']}: {escape(card.credentials.get('where', ''))}")
    out(f"checksums: {card.checksums['source']}: {escape(str(card.checksums.get('note', '')))}")
    if card.notes:
        out(f"notes: {escape(card.notes)}")
    out(f"citation: doi:{card.citation['doi']}")
    console.print(card.citation["bibtex"], markup=False, highlight=False)


@datasets_app.command("download")
def datasets_download(
    name: str = typer.Argument(..., help="Card name."),
    variable: list[str] = typer.Option(
        None, "--variable", "-v", help="Canonical or native name (repeatable; default all)."
    ),
    level: list[float] = typer.Option(None, "--level", help="Pressure level in hPa (repeatable)."),
    years: str = typer.Option(None, "--years", help="YYYY or YYYY-YYYY (default: all)."),
    facet: list[str] = typer.Option(
        None, "--facet", help="Catalog facet NAME=VALUE (CMIP6: source_id, ...; repeatable)."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Download folder (default $CLIMBENCH_DATA/datasets/NAME)."
    ),
    endpoint: str = typer.Option(
        None, "--endpoint", help="Another endpoint than the card's (a mirror, a test server)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only print what would be fetched, how many bytes, where."
    ),
    jobs: int = typer.Option(16, "--jobs", help="Chunks fetched at once (Zarr stores)."),
    overwrite: bool = typer.Option(
        False, help="Replace an earlier complete download of another selection in --out."
    ),
) -> None:
    """Fetch a selection of a card's data: resumable (rerun to continue), verified, atomic."""
    from climbench.datasets.download import download
    from climbench.datasets.plan import Plan, _size
    from climbench.datasets.selection import parse_facets

    result = download(
        name,
        variables=variable or None,
        years=years,
        levels=level or None,
        out=out,
        facets=parse_facets(facet),
        endpoint=endpoint,
        dry_run=dry_run,
        overwrite=overwrite,
        progress=not dry_run,
        jobs=jobs,
    )
    if isinstance(result, Plan):
        console.print(escape(result.summary()))
        for item in result.items:
            size = "?" if item.size is None else _size(item.size)
            console.print(f"  {escape(item.name)}  {size}  {escape(item.url)}", highlight=False)
        if result.payload is not None:
            for arr in result.payload.arrays:
                console.print(f"  {arr.name}: {len(arr.keys)} chunk(s)", highlight=False)
        for note in result.notes:
            console.print(f"  note: {escape(note)}")
        return
    console.print(f"[green]complete[/] {escape(str(result))} (manifest.json)")


@datasets_app.command("verify")
def datasets_verify(folder: Path = typer.Argument(..., help="A download folder.")) -> None:
    """Re-check the size and sha256 of every file a download's manifest lists."""
    from climbench.datasets.manifest import verify

    manifest, problems = verify(folder)
    count = len(manifest["files"])
    if problems:
        for p in problems:
            console.print(f"[red]bad[/] {escape(p.path)}: expected {p.expected}, found {p.found}")
        raise DataValueError(
            "the download does not match its manifest",
            path=folder,
            expected=f"{count} file(s) as recorded",
            found=f"{len(problems)} missing or changed, first {problems[0].path}",
            hint="download again into a new folder (or delete the folder and rerun)",
        )
    console.print(f"[green]ok[/] {count} file(s) match the manifest of {escape(str(folder))}")
