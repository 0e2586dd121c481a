from __future__ import annotations

import typer

from registry.audit.service import CLI
from registry.auth import service
from registry.db.engine import session_scope
from registry.errors import RegistryError
from registry.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="API keys.")


@app.command()
def create(
    role: str = typer.Option(..., help="bank | isp | investigator | supervisor | admin"),
    org: str = typer.Option(..., help="organisation the key belongs to"),
    holder: str = typer.Option("", help="the person holding it (required for investigator and supervisor keys)"),
) -> None:
    """Create a key and print it once; only its HMAC is stored."""
    try:
        with session_scope() as s:
            secret, row = service.create_key(s, role, org, get_settings().effective_key_pepper, CLI, holder)
    except RegistryError as e:
        typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"id={row.id} role={row.role} org={row.org}", err=True)
    typer.echo(secret)


@app.command()
def revoke(key_id: int = typer.Argument(..., help="id shown by `registry keys list`")) -> None:
    """Revoke a key; every worker stops accepting it within a second."""
    try:
        with session_scope() as s:
            service.revoke_key(s, key_id, CLI)
    except RegistryError as e:
        typer.echo(f"error: {e.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"key {key_id} revoked")


@app.command("list")
def list_() -> None:
    """List keys (prefix, role, organisation, state); secrets are never shown."""
    with session_scope() as s:
        for k in service.list_keys(s):
            status = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            typer.echo(f"{k.id}\t{k.prefix}…\t{k.role}\t{k.org}\t{k.holder_display or k.holder or '-'}\t{status}")
