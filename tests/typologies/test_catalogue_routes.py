"""``GET /v1/typologies`` for any role, and the same catalogue as a document banks read (HTML, PDF; ru, en)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.db.engine import make_engine
from registry.settings import Settings
from registry.typologies import catalogue
from tests.support.keys import Keys
from tests.support.paths import PEPPER


@pytest.fixture
def sqlite_client(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Keys]]:
    """The app on SQLite only: nothing here is stored, so the PostgreSQL run would render the PDF again for
    nothing (WeasyPrint takes seconds)."""
    path = tmp_path / "registry.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    settings = Settings(database_url=url, key_pepper=PEPPER, snapshot_poll_seconds=0.1)
    with TestClient(create_app(settings, engine)) as client:
        yield client, Keys(engine)
    engine.dispose()


def test_catalogue_for_any_role_and_documents(sqlite_client: tuple[TestClient, Keys]) -> None:
    app_client, keys = sqlite_client
    assert app_client.get("/v1/typologies").status_code == 401
    for role in ("bank", "isp", "investigator"):
        r = app_client.get("/v1/typologies", headers=keys.headers(role))
        assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == catalogue.CATALOGUE_VERSION and body["action"] == "review"
    assert body["thresholds"] == {"KZT 500,000 customer identification": 1000.0}
    by_name = {t["name"]: t for t in body["typologies"]}
    assert {"mop_passthrough", "exchanger_cashout", "peel_chain", "structuring"} <= set(by_name)
    mop = by_name["mop_passthrough"]
    assert {"indicator": "dwell_hours", "op": "<=", "threshold": 48.0} in mop["all_of"]
    assert mop["description"]["ru"].startswith("Средства поступают") and mop["fiat_red_flags"]["en"]
    assert {i["name"] for i in body["indicators"]} >= {"pass_through", "dwell_hours", "peel_chain_length"}

    bank = keys.headers("bank")
    html_ru = app_client.get(body["documents"]["html/ru"], headers=bank)
    assert html_ru.status_code == 200 and html_ru.headers["content-type"].startswith("text/html")
    assert "Транзитный счёт подставного лица" in html_ru.text and "<svg" in html_ru.text
    assert "mop_passthrough" in html_ru.text and "https://" not in html_ru.text  # nothing fetched from elsewhere
    html_en = app_client.get("/v1/typologies/document?format=html&lang=en", headers=bank).text
    assert "Peel chain" in html_en and "Транзит" not in html_en

    pdf = app_client.get(body["documents"]["pdf/ru"], headers=bank)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    doc = pdfium.PdfDocument(pdf.content)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    for t in catalogue.TYPOLOGIES:  # every typology's Russian title and its first fiat red flag are in it
        assert t.title["ru"][:20] in text.replace("\r\n", " ").replace("\n", " ")
    assert len(doc) >= 2
    doc.close()

    bad = app_client.get("/v1/typologies/document?format=docx", headers=bank)
    assert bad.status_code == 422 and bad.json()["error"]["details"]
