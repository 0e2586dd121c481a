"""Persons behind keys, and the one four-eyes rule.

Banks and ISPs act on what the registry publishes, so nobody may change it alone: every decision that changes
what they see (approving, rejecting or delisting a listing, approving or delisting a domain, mapping a domain to a
licensed firm when that unblocks anything) needs a second *person*. Keys are not persons: one person may hold an
investigator key and a supervisor key, or two supervisor keys. So keys name their holder, the holder is normalised
once when the key is created (``normalize_holder``), and every decision compares normalised holders through
``require_second_person`` — the one function, raising the one reason type (``FourEyesViolation``).

People read names, though, and a prosecutor expects "Борис Ким", not "борис ким". So a key also keeps the name as
it was given (``display_holder``: the case kept), and whatever shows a person to people maps normalised holders
to those names (``pick_display_names``; the query is ``registry.auth.service.display_names``). The display name is
never compared: two spellings of one person differ there, and only the normalised holder decides who is who.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from registry.errors import Forbidden, InvalidInput


class FourEyesViolation(Forbidden):
    """The same person on both sides of a decision (or a decider nobody can tell apart from the maker)."""

    code = "four_eyes"


def normalize_holder(name: str | None) -> str | None:
    """NFKC, case-folded, whitespace collapsed: ``'Alice  Smith '``, ``'ALICE SMITH'`` and the full-width
    ``'Ａｌｉｃｅ Smith'`` are one person. ``None`` or blank stays ``None``."""
    if name is None:
        return None
    folded = unicodedata.normalize("NFKC", name).casefold()
    collapsed = " ".join(folded.split())
    return collapsed or None


def display_holder(name: str | None) -> str | None:
    """The name for people to read: NFKC and whitespace collapsed as in ``normalize_holder``, the case kept
    (``'Борис  Ким '`` → ``'Борис Ким'``). ``None`` or blank stays ``None``."""
    if name is None:
        return None
    return " ".join(unicodedata.normalize("NFKC", name).split()) or None


def pick_display_names(holders: Iterable[str], known: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Each normalised holder's name as written: ``known`` is ``(holder, display)`` of their keys, oldest key first,
    so the most recently created key wins (a corrected spelling is a new key). A holder nobody wrote down (a key from
    before display names, a person without a key) reads as its normalised form: the best there is."""
    latest = {h: d for h, d in known if d}
    return {h: latest.get(h, h) for h in holders}


def require_person(person: str | None, what: str) -> str:
    """A decision is taken by a person; a key without a holder cannot take one."""
    norm = normalize_holder(person)
    if norm is None:
        raise FourEyesViolation(f"four eyes: {what} needs a key that names its holder (keys create --holder)")
    return norm


def require_second_person(maker: str | None, decider: str | None, what: str) -> str:
    """Refuse when ``decider`` is the person who made the request (submitted the listing, asked for the delisting).

    Both sides are compared in normalised form; returns the decider's normalised name for the record. A maker that
    is not a person (an import, the register job) has nobody to collide with.
    """
    who = require_person(decider, what)
    if maker is not None and normalize_holder(maker) == who:
        raise FourEyesViolation(
            f"four eyes: {what} needs a second person; {who!r} made the request",
            details={"person": who},
        )
    return who


def check_holder(name: str) -> str:
    """The holder as stored on a key: normalised, non-empty, of a sane length."""
    norm = normalize_holder(name)
    if norm is None:
        raise InvalidInput("the holder's name is empty")
    if len(norm) > 200:
        raise InvalidInput("the holder's name is longer than 200 characters")
    return norm
