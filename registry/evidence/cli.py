"""``registry evidence CHAIN ADDRESS --format pdf --out FILE`` and ``registry verify-evidence FILE``."""

from __future__ import annotations

from pathlib import Path

import typer

from chains.addresses import AddressError, normalize
from registry.auth.service import Principal, principal_for_holder
from registry.auth.tables import Role
from registry.db.engine import get_engine, session_scope
from registry.errors import NotFound
from registry.evidence import service
from registry.scoring.settings import get_scoring_settings
from registry.scoring.snapshot import load_exposure
from registry.screening.snapshot import SnapshotHolder
from registry.settings import get_settings


def _person(holder: str) -> Principal:
    """The named person, as a supervisor if they hold a live supervisor key, else as an investigator (who then
    gets their own cases' data only, as over HTTP)."""
    with session_scope() as s:
        try:
            return principal_for_holder(s, holder, Role.supervisor)
        except NotFound:
            return principal_for_holder(s, holder, Role.investigator)


def evidence(
    chain: str = typer.Argument(..., help="eth, bsc, tron, btc, …"),
    address: str = typer.Argument(...),
    fmt: service.Format = typer.Option("pdf", "--format", help="pdf, csv or json"),
    out: Path = typer.Option(..., "--out", "-o", dir_okay=False, help="the file to write"),
    as_holder: str = typer.Option(
        ..., "--as-holder", help="the person taking the pack (a supervisor or investigator key holder); audited"
    ),
) -> None:
    """Write the evidence pack of an address: listings, exposure graph, transfers, versions, persons, sha256."""
    if fmt not in service.FORMATS:
        raise typer.BadParameter(f"one of {', '.join(service.FORMATS)}", param_hint="--format")
    try:
        norm = normalize(address, chain)
    except AddressError as e:
        raise typer.BadParameter(e.message, param_hint="ADDRESS") from None
    settings = get_settings()
    engine = get_engine()
    who = _person(as_holder)
    holder = SnapshotHolder(engine, settings.snapshot_poll_seconds)
    holder.exposure_loader = load_exposure  # as an API worker loads it (registry.scoring.snapshot.install)
    holder.refresh(force=True)
    with session_scope(engine) as s:
        rendered = service.generate(
            s,
            engine,
            holder.current,
            get_scoring_settings(),
            settings.policy_version,
            who,
            norm.chain,
            norm.family,
            norm.address,
            fmt,
        )
    out.write_bytes(rendered.body)
    typer.echo(f"{out}: evidence pack of {norm.chain} {norm.address} for {who.holder}, sha256 {rendered.sha256}")


def verify_evidence(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Check an evidence pack (pdf, csv or json) against the sha256 it states; exit 1 if it does not match."""
    result = service.verify(file.read_bytes())
    if result.ok:
        typer.echo(f"OK {result.kind}: sha256 {result.computed} ({result.reason})")
        return
    typer.echo(
        f"MISMATCH {result.kind}: stated {result.stated}, computed {result.computed} ({result.reason})", err=True
    )
    raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.command("evidence")(evidence)
    root.command("verify-evidence")(verify_evidence)
