"""What the browser tests share besides fixtures: the live console, signing in, screenshots."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page
from sqlalchemy.engine import Engine

from tests.support.keys import Keys
from tests.support.servers import LiveServer


class Console:
    """A live server with its database, and keys made straight in it."""

    def __init__(self, server: LiveServer, engine: Engine) -> None:
        self.server = server
        self.engine = engine
        self.keys = Keys(engine)
        self.url = server.base_url


def sign_in(page: Page, key: str, lang: str = "ru") -> None:
    """Through the sign-in form, as a person would; lands on the role's first page."""
    page.goto(f"/console/signin?lang={lang}")
    page.fill("#key", key)
    page.click("form[action='/console/signin'] button[type=submit]")
    page.wait_for_url("**/console/**")
    refused = page.locator("[role=alert]").all_inner_texts() if "/console/signin" in page.url else []
    assert not refused and "/console/signin" not in page.url, f"sign-in refused: {refused}"


def sign_out(page: Page) -> None:
    page.click("form[action='/console/signout'] button")
    page.wait_for_url("**/console/signin**")


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot(page: Page, name: str, element: str | None = None) -> None:
    """Saved into docs/screenshots/ only when REGISTRY_TEST_SCREENSHOTS is set, so `make test` leaves the tree
    clean; the README shows the files this wrote (the whole window, or one element of the page)."""
    if not os.environ.get("REGISTRY_TEST_SCREENSHOTS"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if element is None:
        page.screenshot(path=path, full_page=False)
    else:
        page.locator(element).screenshot(path=path)
    # 256 colours are plenty for a page of text and flat colours: a third of the bytes in the repository.
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def csrf_of(page: Page) -> str:
    """The session's CSRF token, as the page carries it."""
    token = page.get_attribute("body", "data-csrf")
    assert token, "the page carries no CSRF token"
    return token


def wallet(n: int) -> str:
    """A valid EVM address (lower case needs no checksum) that is the same in every run."""
    return "0x" + f"{n:x}".rjust(40, "c")
