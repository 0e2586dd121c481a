"""``registry entities``: who is behind addresses, and which of them are licensed services (taint stops there)."""

from __future__ import annotations

from typing import NoReturn

import typer

from registry.audit.service import CLI
from registry.db.engine import session_scope
from registry.entities import service
from registry.errors import RegistryError

group = typer.Typer(no_args_is_help=True, help="Entities: exchanges, exchangers, mixers and their addresses.")


def _fail(e: RegistryError) -> NoReturn:
    typer.echo(f"error: {e.message}", err=True)
    raise typer.Exit(2)


@group.command()
def create(
    name: str = typer.Option(..., help="e.g. 'Bybit Kazakhstan'"),
    kind: str = typer.Option("other", help=", ".join(service.KINDS)),
    licensed_service: bool = typer.Option(False, help="a regulated service: exposure does not propagate through it"),
    licence: str | None = typer.Option(None, help="licence number (AFSA or National Bank)"),
) -> None:
    """Create an entity (audited)."""
    try:
        with session_scope() as s:
            e = service.create_entity(s, name, kind, licensed_service, licence, CLI)
    except RegistryError as err:
        _fail(err)
    typer.echo(f"entity {e.id}: {e.name}")


@group.command()
def licensed(
    entity_id: int = typer.Argument(...),
    off: bool = typer.Option(False, "--off", help="no longer a licensed service"),
    licence: str | None = typer.Option(None),
) -> None:
    """Mark an entity a licensed service (or not); the next rescoring takes it into account."""
    try:
        with session_scope() as s:
            e = service.set_licensed(s, entity_id, not off, licence, CLI)
    except RegistryError as err:
        _fail(err)
    typer.echo(f"entity {e.id}: licensed_service={e.licensed_service}")


@group.command()
def link(
    entity_id: int = typer.Argument(...),
    address: str = typer.Argument(...),
    chain: str | None = typer.Option(None, help="btc, tron, eth, …; omitted: detected"),
) -> None:
    """Link an address to an entity (audited)."""
    try:
        with session_scope() as s:
            a = service.link_address(s, entity_id, address, chain, CLI)
    except RegistryError as err:
        _fail(err)
    typer.echo(f"{a.chain}:{a.address} linked to entity {entity_id}")


@group.command("list")
def list_() -> None:
    """Entities with their kind, licensed flag and number of linked addresses."""
    with session_scope() as s:
        for e, n in service.list_entities(s):
            flag = "licensed" if e.licensed_service else "-"
            typer.echo(f"{e.id}\t{e.name}\t{e.kind}\t{flag}\t{e.licence_number or '-'}\t{n} address(es)")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="entities")
