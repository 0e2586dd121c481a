"""The register as any key may read it (``GET /v1/licensed``): every firm as last fetched with its curated domains,
and the last fetch beside the last applied one, so a reader sees at once when the register stopped being read."""

from __future__ import annotations

from sqlmodel import Session

from blocklist.models import Composed, LicensedFirmPublic, LicensedList, RegisterFetchPublic
from blocklist.register import queries
from blocklist.tables import RegisterFetch


def _fetch_public(f: RegisterFetch | None) -> RegisterFetchPublic | None:
    if f is None or f.id is None:
        return None
    return RegisterFetchPublic.model_validate(f, from_attributes=True)


def list_licensed(session: Session) -> LicensedList:
    domains = queries.all_domains(session)
    firms = [
        LicensedFirmPublic.model_validate(Composed(f, domains=domains.get(f.id or 0, [])), from_attributes=True)
        for f in queries.firms_by_name(session)
    ]
    return LicensedList(
        firms=firms,
        last_fetch=_fetch_public(queries.last_fetch(session)),
        last_applied=_fetch_public(queries.last_applied_fetch(session)),
    )
