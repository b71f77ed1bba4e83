"""``climbench data synth``: write the embedded synthetic datasets to Zarr stores."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

synth_app = typer.Typer(
    help="Generate seeded synthetic weather, climate and downscaling data (no network needed).",
    no_args_is_help=True,
)
console = Console()

_SEED = typer.Option(0, help="Random seed (non-negative); same seed, same bytes.")
_OVERWRITE = typer.Option(False, help="Replace an existing store.")


@synth_app.command("weather")
def synth_weather(
    out: Path = typer.Option(..., "--out", "-o", help="Zarr store to write."),
    grid: str = typer.Option("5.625", help="5.625, 2.8125 or 1.40625 degrees."),
    years: str = typer.Option("1979-2018", help="FIRST-LAST years, e.g. 1979-2018."),
    seed: int = _SEED,
    time_chunk: int = typer.Option(32, help="Time steps per Zarr chunk (divides 1024)."),
    overwrite: bool = _OVERWRITE,
) -> None:
    """ERA5-like 6-hourly weather: z and t at 500/850 hPa, t2m, 10 m wind, msl, 6 h precip."""
    from climbench.data.synthetic import write_weather

    path = write_weather(
        out, grid, years, seed, overwrite=overwrite, time_chunk=time_chunk, progress=True
    )
    console.print(f"[green]wrote[/] {path}")


@synth_app.command("climate")
def synth_climate(
    out: Path = typer.Option(..., "--out", "-o", help="Zarr store to write."),
    grid: str = typer.Option("5.625", help="5.625, 2.8125 or 1.40625 degrees."),
    years: str = typer.Option("1850-2100", help="Years to keep, within 1850-2100."),
    members: int = typer.Option(3, help="Ensemble members per scenario."),
    scenario: list[str] = typer.Option(
        None, "--scenario", help="Keep only these scenarios (repeatable); default: all."
    ),
    seed: int = _SEED,
    overwrite: bool = _OVERWRITE,
) -> None:
    """ClimateBench-like annual means: CO2/CH4/SO2/BC scenarios, tas, dtr, pr, pr90."""
    from climbench.data.synthetic import SCENARIOS, write_climate

    path = write_climate(
        out, grid, years, members, scenario or SCENARIOS, seed, overwrite=overwrite, progress=True
    )
    console.print(f"[green]wrote[/] {path}")


@synth_app.command("downscaling")
def synth_downscaling(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for coarse.zarr and fine.zarr."),
    coarse: str = typer.Option("5.625", help="Coarse grid: 5.625 or 2.8125 (fine: 1.40625)."),
    years: str = typer.Option("2015-2016", help="FIRST-LAST years."),
    variable: list[str] = typer.Option(
        None,
        "--variable",
        "-v",
        help="Variables (repeatable); default: 2m_temperature, total_precipitation_6hr.",
    ),
    seed: int = _SEED,
    overwrite: bool = _OVERWRITE,
) -> None:
    """A downscaling pair: a fine 1.40625-degree field and its area-mean coarse field."""
    from climbench.data.synthetic.downscaling import DEFAULT_VARIABLES, write_downscaling

    path = write_downscaling(
        out, years, seed, variable or DEFAULT_VARIABLES, coarse, overwrite=overwrite, progress=True
    )
    console.print(f"[green]wrote[/] {path}/coarse.zarr and {path}/fine.zarr")
