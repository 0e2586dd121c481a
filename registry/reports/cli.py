"""``registry report`` (the period report in PDF, HTML, JSON or CSV) and ``registry export cis`` (the signed CIS
dataset). ``export`` is a group other features add to as well (``registry.feature.shared_group``)."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import typer

from registry.errors import InvalidInput
from registry.feature import shared_group
from registry.reports.i18n import LANGS
from registry.reports.periods import Period, date_range, last_closed, parse
from registry.reports.render import FORMATS


def _period(period: str | None, start: str | None, end: str | None) -> Period:
    if period and (start or end):
        raise InvalidInput("give --period or --from/--to, not both")
    if start or end:
        if not (start and end):
            raise InvalidInput("--from and --to go together (both days included)")
        try:
            return date_range(date.fromisoformat(start), date.fromisoformat(end))
        except ValueError:
            raise InvalidInput("--from and --to are dates: 2026-03-01") from None
    if period:
        return parse(period)
    return last_closed(datetime.now(UTC).date())


def _status(what: str) -> AbstractContextManager[object]:
    """A spinner on stderr while the figures are read and rendered (a few seconds on a large registry); nothing
    when stderr is not a terminal."""
    from rich.console import Console

    return Console(stderr=True).status(what)


def _write(body: bytes, output: str, what: str) -> None:
    if output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    path = Path(output)
    path.write_bytes(body)
    typer.echo(f"wrote {path} ({len(body):,} bytes): {what}", err=True)


def report(
    period: str | None = typer.Option(
        None, "--period", help="2026H1, 2026H2 or FROM..TO; default: the half-year that closed last"
    ),
    start: str | None = typer.Option(None, "--from", help="first day (with --to), e.g. 2026-03-01"),
    end: str | None = typer.Option(None, "--to", help="last day, included"),
    fmt: str = typer.Option("pdf", "--format", help="pdf, html, json or csv"),
    lang: str | None = typer.Option(None, "--lang", help="ru or en (default REGISTRY_REPORTS_LANG)"),
    output: str | None = typer.Option(
        None, "--output", "-o", help="file to write ('-': standard output); default: a name after the period"
    ),
    draft: bool = typer.Option(
        False, "--draft", help="render the draft stored when the half-year closed instead of reading the figures now"
    ),
) -> None:
    """Write the period report: listings, domains, licences, cases, screenings, alerts, value flows, with charts."""
    from registry.db.engine import get_engine
    from registry.reports import service
    from registry.reports.settings import get_report_settings
    from registry.settings import get_settings

    if fmt not in FORMATS:
        raise InvalidInput(f"--format is one of {', '.join(FORMATS)}")
    language = lang or get_report_settings().reports_lang
    if language not in LANGS:
        raise InvalidInput(f"--lang is one of {', '.join(LANGS)}")
    p = _period(period, start, end)
    with _status(f"reading the figures of {p.label} and writing the {fmt.upper()} …"):
        stats, out = service.report(
            get_engine(),
            p,
            fmt=fmt,
            lang=language,
            draft=draft,
            policy_version=get_settings().policy_version,
        )
    _write(out.body, output or out.filename, f"{p.label}, due {p.due.isoformat()}, sha256 {stats.sha256}")


def export_cis(
    period: str | None = typer.Option(
        None, "--period", help="2026H1, 2026H2 or FROM..TO; default: the half-year that closed last"
    ),
    start: str | None = typer.Option(None, "--from", help="first day (with --to)"),
    end: str | None = typer.Option(None, "--to", help="last day, included"),
    output: str | None = typer.Option(None, "--output", "-o", help="file to write ('-': standard output)"),
) -> None:
    """Write the signed, aggregated CIS dataset of a period (no identifiers; small cells suppressed)."""
    from registry.db.engine import get_engine
    from registry.reports import service
    from registry.settings import get_settings

    p = _period(period, start, end)
    with _status(f"reading the figures of {p.label} …"):
        dataset = service.signed_cis_export(get_engine(), p, policy_version=get_settings().policy_version)
    body = orjson.dumps(dataset, option=orjson.OPT_INDENT_2)
    name = f"cis-export-{p.label.replace('..', '_')}.json"
    _write(body, output or name, f"{p.label}, key {dataset['key_id']}, min cell {dataset['min_cell']}")


def register(root: typer.Typer) -> None:
    root.command("report")(report)
    shared_group(root, "export", "Exports of the registry's data (CIS dataset, transfer store …).").command("cis")(
        export_cis
    )
