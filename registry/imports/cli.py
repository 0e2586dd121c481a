from __future__ import annotations

from pathlib import Path

import typer

from registry.errors import RegistryError

app = typer.Typer(no_args_is_help=True, help="Import listings and official lists.")


@app.command()
def sanctions(
    locations: list[str] = typer.Argument(
        None, help="directories of sanctioned_addresses_<ASSET>.txt, such files, sdn_advanced.xml (path or URL)"
    ),
    asset: str | None = typer.Option(None, help="asset code of a text file whose name does not say it"),
    force: bool = typer.Option(False, help="apply even if the new list is less than half the current one"),
) -> None:
    """Import OFAC sanctioned addresses; idempotent; addresses gone from the list are delisted."""
    from registry.db.engine import session_scope
    from registry.imports import ofac
    from registry.imports.service import apply_sanctions
    from registry.imports.sources import OFAC_SDN_ADVANCED_URL, read_sources

    try:
        items, scope = read_sources(locations or [OFAC_SDN_ADVANCED_URL], asset)
        entries, rejected = ofac.dedupe(items)
        with session_scope() as s:
            report = apply_sanctions(s, entries, rejected, scope, force=force)
    except RegistryError as e:
        typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"sanctions: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.delisted} delisted, {len(report.rehomed)} re-homed, {len(report.rejected)} rejected "
        f"(assets: {ofac.describe_scope(scope)})"
    )
    for h in report.rehomed:
        typer.echo(
            f"REHOMED {h.origin} [{h.asset}] {h.address!r}: not an address of {h.asset}; listed on {h.chain}", err=True
        )
    for r in report.rejected:
        typer.echo(f"REJECTED {r.origin} [{r.asset}] {r.value!r}: {r.reason}", err=True)


@app.command()
def listings(
    case: str = typer.Option(..., help="case number"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with a header row"),
    as_holder: str = typer.Option(
        ..., "--as-holder", help="the investigator submitting (holder of a live investigator key, a case member)"
    ),
) -> None:
    """Submit a CSV of listings to a case (pending until a supervisor approves); all or nothing.

    The submission is made and audited as the named person, so the four-eyes rule knows who may approve it."""
    from registry.auth.service import principal_for_holder
    from registry.auth.tables import Role
    from registry.cases import queries
    from registry.cases.service import import_csv
    from registry.db.engine import session_scope
    from registry.settings import get_settings

    try:
        with session_scope() as s:
            who = principal_for_holder(s, as_holder, Role.investigator)
            c = queries.case_by_number(s, case)
            if c is None:
                typer.echo(f"error: no case {case!r}", err=True)
                raise typer.Exit(2)
            rows = import_csv(s, c.id or 0, file.read_bytes(), who, get_settings().max_csv_rows)
    except RegistryError as e:
        typer.echo(f"error: {e.message}", err=True)
        details = e.details.get("errors", []) if isinstance(e.details, dict) else []
        for d in details:
            typer.echo(f"  line {d['line']}: {d.get('column') or ''} {d['reason']}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{len(rows)} listings submitted to case {case} by {who.holder}; pending approval")
