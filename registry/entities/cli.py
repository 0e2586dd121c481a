"""``registry entities``: who is behind addresses, and which of them are licensed services (taint stops there)."""

from __future__ import annotations

from typing import NoReturn

import typer

from registry.audit.service import CLI
from registry.auth.service import principal_for_holder
from registry.auth.tables import Role
from registry.db.engine import session_scope
from registry.entities import service
from registry.errors import InvalidInput, RegistryError

group = typer.Typer(no_args_is_help=True, help="Entities: exchanges, exchangers, mixers and their addresses.")


def _fail(e: RegistryError) -> NoReturn:
    typer.echo(f"error: {e.message}", err=True)
    raise typer.Exit(2)


AS_HOLDER = typer.Option(..., "--as-holder", help="the supervisor doing this (holder of a supervisor key)")


@group.command()
def create(
    name: str = typer.Option(..., help="e.g. 'Bybit Kazakhstan'"),
    kind: str = typer.Option("other", help=", ".join(service.KINDS)),
) -> None:
    """Create an entity (audited). Marking it a licensed service takes two supervisors: ``entities licensed``."""
    try:
        with session_scope() as s:
            e = service.create_entity(s, name, kind, CLI)
    except RegistryError as err:
        _fail(err)
    typer.echo(f"entity {e.id}: {e.name}")


@group.command()
def licensed(
    entity_id: int = typer.Argument(...),
    as_holder: str = AS_HOLDER,
    off: bool = typer.Option(False, "--off", help="no longer a licensed service"),
    licence: str | None = typer.Option(None, help="licence number (AFSA or National Bank); needed unless --off"),
    reason: str = typer.Option("", help="why (asking); a note (confirming)"),
    confirm: bool = typer.Option(False, "--confirm", help="confirm the change another supervisor asked for"),
) -> None:
    """Ask to mark an entity a licensed service (or, with --off, to withdraw it); a different supervisor confirms
    with --confirm. The next rescoring takes it into account."""
    try:
        with session_scope() as s:
            who = principal_for_holder(s, as_holder, Role.supervisor)
            if confirm:
                e = service.confirm_licensed(s, entity_id, who, reason or None)
                typer.echo(f"entity {e.id}: licensed_service={e.licensed_service} (confirmed by {who.holder})")
                return
            req = service.request_licensed(s, entity_id, not off, licence, reason or "asked by operator", who)
    except RegistryError as err:
        _fail(err)
    typer.echo(f"request {req.id} pending: a different supervisor confirms with `registry entities licensed "
               f"{entity_id} --confirm --as-holder …`")  # fmt: skip


@group.command()
def link(
    entity_id: int = typer.Argument(...),
    address: str = typer.Argument(...),
    chain: str | None = typer.Option(None, help="btc, tron, eth, …; omitted: detected"),
    as_holder: str | None = typer.Option(
        None, "--as-holder", help="a licensed service's address takes two supervisors: who asks or confirms"
    ),
    reason: str = typer.Option("", help="why (asking); a note (confirming)"),
    confirm: bool = typer.Option(False, "--confirm", help="confirm a link to a licensed service another asked for"),
) -> None:
    """Link an address to an entity (audited); to a licensed service, one supervisor asks and another confirms."""
    try:
        with session_scope() as s:
            entity, _ = service.get_entity(s, entity_id)
            if not entity.licensed_service:
                a = service.link_address(s, entity_id, address, chain, CLI)
                typer.echo(f"{a.chain}:{a.address} linked to entity {entity_id}")
                return
            if as_holder is None:
                raise InvalidInput("entity is a licensed service: name the supervisor with --as-holder")
            who = principal_for_holder(s, as_holder, Role.supervisor)
            if confirm:
                a = service.confirm_link(s, entity_id, address, chain, who, reason or None)
                typer.echo(f"{a.chain}:{a.address} linked to entity {entity_id} (confirmed by {who.holder})")
                return
            req = service.request_link(s, entity_id, address, chain, reason or "asked by operator", who)
    except RegistryError as err:
        _fail(err)
    typer.echo(f"request {req.id} pending: a different supervisor confirms with --confirm")


@group.command("list")
def list_() -> None:
    """Entities with their kind, licensed flag and number of linked addresses."""
    with session_scope() as s:
        for e, n in service.list_entities(s):
            flag = "licensed" if e.licensed_service else "-"
            typer.echo(f"{e.id}\t{e.name}\t{e.kind}\t{flag}\t{e.licence_number or '-'}\t{n} address(es)")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="entities")
