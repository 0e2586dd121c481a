"""The console and the public check page in a real Chromium against a live server: what people do with them."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import select

from chains.types import Transfer
from registry.cases.tables import Listing
from registry.db.engine import session_scope
from registry.transfers.store import insert_transfers
from tests.browser.helpers import Console, csrf_of, screenshot, sign_in, sign_out, wallet

HEADER = "address,category,confidence,legal_basis,evidence_note"


def _create_case(page: Page, number: str, title: str) -> str:
    page.goto("/console/cases")
    page.fill("#number", number)
    page.fill("#title", title)
    page.click("form[method=post][action='/console/cases'] button[type=submit]")
    page.wait_for_url("**/console/cases/*")
    return page.url.split("?")[0]


def _listings(console: Console, *addresses: str) -> list[Listing]:
    with session_scope(console.engine) as s:
        return list(s.exec(select(Listing).where(Listing.address.in_(addresses))).all())  # type: ignore[attr-defined]


def test_a_wallet_goes_from_an_investigators_csv_to_the_public_check(page: Page, console: Console) -> None:
    """Sign in as an investigator, open a case, upload a CSV with a bad row and see the error on its line, fix it,
    upload again; a different supervisor approves; the public check page answers "high-risk" for the wallet."""
    mule, mule2 = wallet(1), wallet(2)
    inv = console.keys.create("investigator", holder="Aigerim Sadykova")
    sup = console.keys.create("supervisor", holder="Sergey Orlov")

    sign_in(page, inv)
    assert page.url.endswith("/console/cases")
    case_url = _create_case(page, "AFM-2026-00042", "Drop accounts of the Telegram exchanger")
    expect(page.locator("h1")).to_contain_text("AFM-2026-00042")

    bad = f"{HEADER}\n{mule},money_mule,70,Art. 218 CC,card rented out\n0xnot-an-address,money_mule,70,Art. 218 CC,\n"
    page.set_input_files("#file", files=[{"name": "wallets.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.click("form[action$='/listings/import'] button[type=submit]")
    errors = page.locator("#csv-errors tbody tr")
    expect(errors).to_have_count(1)
    line = page.locator("#csv-errors tr[data-line='3']")
    expect(line).to_contain_text("0xnot-an-address,money_mule")  # the line's own content beside its error
    expect(line.locator("td").nth(1)).to_have_text("address")
    assert _listings(console, mule) == [], "a file with a bad row is refused whole"

    fixed = bad.replace("0xnot-an-address", mule2)
    expect(page.locator("#csv")).to_have_value(bad)  # the file comes back in a box, to fix in place
    page.fill("#csv", fixed)
    page.click("form[action$='/listings/import'] button[type=submit]")
    page.wait_for_url(f"{case_url}?done=csv_imported*")
    expect(page.locator("#listing-table tbody tr")).to_have_count(2)
    expect(page.locator(".flash")).to_be_visible()

    page.type("#domain", "bybit-kz.com", delay=20)  # the licensed / lookalike check answers as it is typed
    expect(page.locator("#domain-check [data-verdict]")).to_have_attribute("data-verdict", "lookalike")
    expect(page.locator("#domain-check")).to_contain_text("bybit.kz")
    page.fill("#domain", "")
    page.type("#domain", "obmen-usdt-almaty.com", delay=10)
    expect(page.locator("#domain-check [data-verdict]")).to_have_attribute("data-verdict", "unknown")
    page.fill("#domain_legal_basis", "Art. 214 CC, unlicensed exchange")
    page.click("form[action$='/domains'] button[type=submit]")
    page.wait_for_url("**done=domain_submitted*")
    expect(page.locator("section[aria-labelledby=domains] tbody tr")).to_contain_text("obmen-usdt-almaty.com")
    page.goto(case_url)
    screenshot(page, "case-page")
    assert {x.status for x in _listings(console, mule, mule2)} == {"pending"}
    sign_out(page)

    sign_in(page, sup)
    assert page.url.endswith("/console/queue")
    row = page.locator(f"#queue tr:has-text('{mule}')")
    expect(row).to_contain_text("AFM-2026-00042")  # case number
    expect(row).to_contain_text("Aigerim Sadykova")  # the submitter by name, as written
    expect(row).to_contain_text("card rented out")  # the evidence
    screenshot(page, "approval-queue")
    for x in _listings(console, mule, mule2):
        page.check(f"#sel-{x.id}")
    page.click("button[name=decision][value=approve]")
    expect(page.locator(".outcomes li.ok")).to_have_count(2)
    assert {(x.status, x.decided_holder) for x in _listings(console, mule, mule2)} == {("active", "sergey orlov")}

    page.goto(f"/check?address={mule}")
    answer = page.locator("[data-high-risk]")
    expect(answer).to_have_attribute("data-high-risk", "yes")
    expect(answer).to_contain_text("«мопа»")  # the category's plain meaning, in Russian
    expect(answer).not_to_contain_text("AFM-2026-00042")  # nothing from the case
    screenshot(page, "public-check")


def test_a_supervisor_cannot_approve_their_own_submission(
    page: Page, context: BrowserContext, console: Console
) -> None:
    """One person with an investigator key and a supervisor key: the queue offers no approval of what they
    submitted, and a crafted post is refused (four eyes) and changes nothing."""
    address = wallet(3)
    inv = console.keys.create("investigator", holder="Dana Dual")
    sup = console.keys.create("supervisor", holder="Dana Dual")
    sign_in(page, inv)
    _create_case(page, "AFM-2026-00043", "Own submission")
    page.fill("#address", address)
    page.fill("#legal_basis", "Art. 218 CC")
    page.click("form[action$='/listings'] button[type=submit]")
    page.wait_for_url("**done=listing_submitted*")
    [listing] = _listings(console, address)
    sign_out(page)

    sign_in(page, sup)
    row = page.locator(f"#queue tr[data-listing='{listing.id}']")
    expect(row).to_have_class("mine")
    expect(row.locator("input[type=checkbox]")).to_have_count(0)
    response = context.request.post(
        "/console/queue",
        form={"csrf_token": csrf_of(page), "ids": str(listing.id), "decision": "approve"},
    )
    assert response.status == 403
    assert "data-outcome" in response.text()
    [after] = _listings(console, address)
    assert after.status == "pending" and after.decided_holder is None


def test_forms_without_the_csrf_token_are_refused(page: Page, context: BrowserContext, console: Console) -> None:
    inv = console.keys.create("investigator", holder="Timur Csrf")
    sign_in(page, inv)
    for form in (
        {"number": "AFM-CSRF-1", "title": "no token"},
        {"number": "AFM-CSRF-2", "title": "x", "csrf_token": "x"},
    ):
        response = context.request.post("/console/cases", form=form)
        assert response.status == 403, response.text()[:500]
    good = context.request.post(
        "/console/cases", form={"number": "AFM-CSRF-3", "title": "ok", "csrf_token": csrf_of(page)}
    )
    assert good.ok
    page.goto("/console/cases?q=AFM-CSRF")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    # Sign-in too (login CSRF): a form posted without the token from the sign-in page is refused.
    context.clear_cookies()
    response = context.request.post("/console/signin", form={"key": inv})
    assert response.status == 403


def _seed_money_trail(console: Console) -> tuple[str, str, str, str]:
    """origin → hub; hub → c, hub → d; c → e: expanding the hub adds c and d."""
    origin, hub, c, d = wallet(0xA1), wallet(0xB2), wallet(0xC3), wallet(0xD4)
    t = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [
        Transfer("eth", "0x" + "1" * 64, 0, 100, t, origin, hub, "native", 5 * 10**18),
        Transfer("eth", "0x" + "2" * 64, 0, 101, t, hub, c, "native", 3 * 10**18),
        Transfer("eth", "0x" + "3" * 64, 0, 102, t, hub, d, "native", 2 * 10**18),
        Transfer("eth", "0x" + "4" * 64, 0, 103, t, c, wallet(0xE5), "native", 1 * 10**18),
    ]
    with session_scope(console.engine) as s:
        insert_transfers(s, rows)
    return origin, hub, c, d


def _list_through_the_api(console: Console, address: str, category: str) -> None:
    inv = {"Authorization": f"Bearer {console.keys.create('investigator', holder='Graph Lister')}"}
    sup = {"Authorization": f"Bearer {console.keys.create('supervisor', holder='Graph Approver')}"}
    with httpx.Client(base_url=console.url, timeout=30) as c:
        case = c.post("/v1/cases", json={"number": "AFM-GRAPH-1", "title": "graph"}, headers=inv).json()
        body = {"address": address, "category": category, "confidence": 70, "legal_basis": "Art. 190"}
        listing = c.post(f"/v1/cases/{case['id']}/listings", json=body, headers=inv).json()
        assert c.post(f"/v1/listings/{listing['id']}/approve", headers=sup).status_code == 200


def test_the_money_graph_expands_a_node_into_its_counterparties(page: Page, console: Console) -> None:
    origin, hub, c, d = _seed_money_trail(console)
    _list_through_the_api(console, d, "fraud")
    inv = console.keys.create("investigator", holder="Nurlan Graph")
    sign_in(page, inv)
    page.goto(f"/console/addresses/eth/{origin}")
    graph = page.locator("#graph")
    expect(graph).to_have_attribute("data-nodes", "2")  # the origin and its one counterparty
    expect(page.locator(f"#graph-nodes li[data-address='{hub}']")).to_be_visible()
    page.click(f"#graph-nodes li[data-address='{hub}'] button[data-expand]")
    expect(graph).to_have_attribute("data-nodes", "4")
    for address in (c, d):
        expect(page.locator(f"#graph-nodes li[data-address='{address}']")).to_have_count(1)
    # coloured by what the registry knows: d is listed for fraud (a high-severity category), c is nothing
    expect(page.locator(f"#graph-nodes li[data-address='{d}']")).to_have_attribute("data-kind", "high")
    expect(page.locator(f"#graph-nodes li[data-address='{c}']")).to_have_attribute("data-kind", "other")
    assert page.evaluate(f"window.moneyGraph.cy.getElementById('{d}').style('background-color')") == "rgb(211,47,47)"
    assert page.evaluate("window.moneyGraph.cy.edges().length") == 3
    # the counterparties' table (the page without JavaScript) shows the same first hop, in human units
    expect(page.locator(f"#counterparties tr[data-counterparty='{hub}']")).to_contain_text("5 ETH")
    page.locator("#graph-h").scroll_into_view_if_needed()
    screenshot(page, "money-graph", "section[aria-labelledby=graph-h]")
