"""End to end on a real chain: fund a listed address, move the money through two intermediaries, sync, rescore,
screen the last one over HTTP — it shows the category at 2 hops with the share computed by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.scoring.rescore import rescore
from registry.scoring.settings import AssetPrice, ScoringSettings
from registry.sync.blocks import sync_network
from tests.chains.anvil import BASE_FEE_ZERO, Anvil, anvil_binary
from tests.chains.evm_helpers import adapter
from tests.scoring.factories import add_listing
from tests.support.keys import Keys

pytestmark = pytest.mark.anvil
TUSD = 10**6  # the test token has 6 decimals


@pytest.fixture
def node() -> Iterator[Anvil]:
    if anvil_binary() is None:
        pytest.fail("anvil is not installed: run `npm ci` (make test does)")
    n = Anvil.start(extra=BASE_FEE_ZERO)
    yield n
    n.stop()


def test_listed_money_two_hops_away_is_screened(
    node: Anvil, engine: Engine, app_client: TestClient, keys: Keys, scoring: ScoringSettings
) -> None:
    acct = [a.lower() for a in node.accounts]
    treasury, listed, mid, last, clean1, clean2 = acct[:6]
    token = node.deploy_token()
    add_listing(engine, listed, "fraud", case_number="E2E-1")
    node.token_transfer(token, treasury, listed, 100 * TUSD)
    node.token_transfer(token, treasury, clean1, 300 * TUSD)
    node.token_transfer(token, treasury, clean2, 200 * TUSD)
    node.token_transfer(token, listed, mid, 100 * TUSD)  # mid: 100 of 400 from the listed address
    node.token_transfer(token, clean1, mid, 300 * TUSD)
    node.token_transfer(token, mid, last, 200 * TUSD)  # last: 200 at 1/4 plus 200 clean
    node.token_transfer(token, clean2, last, 200 * TUSD)
    node.mine(3)

    report = sync_network(engine, adapter(node, token))
    assert report.ok, report.reason
    assets = {**scoring.scoring_assets, f"eth:{token}": AssetPrice(decimals=6, price=1.0)}
    priced = scoring.model_copy(update={"scoring_assets": assets})
    summary = rescore(engine, priced, "e2e")
    assert summary.transfers >= 7
    app_client.app.state.scoring_settings = priced  # type: ignore[attr-defined]
    app_client.app.state.ctx.snapshot.refresh()  # type: ignore[attr-defined]

    r = app_client.post("/v1/screen", json={"address": last, "chain": "eth"}, headers=keys.headers("bank"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["direct"] == []
    assert body["exposure"]["incoming"] == [{"category": "fraud", "share": 0.125, "min_hops": 2}]
    assert body["exposure"]["outgoing"] == []

    view = app_client.get(f"/v1/addresses/eth/{last}", headers=keys.headers("investigator")).json()
    [path] = view["exposure"]["incoming"][0]["paths"]
    assert [(h["from_address"], h["to_address"]) for h in path["hops"]] == [(listed, mid), (mid, last)]
    assert [h["share"] for h in path["hops"]] == [0.25, 0.5] and path["share"] == 0.125
    assert all(h["transactions"][0]["asset"] == token for h in path["hops"])
