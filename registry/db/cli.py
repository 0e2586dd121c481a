from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Database schema.")


@app.command()
def upgrade() -> None:
    """Apply every pending migration (SQLite under var/ unless REGISTRY_DATABASE_URL is set)."""
    from registry.db.engine import get_engine
    from registry.db.migrate import upgrade as run_upgrade

    engine = get_engine()
    run_upgrade(engine)
    typer.echo(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


@app.callback()
def _group() -> None:
    """Database schema."""
