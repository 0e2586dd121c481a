from __future__ import annotations

import typer

from registry.audit import service
from registry.db.engine import session_scope

app = typer.Typer(no_args_is_help=True, help="The audit log.")


@app.command()
def verify() -> None:
    """Check the hash chain; exit 1 and name the rows if any was edited or deleted."""
    with session_scope() as s:
        result = service.verify(s)
    if result.ok:
        typer.echo(f"audit log intact: {result.checked} events verified")
        return
    for p in result.problems:
        typer.echo(f"TAMPERED: {p}", err=True)
    raise typer.Exit(1)


@app.callback()
def _group() -> None:
    """The audit log."""
