"""Licence registers behind one small protocol: the AFSA site (scraped), the shipped seed, and room for a second
regulator (the National Bank of Kazakhstan also licenses exchange operators)."""

from __future__ import annotations

import csv
import io
import logging
import re
from importlib import resources
from typing import Protocol

import requests

from blocklist.register.parser import LICENCE_NUMBER, apply_details, parse_detail_page, parse_list_page
from blocklist.register.records import FetchResult, FirmRecord, clean_text, normalize_status
from blocklist.settings import BlocklistSettings
from registry.errors import RegistryError, UpstreamError

log = logging.getLogger("blocklist.register")
USER_AGENT = "wallet-risk-registry/1 (register refresh; +https://publicreg.myafsa.com)"


class LicenceRegister(Protocol):
    regulator: str
    licence_pattern: re.Pattern[str] | None  # what the register's licence numbers look like, when known

    def fetch(self) -> FetchResult:
        """Every firm the register lists now; raises ``UpstreamError`` when the register cannot be read."""
        ...


class AfsaRegister:
    regulator = "afsa"
    licence_pattern: re.Pattern[str] | None = LICENCE_NUMBER

    def __init__(
        self,
        base_url: str,
        sections: list[str],
        *,
        timeout: float = 20.0,
        max_pages: int = 50,
        fetch_details: bool = True,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.sections = sections
        self.timeout = timeout
        self.max_pages = max_pages
        self.fetch_details = fetch_details
        self.http = session or requests.Session()
        self.http.headers.setdefault("User-Agent", USER_AGENT)

    def _get(self, url: str) -> bytes:
        try:
            resp = self.http.get(url, timeout=self.timeout)
        except requests.RequestException as e:
            raise UpstreamError(f"AFSA register unreachable at {url}: {type(e).__name__}") from None
        if resp.status_code != 200:
            raise UpstreamError(f"AFSA register answered HTTP {resp.status_code} for {url}")
        return resp.content

    def fetch(self) -> FetchResult:
        result = FetchResult(firms=[])
        for section in self.sections:
            url: str | None = f"{self.base_url}/{section}/"
            seen: set[str] = set()
            while url is not None:
                if url in seen or len(seen) >= self.max_pages:
                    result.warnings.append(f"{section}: pagination stopped after {len(seen)} pages at {url}")
                    break
                seen.add(url)
                page = parse_list_page(self._get(url), url, section)
                result.firms.extend(page.firms)
                result.rows_seen += page.rows_seen
                result.rows_skipped += page.rows_skipped
                url = page.next_url
        if self.fetch_details:
            for rec in result.firms:
                if not rec.details_url:
                    continue
                try:
                    apply_details(rec, parse_detail_page(self._get(rec.details_url), rec.details_url))
                except RegistryError as e:
                    # One broken detail page must not stop the daily refresh; the list row holds the status.
                    result.warnings.append(f"{rec.name}: details not read ({e.message})")
        return result


class SeedRegister:
    """The licensed firms and domains shipped with the product, so it works offline from the first start."""

    regulator = "afsa"
    licence_pattern: re.Pattern[str] | None = None  # the seed also lists firms without a licence number

    def fetch(self) -> FetchResult:
        return FetchResult(firms=load_seed())


def load_seed() -> list[FirmRecord]:
    text = resources.files("blocklist.register").joinpath("seed.csv").read_text(encoding="utf-8")
    firms: list[FirmRecord] = []
    for row in csv.DictReader(io.StringIO(text)):
        firms.append(
            FirmRecord(
                name=clean_text(row["name"]),
                licence_number=clean_text(row["licence_number"]) or None,
                status=normalize_status(row["status"]),
                status_text=clean_text(row["status"]),
                section="dasp",
                domains=[d.strip() for d in row["domains"].split(";") if d.strip()],
            )
        )
    return firms


def make_register(settings: BlocklistSettings) -> LicenceRegister:
    return AfsaRegister(
        settings.register_url,
        settings.sections,
        timeout=settings.register_timeout_seconds,
        max_pages=settings.register_max_pages,
        fetch_details=settings.register_fetch_details,
    )
