"""``registry score``: rescore now, with a progress bar; ``registry export transfers``: the Parquet hand-off."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from registry.db.engine import get_engine
from registry.errors import RegistryError
from registry.feature import shared_group
from registry.scoring.rescore import rescore
from registry.scoring.settings import get_scoring_settings
from registry.settings import get_settings


def score(
    method: str | None = typer.Option(None, help="haircut or poison (default REGISTRY_SCORING_METHOD)"),
    hops: int | None = typer.Option(None, min=1, max=10, help="hop limit H (default REGISTRY_SCORING_MAX_HOPS)"),
) -> None:
    """Recompute every address's exposure from the stored transfers and live listings, then publish it."""
    console = Console(stderr=True)
    overrides: dict[str, object] = {}
    if method is not None:
        if method not in ("haircut", "poison"):
            console.print(f"[red]--method must be haircut or poison, not {method!r}[/red]")
            raise typer.Exit(2)
        overrides["scoring_method"] = method
    if hops is not None:
        overrides["scoring_max_hops"] = hops
    settings = get_scoring_settings().model_copy(update=overrides)
    core = get_settings()
    with Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("starting", total=6)

        def progress(stage: str, step: int, of: int) -> None:
            bar.update(task, description=stage, completed=step, total=of)

        try:
            summary = rescore(
                get_engine(core.effective_database_url),
                settings,
                core.policy_version,
                trigger="cli",
                progress=progress,
            )
        except RegistryError as e:
            console.print(f"[red]{e.message}[/red]")
            raise typer.Exit(1) from None
    typer.echo(
        f"run {summary.run_id}: {summary.transfers} transfers, {summary.addresses} addresses, "
        f"{summary.scored} exposed, registry version {summary.registry_version}, {summary.seconds:.2f}s "
        f"({settings.scoring_method}, H={settings.scoring_max_hops})"
    )


class ExportFormat(StrEnum):
    parquet = "parquet"


def export_transfers(
    out: Path = typer.Argument(..., metavar="DIR", help="directory to write (created; must be empty unless --replace)"),
    fmt: ExportFormat = typer.Option(ExportFormat.parquet, "--format", help="file format (parquet)"),
    replace: bool = typer.Option(False, "--replace", help="overwrite a non-empty directory"),
) -> None:
    """Write the transfer store (transfers with address and asset ids, and both dictionaries) as Parquet files: the
    hand-off to a Spark cluster (REGISTRY_SPARK_SOURCE=parquet, REGISTRY_SPARK_PARQUET=<dir>)."""
    from registry.scoring.engines.parquet import export_transfers as export

    console = Console(stderr=True)
    engine = get_engine(get_settings().effective_database_url)
    with Progress(
        TextColumn("transfers"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("export", total=None)
        summary = export(
            engine, out, replace=replace, progress=lambda done, of: bar.update(task, completed=done, total=of)
        )
    typer.echo(
        f"{summary.transfers:,} transfers (ids up to {summary.max_id:,}), {summary.addresses:,} addresses, "
        f"{summary.assets:,} assets in {summary.files} file(s) under {out} ({fmt.value})"
    )


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    shared_group(app, "export", "Exports of the registry's data (CIS dataset, transfer store …).").command("transfers")(
        export_transfers
    )
