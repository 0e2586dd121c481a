"""Every page in every language, and an accessibility check of each in the browser (axe-core from npm)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from registry.console.i18n import LANGUAGES
from tests.browser.helpers import Console, sign_in, wallet
from tests.support.paths import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']"
"""The WCAG 2.2 A and AA rules (axe's best-practice rules are advice, and twice the time)."""


@dataclass
class World:
    """A case with listings in several states, a domain, a delisting request and the people who made them."""

    investigator: str
    supervisor: str
    case_id: int
    listed: str
    pending: str

    def console_pages(self, role: str) -> list[str]:
        common = [
            "/console/cases",
            f"/console/cases/{self.case_id}",
            "/console/addresses",
            f"/console/addresses/eth/{self.listed}",
            "/console/domains",
            "/console/domains/check?domain=bybit-kz.com",
            "/console/domains/check?domain=bybit.kz",
            "/console/cases/99999",  # an error page
        ]
        if role == "supervisor":
            common += [
                "/console/queue",
                "/console/requests",
                "/console/domains?status=active",
                "/console/register",
                "/console/jobs",
                "/console/audit",
                "/console/audit?action=listing.",
            ]
        return common

    def public_pages(self) -> list[str]:
        return [
            "/console/signin",
            "/check",
            "/check?domain=bybit.kz",
            "/check?domain=bybit-kz.com",
            "/check?domain=example.org",
            "/check?domain=%20not%20a%20domain",
            f"/check?address={self.listed}",
            f"/check?address={wallet(0x5AFE)}",
            "/check?address=nonsense",
            "/check/mops",
        ]


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    """Made through the API (with keys), so these tests depend on the console only for what they check."""
    inv_key = console.keys.create("investigator", holder="Page Investigator")
    sup_key = console.keys.create("supervisor", holder="Page Supervisor")
    sup2 = {"Authorization": f"Bearer {console.keys.create('supervisor', holder='Second Supervisor')}"}
    inv, sup = {"Authorization": f"Bearer {inv_key}"}, {"Authorization": f"Bearer {sup_key}"}
    listed, pending, gone = wallet(0x1111), wallet(0x2222), wallet(0x3333)
    with httpx.Client(base_url=console.url, timeout=30) as c:
        case = c.post("/v1/cases", json={"number": "AFM-PAGES-1", "title": "Every page"}, headers=inv).json()
        ids = []
        for address, category in ((listed, "fraud"), (pending, "money_mule"), (gone, "mixer")):
            r = c.post(
                f"/v1/cases/{case['id']}/listings",
                json={"address": address, "category": category, "confidence": 70, "legal_basis": "Art. 190"},
                headers=inv,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for lid in (ids[0], ids[2]):
            assert c.post(f"/v1/listings/{lid}/approve", headers=sup).status_code == 200
        assert c.post(f"/v1/listings/{ids[2]}/delist", json={"reason": "court ruling"}, headers=sup2).status_code == 202
        r = c.post(
            f"/v1/cases/{case['id']}/domains",
            json={"domain": "best-change-kz.com", "legal_basis": "Art. 214 unlicensed exchange"},
            headers=inv,
        )
        assert r.status_code == 201, r.text
    return World(inv_key, sup_key, case["id"], listed, pending)


@pytest.fixture
def axe_context(browser: Browser, console: Console) -> Iterator[BrowserContext]:
    """axe-core is injected into the page as a script: the console's CSP (scripts from the app only) is bypassed
    for this context alone."""
    ctx = browser.new_context(base_url=console.url, viewport={"width": 1200, "height": 800}, bypass_csp=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_renders_in_every_language(context: BrowserContext, page: Page, world: World, lang: str) -> None:
    """The server runs with strict translations: a text without a translation in the page's language is a 500."""
    checked = 0
    for url in world.public_pages():
        checked += _renders(context, url, lang)
    for role, key in (("investigator", world.investigator), ("supervisor", world.supervisor)):
        context.clear_cookies()
        sign_in(page, key, lang)
        for url in world.console_pages(role):
            checked += _renders(context, url, lang)
    assert checked >= 30


def _renders(context: BrowserContext, url: str, lang: str) -> int:
    sep = "&" if "?" in url else "?"
    r = context.request.get(f"{url}{sep}lang={lang}")
    assert r.status < 500, f"{url} in {lang}: {r.status} {r.text()[:3000]}"
    body = r.text()
    if "/domains/check" not in url:  # a fragment, swapped into the case page
        assert f'<html lang="{lang}">' in body, url
    return 1


def test_no_serious_accessibility_violations(axe_context: BrowserContext, world: World) -> None:
    """One page of each kind (the pages of a kind share their template), in Russian, as people see them."""
    assert AXE.exists(), "axe-core comes from npm (package.json devDependencies): run `make test-deps`"
    page = axe_context.new_page()
    found: dict[str, list[str]] = {}
    for url in ("/console/signin", "/check?domain=bybit-kz.com", f"/check?address={world.listed}", "/check/mops"):
        found.update(_axe(page, url))
    sign_in(page, world.investigator)
    for url in ("/console/cases", f"/console/cases/{world.case_id}", f"/console/addresses/eth/{world.listed}"):
        found.update(_axe(page, url))
    axe_context.clear_cookies()
    sign_in(page, world.supervisor)
    for url in ("/console/queue", "/console/requests", "/console/domains", "/console/register", "/console/jobs"):
        found.update(_axe(page, url))
    for url in ("/console/audit", "/console/addresses", "/console/cases/99999"):
        found.update(_axe(page, url))
    assert not found, "\n".join(f"{url}: {', '.join(v)}" for url, v in found.items())


def _axe(page: Page, url: str) -> dict[str, list[str]]:
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(f"() => axe.run(document, {{resultTypes: ['violations'], runOnly: {AXE_TAGS}}})")
    bad = [
        f"{v['id']} ({v['impact']}: {'; '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    return {url: bad} if bad else {}


def test_the_vendored_scripts_are_the_npm_packages(console: Console) -> None:
    """htmx and Cytoscape.js are committed (``make run`` needs no npm) as copies of what package-lock.json pins."""
    vendor = ROOT / "registry" / "console" / "static" / "vendor"
    for shipped, source in (
        ("htmx.min.js", "htmx.org/dist/htmx.min.js"),
        ("cytoscape.min.js", "cytoscape/dist/cytoscape.min.js"),
    ):
        assert (vendor / shipped).read_bytes() == (ROOT / "node_modules" / source).read_bytes(), shipped
        r = httpx.get(f"{console.url}/console/static/vendor/{shipped}")
        assert r.status_code == 200 and r.content == (vendor / shipped).read_bytes()
