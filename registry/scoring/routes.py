"""``GET /v1/addresses/{chain}/{address}``: the full view for investigators, a reduced explanation for banks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from chains.addresses import AddressError, normalize
from registry.auth.service import Principal
from registry.auth.tables import Role
from registry.cases.queries import member_case_ids
from registry.db.engine import read_only, session_scope
from registry.errors import InvalidAddress
from registry.http.deps import CtxDep, require
from registry.scoring import explain
from registry.scoring.models import AddressForBank, AddressView
from registry.scoring.rescore import policy_from
from registry.scoring.settings import ScoringSettings, get_scoring_settings

router = APIRouter(tags=["exposure"])

AddressReader = Annotated[Principal, Depends(require(Role.investigator, Role.supervisor, Role.bank))]


def _scoring_settings(request: Request) -> ScoringSettings:
    found = getattr(request.app.state, "scoring_settings", None)
    return found if isinstance(found, ScoringSettings) else get_scoring_settings()


ScoringSettingsDep = Annotated[ScoringSettings, Depends(_scoring_settings)]


@router.get("/v1/addresses/{chain}/{address}", operation_id="get_address", response_model=AddressView | AddressForBank)
def get_address(
    chain: str,
    address: str,
    ctx: CtxDep,
    principal: AddressReader,
    scoring: ScoringSettingsDep,
    explain_it: bool = Query(
        False, alias="explain", description="add the policy rule behind the level, as an object and in words"
    ),
) -> AddressView | AddressForBank:
    """Listings with case references, exposure and the paths that explain it (banks: categories, hops, shares)."""
    try:
        norm = normalize(address, chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"reason": e.reason}) from None
    full = explain.address_view(
        ctx.engine,
        ctx.snapshot.current,
        norm.chain,
        norm.family,
        norm.address,
        scoring,
        ctx.settings.policy_version,
    )
    if explain_it:
        full = explain.with_explanation(full, policy_from(scoring))
    if principal.role == Role.bank:
        return explain.bank_view(full)
    if principal.role == Role.investigator:
        with session_scope(read_only(ctx.engine)) as s:
            mine = member_case_ids(s, principal.holder or "")
        return explain.restrict_to_cases(full, mine)
    return full
