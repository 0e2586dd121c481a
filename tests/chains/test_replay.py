"""The replay servers are strict: only recorded requests are answered, with the recorded bodies; anything else is a
400 naming the difference. And the TronGrid recording itself holds what TronGrid's account API must be asked for,
so that re-recording with an adapter that forgot a parameter cannot go unnoticed either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from tests.chains.chainmodel import BODIES
from tests.chains.fakes import EsploraReplay, TronGridReplay, tron_address
from tests.chains.replay import JSON, Recording, ReplayServer, Reply

TRON = BODIES / "tron" / "chain-30-blocks-page-3"
KEY = {"TRON-PRO-API-KEY": "test-key"}


def _manifest(directory: Path) -> list[dict[str, Any]]:
    return list(orjson.loads((directory / "manifest.json").read_bytes())["exchanges"])


def _a_recorded_history_request() -> dict[str, Any]:
    return next(
        e["request"]
        for e in _manifest(TRON)
        if e["request"]["path"].endswith("/transactions") and not e["request"].get("json")
    )


@pytest.fixture
def grid() -> Iterator[TronGridReplay]:
    g = TronGridReplay(blocks=30, page_size=3)
    yield g
    g.mismatches.clear()  # these tests send wrong requests on purpose
    g.close()


def test_recorded_request_gets_the_recorded_body_byte_for_byte(grid: TronGridReplay) -> None:
    exchange = next(e for e in _manifest(TRON) if e["request"]["path"].endswith("/transactions"))
    req = exchange["request"]
    r = requests.get(grid.url + req["path"], params=req["query"], headers=KEY, timeout=5)
    assert r.status_code == exchange["response"]["status"] == 200
    assert r.content == (TRON / exchange["response"]["body"]).read_bytes()
    assert not grid.mismatches


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda q: q.pop("order_by"), "query parameter order_by: missing, recorded 'block_timestamp,asc'"),
        (lambda q: q.pop("only_confirmed"), "query parameter only_confirmed: missing, recorded 'true'"),
        (lambda q: q.update(only_confirmed="false"), "query parameter only_confirmed: sent 'false', recorded 'true'"),
        (lambda q: q.update(order_by="block_timestamp,desc"), "query parameter order_by: sent 'block_timestamp,desc'"),
        (lambda q: q.update(limit="20"), "query parameter limit: sent '20', recorded '200'"),
        (lambda q: q.update(search_internal="false"), "query parameter search_internal: sent 'false', not in the"),
    ],
    ids=["no-order_by", "no-only_confirmed", "unconfirmed", "descending", "small-page", "extra-parameter"],
)
def test_a_request_off_the_recording_is_a_400_naming_the_difference(
    grid: TronGridReplay, change: Any, named: str
) -> None:
    req = _a_recorded_history_request()
    query = dict(req["query"])
    change(query)
    r = requests.get(grid.url + req["path"], params=query, headers=KEY, timeout=5)
    assert r.status_code == 400
    assert named in r.json()["Error"]
    assert grid.mismatches and named in grid.mismatches[0]


def test_the_api_key_header_and_the_json_body_are_checked_too(grid: TronGridReplay) -> None:
    req = _a_recorded_history_request()
    r = requests.get(grid.url + req["path"], params=req["query"], timeout=5)
    assert r.status_code == 400 and "header TRON-PRO-API-KEY: missing, recorded 'test-key'" in r.json()["Error"]
    r = requests.get(grid.url + req["path"], params=req["query"], headers={"TRON-PRO-API-KEY": "other"}, timeout=5)
    assert r.status_code == 400 and "header TRON-PRO-API-KEY: 'other'" in r.json()["Error"]
    body = {"startNum": 1, "endNum": 2}  # a range no test asked for
    r = requests.post(grid.url + "/walletsolidity/getblockbylimitnext", json=body, headers=KEY, timeout=5)
    assert r.status_code == 400 and "JSON body: sent" in r.json()["Error"]
    r = requests.get(grid.url + "/wallet/getaccount", headers=KEY, timeout=5)
    assert r.status_code == 400 and "no exchange recorded for GET /wallet/getaccount" in r.json()["Error"]


def test_a_mismatch_fails_the_test_even_when_the_client_swallowed_the_400() -> None:
    g = TronGridReplay(blocks=30, page_size=3)
    requests.get(g.url + "/v1/accounts/x/transactions", headers=KEY, timeout=5)
    with pytest.raises(AssertionError, match="requests the recording does not hold"):
        g.close()


def test_esplora_replay_is_strict_too() -> None:
    e = EsploraReplay(blocks=20, txs_per_block=3)
    try:
        assert requests.get(e.url + "/blocks/tip/height", timeout=5).text == str(e.tip)
        r = requests.get(e.url + "/blocks/tip/height", params={"fresh": "1"}, timeout=5)
        assert r.status_code == 400 and "query parameter fresh" in r.json()["Error"]
        r = requests.get(e.url + "/block-height/999", timeout=5)  # never asked for while recording
        assert r.status_code == 400 and "no exchange recorded" in r.json()["Error"]
    finally:
        e.mismatches.clear()
        e.close()


def test_the_tron_recording_asks_for_confirmed_history_oldest_first_with_the_api_key() -> None:
    """What the recording holds is what the adapter sent when it was made: pin it to what TronGrid's account API
    must be asked (docs/chains.md: ``only_confirmed=true``, ascending time, 200 a page, the API key), so a
    recording made with an adapter that dropped a parameter fails here."""
    manifest = orjson.loads((TRON / "manifest.json").read_bytes())
    assert manifest["headers"] == KEY  # every recorded request carried the key
    history = [e["request"] for e in manifest["exchanges"] if e["request"]["path"].startswith("/v1/accounts/")]
    assert len(history) > 10
    for req in history:
        q = dict(req["query"])
        assert (q["only_confirmed"], q["order_by"], q["limit"]) == ("true", "block_timestamp,asc", "200"), req
        assert {"min_timestamp", "max_timestamp"} <= set(q)
        if req["path"].endswith("/trc20"):
            assert q["contract_address"] == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # USDT-TRC20
    assert any("fingerprint" in dict(r["query"]) for r in history)  # pages were followed
    assert any(r["path"] == f"/v1/accounts/{tron_address(2)}/transactions" for r in history)


def test_recording_and_replaying_round_trip(tmp_path: Path) -> None:
    """Record from an upstream handler, save, replay: the same requests get the same answers, and the bodies are
    named after the requests."""

    def upstream(method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
        return 200, JSON, orjson.dumps({"path": path, "query": query, "body": raw.decode()})

    recorder = Recording.recorder(tmp_path / "scene", upstream, headers={"X-Key": "k"})
    with ReplayServer(respond=recorder.respond) as server:
        a = requests.get(
            server.url + "/v1/things/1", params=[("b", "2"), ("a", "1")], headers={"X-Key": "k"}, timeout=5
        )
        p = requests.post(server.url + "/rpc/get", json={"num": 7}, headers={"X-Key": "k"}, timeout=5)
    recorder.save()
    assert sorted(f.name for f in (tmp_path / "scene").iterdir()) == [
        "manifest.json",
        "rpc_get__num=7.json",
        "v1_things_1__b=2_a=1.json",
    ]
    replay = Recording(tmp_path / "scene")
    with ReplayServer(respond=replay.respond) as server:
        again = requests.get(
            server.url + "/v1/things/1", params={"a": "1", "b": "2"}, headers={"X-Key": "k"}, timeout=5
        )
        assert again.content == a.content  # parameter order does not matter
        assert (
            requests.post(server.url + "/rpc/get", json={"num": 7}, headers={"X-Key": "k"}, timeout=5).content
            == p.content
        )
        other = requests.post(server.url + "/rpc/get", json={"num": 8}, headers={"X-Key": "k"}, timeout=5)
        assert other.status_code == 400 and 'JSON body: sent {"num":8}, recorded {"num":7}' in other.json()["Error"]
    assert len(replay.mismatches) == 1
