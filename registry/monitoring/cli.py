"""``registry monitoring status|replay|run``: the agency's operators look at and nudge monitoring.

``status`` prints counts per bank (never addresses); ``replay`` puts a bank's dead letters back in its webhook queue
(what the bank itself does with ``POST /v1/alerts/replay``), audited as the operator; ``run`` computes the alerts of
the current registry version and sends what is due once, in the foreground (the worker does both continuously).
"""

from __future__ import annotations

import typer

from registry.audit.service import Actor
from registry.auth.persons import check_holder
from registry.db.engine import get_engine, session_scope
from registry.db.lease import holder_id
from registry.db.types import utcnow
from registry.monitoring import queries, service
from registry.monitoring.delivery import make_client, send_endpoint
from registry.monitoring.settings import MonitoringSettings
from registry.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Watchlists, alerts and webhooks (counts per bank, dead letters).")


@app.command()
def status() -> None:
    """Per bank: watched addresses and alerts by status; the last registry version processed."""
    engine = get_engine(get_settings().effective_database_url)
    with session_scope(engine) as s:
        summary = service.summary(s)
    last = summary["last_processed_version"]
    typer.echo(f"last processed registry version: {'none yet' if last is None else last}")
    typer.echo(f"{'bank':<40} {'watched':>10} {'alerts':>8} {'pending':>8} {'delivered':>10} {'dead':>6} {'pull':>6}")
    for b in summary["banks"]:
        typer.echo(
            f"{b['bank'][:40]:<40} {b['watched']:>10,} {b['alerts']:>8,} {b['pending']:>8,} {b['delivered']:>10,} "
            f"{b['dead']:>6,} {b['pull']:>6,}"
        )


@app.command()
def replay(
    bank: str = typer.Option(..., "--bank", help="the bank's organisation, as its API keys name it"),
    as_holder: str = typer.Option(..., "--as-holder", help="the operator doing it (named in the audit log)"),
    alert_id: list[int] | None = typer.Option(None, "--id", help="replay only this dead letter (repeat the option)"),
) -> None:
    """Put the bank's dead letters back in its webhook queue, with their original webhook-id."""
    engine = get_engine(get_settings().effective_database_url)
    person = check_holder(as_holder)
    with session_scope(engine) as s:
        n = service.replay(
            s, bank, Actor(kind="cli", id=person, org="operator", role="admin"), alert_id, MonitoringSettings()
        )
    typer.echo(f"{n} dead letter(s) of {bank} queued again")


@app.command()
def run() -> None:
    """Compute the alerts of the current registry version, then send every webhook's due alerts once."""
    settings = get_settings()
    ms = MonitoringSettings()
    engine = get_engine(settings.effective_database_url)
    done, _ = service.process_version(engine, ms)
    typer.echo(str(done))
    holder = holder_id()
    with session_scope(engine) as s:
        endpoints = queries.due_endpoints(s, utcnow())
    with make_client(ms) as client:
        for endpoint_id in endpoints:
            report = send_endpoint(engine, ms, endpoint_id, holder, client)
            typer.echo(
                f"webhook {endpoint_id}: {report.delivered} delivered, {report.failed} failed, {report.dead} dead"
                + (" (another worker is sending)" if report.busy else "")
            )
