"""The AFSA register adapter on recorded pages of the register's structure, served over real HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from blocklist.feeds.service import load_feed
from blocklist.register.parser import LICENCE_NUMBER, RegisterLayoutError, parse_detail_page, parse_list_page
from blocklist.register.records import FetchResult, FirmRecord, normalize_status
from blocklist.register.refresh import refresh_register, validate_fetch
from blocklist.register.sources import AfsaRegister
from blocklist.tables import BlocklistDomain, LicensedFirm, LicensedFirmChange, RegisterFetch
from registry.audit.service import verify
from registry.db.engine import session_scope

from .conftest import PAGES, RegisterReplay


def _page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def test_list_page_rows_nbsp_russian_kazakh_and_pagination() -> None:
    page = parse_list_page(_page("dasp_page1.html"), "https://reg.test/dasp/", "dasp")
    assert [f.licence_number for f in page.firms] == [
        "AFSA-A-LA-2024-0027",
        "AFSA-A-LA-2024-0028",
        "AFSA-G-LA-2021-0019",
    ]
    bybit, _binance, delta = page.firms
    assert bybit.name == "Bybit Limited"  # non-breaking space folded
    assert bybit.status == "active" and bybit.issued_on == "2024-03-12"
    assert bybit.activities == "Operating a Digital Asset Trading Facility; Providing Custody"
    assert bybit.bin == "230840900123"
    assert bybit.details_url == "https://reg.test/details/230840900123/"
    assert delta.name == "ТОО «Дельта ДА»" and delta.status == "active"  # Russian status "Действующая"
    assert page.next_url == "https://reg.test/dasp/?page=2"

    page2 = parse_list_page(_page("dasp_page2.html"), "https://reg.test/dasp/?page=2", "dasp")
    ataix, swiftex, intebix = page2.firms
    assert ataix.name == "ATAIX Eurasia Ltd." and ataix.status == "active"  # Kazakh "Белсенді"
    assert swiftex.status == "withdrawn" and swiftex.status_text == "Withdrawn by participant"
    assert swiftex.issued_on is None and swiftex.activities == ""  # missing cells
    assert intebix.status == "suspended" and intebix.details_url is None  # row cut short
    assert page2.next_url is None  # last page: no .next


def test_detail_pages_in_english_and_russian() -> None:
    d = parse_detail_page(_page("detail_bybit.html"), "u")
    assert d["name"] == "Bybit Limited" and d["issued_on"] == "12.03.2024"
    assert "inactive_since" not in d  # a cell holding only &nbsp; is empty
    assert d["activities"].startswith("Operating a Digital Asset Trading Facility")
    r = parse_detail_page(_page("detail_swiftex.html"), "u")
    assert r["inactive_since"] == "05.05.2026" and r["status"] == "Отозвана участником"
    assert r["licence_number"] == "AFSA-G-LA-2023-0031"


def test_error_page_is_a_layout_error() -> None:
    with pytest.raises(RegisterLayoutError) as e:
        parse_list_page(_page("error_page.html"), "https://reg.test/dasp/", "dasp")
    assert "502 Bad Gateway" in e.value.message
    with pytest.raises(RegisterLayoutError):
        parse_detail_page(_page("error_page.html"), "u")


def test_columns_are_found_by_their_headers() -> None:
    page = parse_list_page(_page("reordered_columns.html"), "https://reg.test/dasp/", "dasp")
    got = [(f.name, f.licence_number, f.status, f.issued_on) for f in page.firms]
    assert got == [
        ("Bybit Limited", "AFSA-A-LA-2024-0027", "revoked", "2024-03-12"),
        ("Binance Kazakhstan", "AFSA-A-LA-2024-0028", "active", "2024-03-15"),
    ]


def test_half_empty_table_counts_skipped_rows() -> None:
    page = parse_list_page(_page("half_empty_table.html"), "https://reg.test/dasp/", "dasp")
    assert len(page.firms) == 1 and page.rows_seen == 4 and page.rows_skipped == 3


def _source(site: RegisterReplay, sections: list[str] | None = None) -> AfsaRegister:
    return AfsaRegister(site.url, sections or ["dasp", "fintech"], timeout=5)


def _firms(engine: Engine) -> dict[str, LicensedFirm]:
    with session_scope(engine) as s:
        return {f.firm_key: f for f in s.execute(select(LicensedFirm)).scalars()}


def test_fetch_follows_pages_and_details(register_site: RegisterReplay) -> None:
    register_site.standard()
    result = _source(register_site).fetch()
    assert len(result.firms) == 7
    assert {"/dasp/", "/dasp/?page=2", "/fintech/", "/details/230840900123/"} <= set(register_site.hits)
    swiftex = next(f for f in result.firms if f.name == "Swiftex Ltd.")
    assert swiftex.inactive_since == "2026-05-05" and swiftex.status == "withdrawn"
    # a detail page missing from the site is a warning, not a failed refresh
    assert any("details not read" in w for w in result.warnings)


def test_refresh_applies_changes_and_keeps_history(seeded: Engine, register_site: RegisterReplay) -> None:
    register_site.standard()
    out = refresh_register(seeded, _source(register_site))
    assert out.outcome == "applied", out.message
    firms = _firms(seeded)
    assert firms["AFSA-G-LA-2022-0004"].status == "suspended"  # Intebix: was active in the seed
    assert firms["AFSA-G-LA-2022-0011"].section == "fintech"
    assert firms["AFSA-A-LA-2024-0027"].issued_on == "2024-03-12"
    with session_scope(seeded) as s:
        changes = s.execute(select(LicensedFirmChange)).scalars().all()
        assert any(c.changes.get("status") == ["active", "suspended"] for c in changes)
        # the suspended firm's domain goes to review, not into the feed
        review = s.execute(select(BlocklistDomain).where(col(BlocklistDomain.domain) == "intebix.kz")).scalar_one()
        assert review.status == "pending" and review.origin == "register"
        assert verify(s).ok
    with seeded.connect() as c:
        feed = load_feed(c)
    assert "intebix.kz" not in feed.blocked and "intebix.kz" not in feed.passthru
    assert "bybit.kz" in feed.passthru

    again = refresh_register(seeded, _source(register_site))
    assert again.outcome == "unchanged"


@pytest.mark.parametrize(
    ("routes", "reason"),
    [
        ({"/dasp/": ("error_page.html", 200)}, "no register table"),
        ({"/dasp/": ("error_page.html", 503)}, "HTTP 503"),
        ({"/dasp/": ("empty_table.html", 200)}, "no firms"),
        ({"/dasp/": ("half_empty_table.html", 200)}, "could not be read"),
    ],
)
def test_bad_fetches_are_rejected_and_last_good_copy_stays(
    seeded: Engine, register_site: RegisterReplay, routes: dict[str, tuple[str, int]], reason: str
) -> None:
    before = _firms(seeded)
    for path, (name, status) in routes.items():
        register_site.page(path, name, status)
    out = refresh_register(seeded, _source(register_site, ["dasp"]))
    assert out.outcome in ("rejected", "failed") and reason in out.message
    after = _firms(seeded)
    assert {k: f.status for k, f in after.items()} == {k: f.status for k, f in before.items()}
    with session_scope(seeded) as s:
        fetch = s.get(RegisterFetch, out.fetch_id)
        assert fetch is not None and fetch.outcome == out.outcome and reason in fetch.message


def test_losing_more_than_half_the_firms_is_rejected(seeded: Engine, register_site: RegisterReplay) -> None:
    register_site.standard()
    assert refresh_register(seeded, _source(register_site)).outcome == "applied"
    register_site.routes.clear()
    register_site.page("/dasp/", "fintech_page1.html")  # one firm where seven were listed
    register_site.page("/fintech/", "empty_table.html")
    out = refresh_register(seeded, _source(register_site, ["dasp"]))
    assert out.outcome == "rejected" and "1 firms where 7" in out.message


def test_unreachable_register_fails_cleanly(seeded: Engine) -> None:
    out = refresh_register(seeded, AfsaRegister("http://127.0.0.1:9", ["dasp"], timeout=2))
    assert out.outcome == "failed" and "unreachable" in out.message


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Active", "active"),
        ("Действующая", "active"),
        ("Белсенді", "active"),
        ("Inactive", "inactive"),
        ("Не действующая", "inactive"),
        ("Suspended", "suspended"),
        ("Приостановлена", "suspended"),
        ("Revoked", "revoked"),
        ("Отозвана", "revoked"),
        ("Withdrawn by participant", "withdrawn"),
        ("Отозвана участником", "withdrawn"),
        ("Expired", "expired"),
        ("\xa0Active\xa0", "active"),
        ("Under review", "unknown"),
    ],
)
def test_statuses_in_three_languages(text: str, status: str) -> None:
    assert normalize_status(text) == status


def test_a_fetch_of_unrecognised_statuses_is_rejected() -> None:
    firms = [FirmRecord(name=f"F{i}", licence_number=f"AFSA-A-LA-2024-{i:04d}", status="unknown") for i in range(4)]
    problem = validate_fetch(FetchResult(firms=firms, rows_seen=4), 0, 0.5)
    assert problem is not None and "not recognised" in problem
    firms[0].status = firms[1].status = firms[2].status = "active"
    assert validate_fetch(FetchResult(firms=firms, rows_seen=4), 0, 0.5, LICENCE_NUMBER) is None


def test_a_fetch_whose_licence_column_holds_something_else_is_rejected() -> None:
    firms = [FirmRecord(name=f"F{i}", licence_number="Active", status="active") for i in range(3)]
    problem = validate_fetch(FetchResult(firms=firms, rows_seen=3), 0, 0.5, LICENCE_NUMBER)
    assert problem is not None and "do not look like licence numbers" in problem
