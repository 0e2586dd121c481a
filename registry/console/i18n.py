"""The working languages (Russian by default, Kazakh, English) from gettext catalogs, for the console and the
public check page.

Each feature keeps its texts in ``locale/<lang>/LC_MESSAGES/messages.po`` beside its templates. The ``.po`` files
are the only copy: they are compiled in memory when a page set is first built (Babel's ``write_mo`` into a
``Translations``), so there is no build step and no ``.mo`` that could fall behind its ``.po``. ``registry console
messages`` extracts the texts of the templates and the Python sources and merges them into every catalogue
(``messages.py``); ``tests/browser/test_i18n.py`` fails when a text has no translation in one of the languages.

A text without a translation falls back to its English source, or, with ``REGISTRY_CONSOLE_STRICT_I18N`` (the
browser tests), raises: a page that would show an untranslated text fails instead of rendering it.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: tuple[str, ...] = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_NAMES: Mapping[str, str] = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
"""Each language named in itself, as a language switch shows it."""

DOMAIN = "messages"


def N_(message: str) -> str:
    """Marks a text for extraction where it is defined (labels in tables); it is translated where it is shown."""
    return message


class MissingTranslation(LookupError):
    """A text has no translation in the language a page is rendered in (strict mode only)."""


class _Untranslated(gettext.NullTranslations):
    """The last fallback of a catalogue: the English source, or an error in strict mode."""

    def __init__(self, lang: str, strict: bool) -> None:
        super().__init__()
        self.lang = lang
        self.strict = strict

    def gettext(self, message: str) -> str:
        if self.strict:
            raise MissingTranslation(f"no {self.lang} translation of {message!r}")
        return message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        if self.strict:
            raise MissingTranslation(f"no {self.lang} translation of {msgid1!r} / {msgid2!r}")
        return msgid1 if n == 1 else msgid2


def catalog_path(locale_dir: Path, lang: str) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(locale_dir: Path, lang: str, *, strict: bool) -> Translations:
    """The catalogue of ``lang`` compiled in memory; untranslated and fuzzy entries count as missing."""
    path = catalog_path(locale_dir, lang)
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    translations = Translations(buf, domain=DOMAIN)
    translations.add_fallback(_Untranslated(lang, strict))
    return translations


def pick_language(*candidates: str | None) -> str:
    """The first candidate that is a working language, else Russian."""
    for c in candidates:
        if c and c in LANGUAGES:
            return c
    return DEFAULT_LANGUAGE
