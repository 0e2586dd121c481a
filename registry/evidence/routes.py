"""``GET /v1/addresses/{chain}/{address}/evidence?format=pdf|csv|json``: parse, authorise, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from chains.addresses import AddressError, normalize
from registry.errors import InvalidAddress
from registry.evidence import service
from registry.evidence.models import EvidencePack
from registry.http.deps import CaseReaderKey, CtxDep, SessionDep
from registry.scoring.settings import ScoringSettings, get_scoring_settings

router = APIRouter(prefix="/v1", tags=["investigations"])


def _scoring_settings(request: Request) -> ScoringSettings:
    """The prices and hop limit the scores were computed with (set when the app is built)."""
    found = getattr(request.app.state, "scoring_settings", None)
    return found if isinstance(found, ScoringSettings) else get_scoring_settings()


@router.get(
    "/addresses/{chain}/{address}/evidence",
    operation_id="get_evidence_pack",
    response_model=EvidencePack,
    responses={
        200: {
            "description": "the pack (format=json: this model; pdf and csv: the rendered file, as an attachment)",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def get_evidence_pack(
    chain: str,
    address: str,
    who: CaseReaderKey,
    ctx: CtxDep,
    session: SessionDep,
    scoring: Annotated[ScoringSettings, Depends(_scoring_settings)],
    fmt: Annotated[service.Format, Query(alias="format", description="pdf (for people), csv or json")] = "pdf",
) -> Response:
    """What the registry states about one address, for a prosecutor: listings with legal basis and the persons who
    decided them, the exposure with its paths drawn as a graph, each transfer in human units, the registry and policy
    versions, and a SHA-256 of the content (what it covers: the ``hash_covers`` field, and the PDF's last section).
    An investigator gets case data of their own cases only. Every pack taken is in the audit log."""
    try:
        norm = normalize(address, chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"in": "path", "field": "address", "reason": e.reason}) from None
    out = service.generate(
        session,
        ctx.engine,
        ctx.snapshot.current,
        scoring,
        ctx.settings.policy_version,
        who,
        norm.chain,
        norm.family,
        norm.address,
        fmt,
    )
    headers = {
        "Repr-Digest": out.repr_digest,
        "X-Evidence-SHA256": out.sha256,
        "Cache-Control": "no-store",
    }
    if fmt != "json":
        headers["Content-Disposition"] = f'attachment; filename="{out.filename}"'
    return Response(out.body, media_type=out.media_type, headers=headers)
