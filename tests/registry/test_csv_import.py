"""CSV import: every bad row reported with its line and reason, and nothing stored unless all rows are good."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from registry.cases.csv_import import parse_listings_csv
from tests.registry.helpers import new_case
from tests.support.keys import Keys

HEADER = "address,chain,category,confidence,legal_basis,evidence_note,valid_until\n"
GOOD = [
    "0x3333333333333333333333333333333333333333,eth,fraud,70,art. 190,seized phone,\n",
    'TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre,,money_mule,40,art. 218,"note, with comma",2030-01-01T00:00:00Z\n',
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq,btc,ransomware,100,court ruling 2-55/2026,,\n",
]
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def test_good_file_parses() -> None:
    rows, errors = parse_listings_csv((HEADER + "".join(GOOD)).encode(), NOW, 100)
    assert errors == []
    assert [r.chain for r in rows] == ["eth", "tron", "btc"]
    assert rows[1].evidence_note == "note, with comma"


def test_every_bad_row_is_reported_with_its_line() -> None:
    bad = [
        GOOD[0],
        "0x123,eth,fraud,70,x,,\n",  # line 3: length
        "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLrf,tron,fraud,70,x,,\n",  # line 4: checksum
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,btc,parking,70,x,,\n",  # line 5: category
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,btc,fraud,abc,x,,\n",  # line 6: confidence
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,btc,fraud,70\n",  # line 7: too few fields
        GOOD[0],  # line 8: duplicate of line 2
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,btc,fraud,70,,,\n",  # line 9: legal basis empty
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,btc,fraud,70,x,,yesterday\n",  # line 10: date
    ]
    rows, errors = parse_listings_csv((HEADER + "".join(bad)).encode(), NOW, 100)
    lines = sorted({e.line for e in errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10], errors
    by_line = {e.line: e for e in errors}
    assert "40 hex digits" in by_line[3].reason and by_line[3].column == "address"
    assert "checksum" in by_line[4].reason
    assert "category" in by_line[5].reason
    assert by_line[6].column == "confidence"
    assert "fields" in by_line[7].reason
    assert "line 2" in by_line[8].reason


def test_structural_problems() -> None:
    assert parse_listings_csv(b"", NOW, 10)[1][0].reason.startswith("the file is empty")
    assert "missing column" in parse_listings_csv(b"address,chain\n", NOW, 10)[1][0].reason
    assert "unknown column" in parse_listings_csv(HEADER.replace("chain", "colour").encode(), NOW, 10)[1][0].reason
    assert "no rows" in parse_listings_csv(HEADER.encode(), NOW, 10)[1][0].reason
    assert "UTF-8" in parse_listings_csv(HEADER.encode() + b"\xff\xfe\n", NOW, 10)[1][0].reason
    assert "NUL" in parse_listings_csv(HEADER.encode() + GOOD[0].encode() + b"\x00", NOW, 10)[1][0].reason
    broken_quote = HEADER + '"0x33,eth,fraud,70,x,,\n'
    errs = parse_listings_csv(broken_quote.encode(), NOW, 10)[1]
    assert errs and errs[0].line == 2
    many = HEADER + "".join(f"0x{i:040x},eth,fraud,70,x,,\n" for i in range(1, 13))
    assert "more than 10 rows" in parse_listings_csv(many.encode(), NOW, 10)[1][-1].reason
    bom = "\ufeff" + HEADER + GOOD[0]
    assert parse_listings_csv(bom.encode(), NOW, 10)[1] == []


def test_import_is_all_or_nothing_over_the_api(app_client: TestClient, keys: Keys) -> None:
    inv = {**keys.headers("investigator"), "Content-Type": "text/csv"}
    case = new_case(app_client, {"Authorization": inv["Authorization"]})
    url = f"/v1/cases/{case['id']}/listings/import"
    bad = HEADER + GOOD[0] + "0x123,eth,fraud,70,x,,\n"
    r = app_client.post(url, content=bad.encode(), headers=inv)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_csv"
    assert r.json()["error"]["details"]["errors"][0]["line"] == 3
    view = app_client.get(f"/v1/cases/{case['id']}", headers={"Authorization": inv["Authorization"]}).json()
    assert view["listings"] == []

    r = app_client.post(url, content=(HEADER + "".join(GOOD)).encode(), headers=inv)
    assert r.status_code == 201 and r.json()["created"] == 3
    view = app_client.get(f"/v1/cases/{case['id']}", headers={"Authorization": inv["Authorization"]}).json()
    assert [x["status"] for x in view["listings"]] == ["pending"] * 3
    # the same file again: every row is already pending in this case
    assert app_client.post(url, content=(HEADER + "".join(GOOD)).encode(), headers=inv).status_code == 409
    assert app_client.post(url, content=b"{}", headers={**inv, "Content-Type": "application/json"}).status_code == 415
