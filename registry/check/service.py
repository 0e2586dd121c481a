"""The public answers: is this website a licensed exchange, is this wallet high-risk.

Nothing from cases: the wallet's answer is what a bank's screening returns, reduced to its categories, level and
mandated action (the screening snapshot in memory, no query); the website's answer is the licensed check
(``blocklist.domains.service.check``), which shows the public register and the public blocklist only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlmodel import Session

from blocklist.domains import service as domains
from chains.addresses import AddressError, normalize
from registry.errors import InvalidDomain, InvalidInput
from registry.http.deps import AppContext

HIGH_RISK_ACTIONS = frozenset({"review", "block"})
"""A wallet is high-risk for the public when banks must at least check payments involving it."""


@dataclass
class WalletAnswer:
    asked: str
    address: str = ""
    chain: str = ""
    invalid: str | None = None
    """Why the text is not a wallet address (the validator's reason word), or None."""
    high_risk: bool = False
    level: str = "low"
    action: str = "allow"
    listed: list[str] = field(default_factory=list)
    """Categories the wallet itself is listed under."""
    linked: list[str] = field(default_factory=list)
    """Categories it received from or sent to (exposure), when it is not listed itself."""


def check_wallet(ctx: AppContext, text: str, chain: str | None) -> WalletAnswer:
    asked = text.strip()[:200]
    try:
        n = normalize(asked, chain or None)
    except AddressError as e:
        return WalletAnswer(asked=asked, invalid=e.reason)
    v = ctx.snapshot.current.verdict(f"{n.family}:{n.address}", time.time())
    listed = sorted({str(d["category"]) for d in v.direct})
    linked = sorted({str(e["category"]) for d in ("incoming", "outgoing") for e in v.exposure.get(d, [])} - set(listed))
    return WalletAnswer(
        asked=asked,
        address=n.address,
        chain=n.chain,
        high_risk=v.action in HIGH_RISK_ACTIONS,
        level=v.risk_level,
        action=v.action,
        listed=listed,
        linked=linked if v.action in HIGH_RISK_ACTIONS else [],
    )


@dataclass
class SiteAnswer:
    asked: str
    invalid: bool = False
    verdict: str = "unknown"  # licensed | blocked | lookalike | unknown
    domain: str = ""
    firm: str | None = None
    licence_number: str | None = None
    regulator: str | None = None
    blocked_as: str | None = None
    looks_like: list[tuple[str, str]] = field(default_factory=list)
    """(licensed domain, firm) pairs the name looks like."""


def check_site(session: Session, text: str) -> SiteAnswer:
    asked = text.strip()[:300]
    try:
        r = domains.check(session, asked)
    except (InvalidDomain, InvalidInput):
        return SiteAnswer(asked=asked, invalid=True)
    licence = r.licence or {}
    return SiteAnswer(
        asked=asked,
        verdict=r.verdict,
        domain=r.unicode or r.domain,
        firm=str(licence["firm"]) if licence.get("firm") else None,
        licence_number=str(licence["licence_number"]) if licence.get("licence_number") else None,
        regulator=str(licence["regulator"]).upper() if licence.get("regulator") else None,
        blocked_as=r.blocked_as,
        looks_like=[(x.licensed_domain, x.firm) for x in r.lookalikes],
    )
