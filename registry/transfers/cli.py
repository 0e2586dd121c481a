"""``registry import transfers FILE…``: load transfer files into the store, with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from registry.db.engine import get_engine
from registry.feature import shared_group
from registry.transfers import service
from registry.transfers.files import Format, RowError

console = Console(stderr=True, soft_wrap=True)
SHOWN_ERRORS = 50
"""Bad rows printed per file (all are counted)."""


class _Bar:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.began = time.perf_counter()

    def __call__(self, p: service.Progress) -> None:
        if self.task is None:
            self.task = self.progress.add_task("import", total=p.total_bytes, rates="")
        dt = max(time.perf_counter() - self.began, 1e-9)
        rates = f"{p.transfers:,} transfers ({p.inserted:,} new)  {p.transfers / dt:,.0f}/s  {Path(p.path).name}"
        self.progress.update(self.task, completed=p.done_bytes, total=p.total_bytes, rates=rates)


def _where(e: RowError) -> str:
    where = f"line {e.line}" + (f" item {e.item}" if e.item is not None else "")
    if e.column:
        where += f", {e.column}"
        if e.value is not None:
            where += f" {e.value!r}"
    return where


def transfers(
    paths: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, metavar="FILE…", help="transfer files (and side files)"
    ),
    fmt: Format = typer.Option(
        Format.auto, "--format", help="auto: recognise each file by its header or shape", case_sensitive=False
    ),
    network: str | None = typer.Option(
        None, "--network", "-n", help="EVM network of ethereum-etl files (default eth); generic CSV rows' default"
    ),
    blocks: list[Path] = typer.Option(
        [], "--blocks", exists=True, dir_okay=False, help="ethereum-etl blocks.csv: the times of token transfers"
    ),
    receipts: list[Path] = typer.Option(
        [], "--receipts", exists=True, dir_okay=False, help="ethereum-etl receipts.csv: which transactions failed"
    ),
    without_receipts: bool = typer.Option(
        False, "--without-receipts", help="import transactions.csv without receipts (failed payments included)"
    ),
    strict: bool = typer.Option(False, "--strict", help="import nothing from a file with a bad row"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Load transfers from ethereum-etl CSVs (token_transfers.csv with blocks.csv, transactions.csv with
    receipts.csv), TRC-20 JSON dumps (TronGrid, Tronscan) or the generic CSV into the transfer store.

    Idempotent with sync (same keys). Bad rows are reported with their line; the good rows of a file go in unless
    --strict. Exit status: 0 all rows good, 1 some rows or files left out, 2 nothing could be imported. The
    rescoring job picks the new transfers up (or run `registry score`)."""
    engine = get_engine()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rates]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=quiet,
    ) as progress:
        report = service.import_files(
            engine,
            paths,
            fmt=fmt,
            network=network,
            blocks=blocks,
            receipts=receipts,
            without_receipts=without_receipts,
            strict=strict,
            progress=None if quiet else _Bar(progress),
        )
    for f in report.files:
        _print_file(f)
    line = (
        f"{report.transfers:,} transfers read, {report.inserted:,} new, "
        f"{report.transfers - report.inserted:,} already stored, {report.errors_total:,} bad rows, "
        f"{report.seconds:.1f}s"
    )
    if report.inserted:
        line += "; the rescoring job will pick them up (or run `registry score` now)"
    console.print(line, markup=False, highlight=False)
    if report.inserted == 0 and (report.errors_total or report.refused):
        raise typer.Exit(2)
    if report.errors_total or report.refused:
        raise typer.Exit(1)


def _print_file(f: service.FileReport) -> None:
    name = f"{f.path} ({f.kind or 'unknown format'})"
    if f.kind in ("ethereum-etl blocks.csv", "ethereum-etl receipts.csv"):
        text = f"{name}: {f.rows:,} entries read"
        if f.times_filled:
            text += f", {f.times_filled:,} stored transfers dated"
    else:
        text = f"{name}: {f.rows:,} rows, {f.transfers:,} transfers, {f.inserted:,} new, {f.existing:,} already stored"
        if f.times_filled:
            text += f", {f.times_filled:,} stored times filled in"
        if f.unknown_time:
            hint = ": give its blocks.csv" if f.kind == "ethereum-etl token_transfers.csv" else ""
            text += f", {f.unknown_time:,} without a time (stored as unknown{hint})"
        for why, n in sorted(f.skipped.items()):
            text += f", {n:,} skipped ({why})"
    if f.errors_total:
        text += f", {f.errors_total:,} bad rows"
    if f.sha256:
        text += f", sha256 {f.sha256}"
    console.print(text, markup=False, highlight=False)
    if f.refused:
        console.print(f"  REFUSED: {f.refused}", markup=False, highlight=False)
    for e in f.errors[:SHOWN_ERRORS]:
        console.print(f"  {_where(e)}: {e.reason}", markup=False, highlight=False)
    if f.errors_total > SHOWN_ERRORS:
        console.print(f"  … and {f.errors_total - SHOWN_ERRORS:,} more bad rows", markup=False, highlight=False)


def register(root: typer.Typer) -> None:
    """The transfers feature's ``cli`` hook: ``transfers`` joins the ``registry import`` group (shared with the
    imports feature's ``listings`` and ``sanctions``)."""
    shared_group(root, "import", "Import listings, official lists and transfer files.").command("transfers")(transfers)
