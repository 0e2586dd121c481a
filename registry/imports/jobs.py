"""The scheduled OFAC sanctions import."""

from __future__ import annotations

from functools import partial

from registry.db.engine import session_scope
from registry.ops.jobs import JobSpec
from registry.settings import Settings


def _import(sources: list[str]) -> str:
    from registry.imports import ofac
    from registry.imports.service import apply_sanctions
    from registry.imports.sources import read_sources

    items, scope = read_sources(sources)
    entries, rejected = ofac.dedupe(items)
    with session_scope() as s:
        r = apply_sanctions(s, entries, rejected, scope)
    return (
        f"{r.added} added, {r.updated} updated, {r.unchanged} unchanged, {r.delisted} delisted, "
        f"{len(r.rehomed)} re-homed, {len(r.rejected)} rejected"
    )


def jobs(settings: Settings) -> list[JobSpec]:
    if not settings.sanctions_sources:
        return []
    return [
        JobSpec(
            "sanctions:import",
            partial(_import, settings.sanctions_sources),
            settings.sanctions_import_seconds,
            "import the OFAC SDN digital-currency addresses (REGISTRY_SANCTIONS_SOURCES)",
            hint="REGISTRY_SANCTIONS_SOURCES=[] turns the scheduled import off, or point it at local files or a "
            'mirror (a JSON list of paths or URLs, e.g. ["/srv/ofac/sdn_advanced.xml"])',
        )
    ]
