"""``climbench leaderboard``: submit, check, build, verify, retract, figure."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

leaderboard_app = typer.Typer(
    help="Leaderboard entries (scored by the official scorer) and the static site.",
    no_args_is_help=True,
)
console = Console()
_ROOT = typer.Option(
    None, "--root", help="Leaderboard folder (default $CLIMBENCH_LEADERBOARD or ./leaderboard)."
)
_DATA = typer.Option(
    None, "--data-root", help="Task data folder (default $CLIMBENCH_DATA or ./data)."
)


@leaderboard_app.command("submit")
def submit_command(
    predictions: Path = typer.Argument(..., help="Predictions Zarr store or netCDF file."),
    task: str = typer.Option(..., "--task", help="Task name, e.g. forecast/synthetic-5.625."),
    card: Path = typer.Option(..., "--card", help="Model card (YAML)."),
    supersedes: str = typer.Option(None, help="Id of the entry this one replaces."),
    root: Path = _ROOT,
    data_root: Path = _DATA,
) -> None:
    """Score predictions with the official scorer and write one entry."""
    from climbench.leaderboard import submit

    path = submit(predictions, task, card, root=root, supersedes=supersedes, data_root=data_root)
    console.print(f"[green]wrote[/] {path}", highlight=False)


@leaderboard_app.command("check")
def check_command(
    root: Path = _ROOT,
    git: bool = typer.Option(True, help="Also refuse landed entries edited or deleted."),
    base: str = typer.Option(
        "HEAD", help="Git revision whose entries must be unchanged (a PR: its target branch)."
    ),
) -> None:
    """Check every entry (schema, file name, task digest, duplicates, edits, size)."""
    from climbench.leaderboard import problems
    from climbench.leaderboard.store import default_root, entry_files

    found = problems(root, git, base)
    for err in found[:-1]:
        console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
    if found:
        raise found[-1]  # printed as the last line, exit status 2
    n = len(entry_files(root if root is not None else default_root()))
    console.print(f"{n} entries valid")


@leaderboard_app.command("build")
def build_command(
    out: Path = typer.Option(..., "--out", help="Site folder to write."),
    root: Path = _ROOT,
    overwrite: bool = typer.Option(False, help="Replace an earlier site at --out."),
) -> None:
    """Build the static site (works from file:// and any static HTTP server)."""
    from climbench.leaderboard import build_site

    index = build_site(out, root, overwrite=overwrite)
    console.print(f"[green]site[/] {index}", highlight=False)


@leaderboard_app.command("verify")
def verify_command(
    entry: str = typer.Argument(..., help="Entry id or path of an entry file."),
    predictions: Path = typer.Option(..., "--predictions", help="The entry's predictions."),
    root: Path = _ROOT,
    data_root: Path = _DATA,
) -> None:
    """Rescore an entry's predictions; the numbers must match exactly."""
    from climbench.leaderboard import verify
    from climbench.leaderboard.results_codec import results_rows

    data = verify(entry, predictions, root=root, data_root=data_root)
    n = results_rows(data)
    console.print(f"[green]verified[/] {data['id']}: {n} scores match", highlight=False)


@leaderboard_app.command("retract")
def retract_command(
    entry: str = typer.Argument(..., help="Entry id or path of an entry file."),
    reason: str = typer.Option(..., "--reason", help="Why the entry is withdrawn."),
    root: Path = _ROOT,
) -> None:
    """Withdraw an entry (nothing is deleted: a retraction file is added)."""
    from climbench.leaderboard import retract

    path = retract(entry, reason, root=root)
    console.print(f"[green]retracted[/] {path}", highlight=False)


@leaderboard_app.command("figure")
def figure_command(
    kind: str = typer.Argument(..., help="curves, scorecard, map or spectra."),
    task: str = typer.Option(..., "--task", help="Task name or name@version."),
    out: Path = typer.Option(..., "--out", help="Figure file (.png or .svg)."),
    field: str = typer.Option(None, help="Field (default: the headline field)."),
    metric: str = typer.Option(None, help="Metric (default: the headline metric)."),
    entry: str = typer.Option(None, help="Entry id (map)."),
    relative_to: str = typer.Option(None, help="Model name to plot curves relative to."),
    root: Path = _ROOT,
) -> None:
    """Draw one of the site's figures from the entries (the command each page names)."""
    from climbench.leaderboard.figures import figure

    path = figure(kind, task, out, field=field, metric=metric, entry=entry,
                  relative_to=relative_to, root=root)  # fmt: skip
    console.print(f"[green]wrote[/] {path}", highlight=False)
