"""``registry worker``: the scheduled jobs without the API (production runs one beside API workers)."""

from __future__ import annotations

import signal
import threading

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker() -> None:
        """Run the scheduled jobs (sync, crawl, register refresh, sanctions import, rescoring, feeds)."""
        from registry.db.engine import get_engine
        from registry.ops.scheduler import Scheduler
        from registry.settings import get_settings

        scheduler = Scheduler(get_engine(), get_settings())
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        scheduler.start()
        for spec in scheduler.specs:
            typer.echo(f"job {spec.id} every {spec.seconds:g}s: {spec.description}")
        stop.wait()
        scheduler.shutdown()
