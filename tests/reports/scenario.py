"""A populated registry for the report tests, built through the API and the services the product's own paths use:
investigators submit listings, two supervisors decide (approve, reject, delist), an official list is imported,
exchanger domains are blocked and unblocked, the licence register changes, banks screen, part of the screening log
is rolled up by retention, and transfers reach the transfer store through its writer.

What the figures must be is written here by hand (``Expected``): the tests compare the report with these and with
counts taken straight from the tables by their own SQL, never with the product's queries.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import base58
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from tests.registry.helpers import approve, delist, new_case, submit
from tests.support.keys import Keys

ETH = 10**18
USDT_ETH = "0xdac17f958d2ee523a2206206994597c13d831ec7"
BANK_ORGS = ("Qazaq Test Bank 91f3", "Steppe Test Bank 37c2")


def evm() -> str:
    return "0x" + os.urandom(20).hex()


def tron() -> str:
    return str(base58.b58encode_check(b"\x41" + os.urandom(20)).decode())


@dataclass
class Expected:
    """The figures of the scenario, counted by hand as it was built."""

    added: dict[str, int] = field(default_factory=dict)  # category -> listings added (fiu and ofac)
    approved: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    delisted: dict[str, int] = field(default_factory=dict)
    expired: dict[str, int] = field(default_factory=dict)
    domains_blocked: int = 0
    domains_unblocked: int = 0
    licensed_firms_added: int = 0
    licensed_firms_withdrawn: int = 0
    cases_opened: int = 0
    alerts_sent: int = 0
    screenings: int = 0  # in the period (log and rollup)
    previous_screenings: int = 0  # rolled-up history of the previous half-year
    flows: dict[tuple[str, str, str], tuple[int, float]] = field(default_factory=dict)
    """(category, direction, counterparty) -> (transfers, reference value in USD)"""

    def count(self, event: str, category: str, n: int = 1) -> None:
        figures: dict[str, int] = getattr(self, event)
        figures[category] = figures.get(category, 0) + n


@dataclass
class Scenario:
    engine: Engine
    client: TestClient
    sup: dict[str, str]
    sup2: dict[str, str]
    inv: dict[str, str]
    bank: dict[str, str]
    isp: dict[str, str]
    expected: Expected
    case_numbers: list[str]
    domains: list[str]
    listed: dict[str, list[str]]  # category -> addresses listed by the agency


def _listing_ids(client: TestClient, inv: dict[str, str], case_id: int, addresses: list[str], **kw: Any) -> list[int]:
    return [int(submit(client, inv, case_id, a, **kw)["id"]) for a in addresses]


def _wait_for_log(engine: Engine, rows: int, timeout: float = 10.0) -> None:
    """The screening log is written in batches off the request path: wait until ``rows`` rows are in."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as c:
            n = int(c.execute(text("SELECT count(*) FROM screening_log")).scalar_one())
        if n >= rows or time.monotonic() > deadline:
            assert n >= rows, f"only {n} of {rows} screening log rows were written"
            return
        time.sleep(0.05)


def build(client: TestClient, engine: Engine, keys: Keys, previous_day: datetime) -> Scenario:
    """The registry after one busy half-year; ``previous_day`` is a day of the half-year before."""
    tag = uuid.uuid4().hex[:6]
    inv = keys.headers("investigator", "AFM Investigations", f"Aliya Investigator {tag}")
    sup = keys.headers("supervisor", "AFM Supervision", f"Bolat Supervisor {tag}")
    sup2 = keys.headers("supervisor", "AFM Supervision", f"Dana Supervisor {tag}")
    bank = keys.headers("bank", BANK_ORGS[0], f"bank-a-{tag}")
    bank2 = keys.headers("bank", BANK_ORGS[1], f"bank-b-{tag}")
    isp = keys.headers("isp", "Test ISP 55", f"isp-{tag}")
    exp = Expected()

    case_a = new_case(client, inv, number=f"AFM-T-{tag}-A", title=f"Operation Zhelken {tag}")
    case_b = new_case(client, inv, number=f"AFM-T-{tag}-B", title=f"Operation Saryarqa {tag}", secrecy="secret")
    exp.cases_opened = 2

    listed: dict[str, list[str]] = {}
    fraud = [evm() for _ in range(8)]
    # a bank watches two of the wallets about to be listed (monitoring computes alerts from snapshot diffs)
    from registry.monitoring import service as monitoring
    from registry.monitoring.settings import get_monitoring_settings

    ms = get_monitoring_settings()
    items = [{"address": fraud[0], "ref": f"customer-{tag}-1"}, {"address": fraud[1], "ref": f"customer-{tag}-2"}]
    r = client.post("/v1/watchlist", json={"items": items}, headers=bank)
    assert r.status_code == 200, r.text
    monitoring.process_version(engine, ms)  # the baseline
    # fraud on Ethereum: seven approved (a cell the CIS export shows), one left pending
    ids = _listing_ids(client, inv, case_a["id"], fraud, chain="eth", category="fraud", confidence=70)
    for i in ids[:7]:
        approve(client, sup, i)
    done, _ = monitoring.process_version(engine, ms)
    assert done.alerts == 2, done
    r = client.get("/v1/alerts", headers=bank)  # read through the pull API: sent
    assert r.status_code == 200 and len(r.json()["alerts"]) == 2, r.text
    exp.alerts_sent = 2
    listed["fraud"] = fraud[:7]
    exp.count("added", "fraud", 8)
    exp.count("approved", "fraud", 7)
    # mixers: two approved (a small cell)
    mixers = [evm() for _ in range(2)]
    for i in _listing_ids(client, inv, case_a["id"], mixers, chain="eth", category="mixer", confidence=100):
        approve(client, sup, i)
    listed["mixer"] = mixers
    exp.count("added", "mixer", 2)
    exp.count("approved", "mixer", 2)
    # money mules on Tron (case B): five approved, one rejected
    mules = [tron() for _ in range(6)]
    ids = _listing_ids(client, inv, case_b["id"], mules, chain="tron", category="money_mule", confidence=40)
    for i in ids[:5]:
        approve(client, sup2, i)
    r = client.post(f"/v1/listings/{ids[5]}/reject", json={"reason": "not enough evidence"}, headers=sup)
    assert r.status_code == 200, r.text
    listed["money_mule"] = mules[:5]
    exp.count("added", "money_mule", 6)
    exp.count("approved", "money_mule", 5)
    exp.count("rejected", "money_mule", 1)
    # ransomware: approved, then delisted by two supervisors
    ransom = evm()
    [rid] = _listing_ids(client, inv, case_a["id"], [ransom], chain="eth", category="ransomware", confidence=100)
    approve(client, sup, rid)
    exp.count("added", "ransomware")
    exp.count("approved", "ransomware")
    # drug trafficking on Tron: approved with an expiry that then passes (the expiry job marks it)
    drugs = tron()
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    [did] = _listing_ids(
        client, inv, case_b["id"], [drugs], chain="tron", category="drug_trafficking", confidence=70, valid_until=until
    )
    approve(client, sup2, did)
    exp.count("added", "drug_trafficking")
    exp.count("approved", "drug_trafficking")

    # transfers while the listings are live (the transfer store's writer, as sync and file imports use it)
    from chains.types import Transfer
    from registry.db.engine import session_scope
    from registry.entities.tables import Entity, EntityAddress
    from registry.transfers.store import insert_transfers

    licensed_wallet = evm()
    with session_scope(engine) as s:
        ent = Entity(
            name=f"Licensed Exchange {tag}", kind="exchange", licensed_service=True, created_at=datetime.now(UTC)
        )
        s.add(ent)
        s.flush()
        s.add(EntityAddress(entity_id=ent.id or 0, chain="evm", address=licensed_wallet))
    now = datetime.now(UTC)
    n = 0

    def tr(frm: str, to: str, amount: int, asset: str = "native", at: datetime = now) -> Transfer:
        nonlocal n
        n += 1
        return Transfer("eth", "0x" + os.urandom(32).hex(), 0, 20_000_000 + n, at, frm, to, asset, amount)

    batch = [tr(evm(), fraud[0], ETH) for _ in range(6)]  # six unknown wallets pay a fraud wallet 1 ETH each
    exp.flows[("fraud", "to_listed", "other")] = (6, 18_000.0)
    batch += [tr(licensed_wallet, fraud[1], 100_000_000, USDT_ETH) for _ in range(2)]  # 100 USDT from the exchange
    exp.flows[("fraud", "to_listed", "domestic_licensed")] = (2, 200.0)
    batch.append(tr(fraud[0], licensed_wallet, ETH // 2))  # cashed out at the licensed exchange
    exp.flows[("fraud", "from_listed", "domestic_licensed")] = (1, 1_500.0)
    batch += [tr(mixers[0], evm(), ETH // 10) for _ in range(5)]
    exp.flows[("mixer", "from_listed", "other")] = (5, 1_500.0)
    batch.append(tr(fraud[2], fraud[2], ETH))  # a self-transfer moves nothing
    batch.append(tr(evm(), evm(), ETH))  # between wallets nobody listed
    batch.append(tr(evm(), fraud[3], ETH, at=now - timedelta(days=400)))  # before it was listed: not to a listed wallet
    batch.append(tr(evm(), ransom, 2 * ETH))  # to the ransomware wallet while it is listed
    exp.flows[("ransomware", "to_listed", "other")] = (1, 6_000.0)
    with session_scope(engine) as s:
        insert_transfers(s, batch)

    r = delist(client, sup, sup2, rid, "the wallet was returned to the victim")
    assert r.status_code == 200, r.text
    exp.count("delisted", "ransomware")
    later = datetime.now(UTC) + timedelta(seconds=1)
    with session_scope(engine) as s:
        insert_transfers(s, [tr(evm(), ransom, ETH, at=later)])  # after the delisting: not counted

    from registry.cases.service import expire_due
    from registry.cases.tables import Listing

    with session_scope(engine) as s:  # the month passes
        s.execute(update(Listing).where(Listing.id == did).values(valid_until=datetime.now(UTC) - timedelta(seconds=1)))
    with session_scope(engine) as s:
        assert expire_due(s) == 1
    exp.count("expired", "drug_trafficking")

    # the official list: six Ethereum addresses on OFAC's list
    from registry.imports.ofac import dedupe, parse_text_list
    from registry.imports.service import apply_sanctions

    ofac = [evm() for _ in range(6)]
    entries, rejected = dedupe(parse_text_list("ETH", "sanctioned_addresses_ETH.txt", "\n".join(ofac).encode()))
    with session_scope(engine) as s:
        apply_sanctions(s, entries, rejected, {"ETH"})
    exp.count("added", "sanctions", 6)

    # exchanger domains: three submitted, two blocked, one rejected, one of the blocked delisted
    domains = [f"obmen-{tag}-{i}.com" for i in range(3)]
    domain_ids = []
    for d in domains:
        body = {"domain": d, "legal_basis": "AML law art. 12", "evidence": {"note": "shadow exchanger"}}
        r = client.post(f"/v1/cases/{case_a['id']}/domains", json=body, headers=inv)
        assert r.status_code == 201, r.text
        domain_ids.append(r.json()["id"])
    for i in domain_ids[:2]:
        assert client.post(f"/v1/domains/{i}/approve", json={}, headers=sup).status_code == 200
    r = client.post(f"/v1/domains/{domain_ids[2]}/reject", json={"reason": "licensed after all"}, headers=sup)
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/domains/{domain_ids[0]}/delist", json={"reason": "site gone"}, headers=sup)
    assert r.status_code == 202, r.text
    assert client.post(f"/v1/domains/{domain_ids[0]}/delist/confirm", json={}, headers=sup2).status_code == 200
    exp.domains_blocked, exp.domains_unblocked = 2, 1

    # the licence register: a firm licensed, then its licence revoked
    from blocklist.register.apply import SYSTEM, apply_fetch
    from blocklist.register.records import FirmRecord

    firm = FirmRecord(name=f"Test DASP {tag} Ltd", licence_number=f"AFSA-T-{tag}", status="active")
    with session_scope(engine) as s:
        apply_fetch(s, "afsa", [firm], None, SYSTEM)
    firm.status = "revoked"
    with session_scope(engine) as s:
        apply_fetch(s, "afsa", [firm], None, SYSTEM)
    exp.licensed_firms_added, exp.licensed_firms_withdrawn = 1, 1

    # banks screen: some listed, some not; retention then folds the log into the rollup and banks screen again
    for a in [*fraud[:4], *mules[:2], evm(), evm()]:
        assert client.post("/v1/screen", json={"address": a}, headers=bank).status_code == 200
    batch_addrs = [*fraud[4:7], *mixers, ransom, *[evm() for _ in range(6)]]
    r = client.post("/v1/screen/batch", json={"addresses": batch_addrs}, headers=bank2)
    assert r.status_code == 200, r.text
    _wait_for_log(engine, 8 + len(batch_addrs))
    from registry.screening.retention import apply_retention

    moved = apply_retention(engine, 1, now=datetime.now(UTC) + timedelta(days=2), pause_seconds=0)
    assert moved.moved == 8 + len(batch_addrs)
    for a in [fraud[0], evm(), evm()]:
        assert client.post("/v1/screen", json={"address": a}, headers=bank).status_code == 200
    _wait_for_log(engine, 3)
    exp.screenings = 8 + len(batch_addrs) + 3
    # and the half-year before, as retention left it: one bank's day in the rollup
    with session_scope(engine) as s:
        s.execute(
            text(
                "INSERT INTO screening_rollup (day, key_id, chain, risk_level, action, org, screenings) "
                "VALUES (:d, 999999, 'eth', 'low', 'allow', :org, 40)"
            ),
            {"d": previous_day.date(), "org": BANK_ORGS[0]},
        )
    exp.previous_screenings = 40

    return Scenario(
        engine=engine,
        client=client,
        sup=sup,
        sup2=sup2,
        inv=inv,
        bank=bank,
        isp=isp,
        expected=exp,
        case_numbers=[case_a["number"], case_b["number"]],
        domains=domains,
        listed=listed,
    )
