"""A parent of a licensed name is refused (409 ``licensed_domain``, naming the licence): blocking the parent would
block the licensed firm with it, in every format without a pass-through (hosts, Squid, plain lists).

The shipped seed licenses whole registrable domains (``intebix.kz``, ``bybit.kz``, …); what needs the check for
names *below* the submitted one is a licensed subdomain under a registrable domain nobody holds a licence for: a
white-label front such as ``kz.tradehub-global.com``, mapped by a supervisor to a seeded firm. Expected messages
and licence details are written out from the seed row (``blocklist/register/seed.csv``: Intebix Ltd., AFSA licence
AFSA-G-LA-2022-0004) and the README's wording, not read back from the code.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from blocklist.tables import BlocklistDomain, FeedEntry, LicensedDomain, LicensedFirm
from registry.db.engine import session_scope
from registry.db.types import utcnow
from tests.registry.helpers import insert_case

INVESTIGATOR = "Irina Investigator"
LICENSED_SUB = "kz.tradehub-global.com"
PARENT = "tradehub-global.com"
INTEBIX = {
    "domain": LICENSED_SUB,
    "firm": "Intebix Ltd.",
    "licence_number": "AFSA-G-LA-2022-0004",
    "regulator": "afsa",
}


@pytest.fixture
def who(keys: Any) -> dict[str, dict[str, str]]:
    return {
        "investigator": keys.headers("investigator", holder=INVESTIGATOR),
        "supervisor": keys.headers("supervisor", holder="Sergei Supervisor"),
    }


def _firm_id(client: TestClient, h: dict[str, str], licence: str) -> int:
    firms = client.get("/v1/licensed", headers=h).json()["firms"]
    return int(next(f["id"] for f in firms if f["licence_number"] == licence))


def _map(client: TestClient, who: dict[str, dict[str, str]], domain: str) -> None:
    firm = _firm_id(client, who["supervisor"], INTEBIX["licence_number"])
    body = {"domain": domain, "note": "white-label front named in the firm's terms"}
    r = client.post(f"/v1/licensed/{firm}/domains", json=body, headers=who["supervisor"])
    assert r.status_code == 201 and r.json()["status"] == "mapped", r.text  # unblocks nothing: applied at once


def _submit(client: TestClient, h: dict[str, str], case_id: int, domain: str) -> Any:
    body = {"domain": domain, "legal_basis": "AIFC rules: unlicensed digital asset exchange"}
    return client.post(f"/v1/cases/{case_id}/domains", json=body, headers=h)


def test_parent_of_a_licensed_subdomain_is_refused_naming_the_licence(
    app_client: TestClient, engine: Any, who: dict[str, dict[str, str]]
) -> None:
    _map(app_client, who, LICENSED_SUB)
    case_id = insert_case(engine, f"L-{uuid.uuid4().hex[:8]}", INVESTIGATOR)
    inv = who["investigator"]
    for submitted in (PARENT, "https://WWW.TradeHub-Global.com/kz/login", "tradehub-global.com."):
        r = _submit(app_client, inv, case_id, submitted)
        assert r.status_code == 409, (submitted, r.text)
        err = r.json()["error"]
        assert err["code"] == "licensed_domain"
        assert err["message"] == (
            "tradehub-global.com covers a licensed domain of Intebix Ltd. (AFSA licence AFSA-G-LA-2022-0004, "
            "domain kz.tradehub-global.com): licensed firms are never blocked"
        )
        assert err["details"] == {"licence": INTEBIX}
    # The licensed name itself and names under it are refused too (the covering check, for contrast).
    for submitted, relation in (
        (LICENSED_SUB, "is a licensed domain of"),
        ("pay.kz.tradehub-global.com", "is under the licensed domain of"),
    ):
        r = _submit(app_client, inv, case_id, submitted)
        assert r.status_code == 409 and r.json()["error"]["code"] == "licensed_domain", r.text
        assert f"{submitted} {relation} Intebix Ltd." in r.json()["error"]["message"]
    # Not over-broad: a sibling under the same parent, and a name that only ends in the same letters, are taken.
    for accepted in ("ru.tradehub-global.com", "hub-global.com"):
        assert _submit(app_client, inv, case_id, accepted).status_code == 201, accepted
    with session_scope(engine) as s:
        entries = sorted(s.execute(select(BlocklistDomain.domain)).scalars())
    assert entries == ["hub-global.com", "ru.tradehub-global.com"]


def test_every_parent_up_to_the_registrable_domain_is_refused(
    app_client: TestClient, engine: Any, who: dict[str, dict[str, str]]
) -> None:
    _map(app_client, who, "a.b.deep-front.com")
    case_id = insert_case(engine, f"L-{uuid.uuid4().hex[:8]}", INVESTIGATOR)
    for parent in ("b.deep-front.com", "deep-front.com"):
        r = _submit(app_client, who["investigator"], case_id, parent)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["details"]["licence"] == {**INTEBIX, "domain": "a.b.deep-front.com"}


def test_approval_refuses_a_parent_whose_subdomain_was_licensed_after_submission(
    app_client: TestClient, engine: Any, who: dict[str, dict[str, str]]
) -> None:
    """A licence can reach the database between submission and approval without passing through the mapping
    route (a register refresh, a second worker): approval checks again and the parent never enters the feed."""
    case_id = insert_case(engine, f"L-{uuid.uuid4().hex[:8]}", INVESTIGATOR)
    r = _submit(app_client, who["investigator"], case_id, PARENT)
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    with session_scope(engine) as s:
        firm = s.execute(select(LicensedFirm).where(LicensedFirm.licence_number == "AFSA-G-LA-2022-0004")).scalar_one()
        s.add(LicensedDomain(firm_id=firm.id or 0, domain=LICENSED_SUB, created_by="test:refresh", created_at=utcnow()))
    r = app_client.post(
        f"/v1/domains/{entry_id}/approve", json={"reason": "evidence reviewed"}, headers=who["supervisor"]
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "licensed_domain" and r.json()["error"]["details"] == {"licence": INTEBIX}
    assert app_client.get(f"/v1/domains/{entry_id}", headers=who["supervisor"]).json()["status"] == "pending"
    with session_scope(engine) as s:
        assert PARENT not in set(s.execute(select(FeedEntry.domain)).scalars())
