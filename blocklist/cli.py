"""``registry blocklist …``: export a feed, refresh the licence register, curate licensed domains."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from blocklist.feeds.render import FORMATS

app = typer.Typer(no_args_is_help=True, help="Blocklist of unlicensed exchangers' domains.")


@app.callback()
def _group() -> None:
    """Blocklist of unlicensed exchangers' domains."""


@app.command()
def export(
    format: str = typer.Option(..., "--format", "-f", help=f"one of {', '.join(FORMATS)}"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: standard output)")
    ] = None,
) -> None:
    """Write the current feed in one format (the same bytes the API serves at this serial)."""
    from blocklist.feeds.render import render
    from blocklist.feeds.service import load_feed
    from blocklist.register.seed import ensure_seed
    from registry.db.engine import get_engine, read_only

    if format not in FORMATS:
        raise typer.BadParameter(f"unknown format {format!r}; formats: {', '.join(FORMATS)}", param_hint="--format")
    engine = get_engine()
    ensure_seed(engine)
    with read_only(engine).connect() as conn:
        feed = load_feed(conn)
    body = render(format, feed)
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(output)  # readers (an ISP's resolver reload) never see a half-written file
    typer.echo(f"wrote {format} feed at serial {feed.serial} ({len(feed.blocked)} domains) to {output}", err=True)


@app.command("refresh-register")
def refresh_register(
    url: str | None = typer.Option(None, help="register base URL (REGISTRY_REGISTER_URL)"),
) -> None:
    """Fetch the AFSA register now; a fetch that looks wrong is reported and not applied (exit code 1)."""
    from blocklist.register.refresh import refresh_register as run
    from blocklist.register.sources import make_register
    from blocklist.settings import BlocklistSettings
    from registry.audit.service import CLI
    from registry.db.engine import get_engine

    settings = BlocklistSettings()
    if url:
        settings = settings.model_copy(update={"register_url": url})
    out = run(get_engine(), make_register(settings), settings.register_min_keep_ratio, CLI)
    typer.echo(f"fetch {out.fetch_id}: {out.outcome}; {out.firms} firms, {out.changed} changed. {out.message}".strip())
    if out.outcome in ("rejected", "failed"):
        raise typer.Exit(1)


@app.command("licensed-domain")
def licensed_domain(
    firm_id: int = typer.Argument(..., help="id of the licensed firm (GET /v1/licensed)"),
    domain: str = typer.Argument(..., help="domain the firm operates"),
    as_holder: str = typer.Option(..., "--as-holder", help="the supervisor doing this (holder of a supervisor key)"),
    note: str = typer.Option("", help="source of the fact, e.g. the firm's terms of use"),
    remove: bool = typer.Option(False, "--remove", help="remove the mapping instead"),
    confirm: bool = typer.Option(False, "--confirm", help="confirm a mapping another supervisor asked for"),
) -> None:
    """Curate the firm → domain mapping (the register lists no websites); audited under the named supervisor.

    A mapping that would take blocked names out of the feed waits for a second supervisor (``--confirm``)."""
    from blocklist.register.mapping import add_licensed_domain, confirm_licensed_domain, remove_licensed_domain
    from registry.auth.service import principal_for_holder
    from registry.auth.tables import Role
    from registry.db.engine import get_engine, session_scope

    with session_scope(get_engine()) as s:
        who = principal_for_holder(s, as_holder, Role.supervisor)
        if remove:
            host = remove_licensed_domain(s, domain, who, note or "removed by operator")
            typer.echo(f"removed {host}")
            return
        out = (
            confirm_licensed_domain(s, domain, who, note)
            if confirm
            else add_licensed_domain(s, firm_id, domain, who, note)
        )
    if out.status == "pending":
        req = out.request.id if out.request else "?"
        typer.echo(
            f"{out.domain}: waits for a second supervisor (request {req}); it unblocks {', '.join(out.unblocks)}"
        )
    else:
        typer.echo(f"mapped {out.domain}" + (f"; unblocked {', '.join(out.unblocks)}" if out.unblocks else ""))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="blocklist")
