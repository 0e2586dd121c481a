"""Keeping the catalogs in step with the texts: extract every text of a feature's templates (``_(…)``) and Python
sources (``N_(…)``), merge them into each language's ``.po``, and say what is left to translate.

``registry console messages`` runs it for the console and the public check page; ``--check`` only reports (the
tests use the same extraction to fail on a text without a translation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from registry.console.i18n import DOMAIN, LANGUAGES, catalog_path

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}
SOURCE_LANGUAGE = "en"
"""The texts are written in English: the English catalog copies each text as its own translation."""


def extract(feature_dir: Path) -> Catalog:
    """Every text of a feature, with where it is used."""
    out = Catalog(domain=DOMAIN, project="wallet-risk-registry", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(feature_dir), METHODS, OPTIONS, KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    ):
        if "/locale/" in filename.replace("\\", "/"):
            continue
        out.add(message, locations=[(filename, lineno)], auto_comments=comments, context=context)
    return out


@dataclass
class Missing:
    lang: str
    msgids: list[str]


def _text(message: Message) -> str:
    mid = message.id
    return mid[0] if isinstance(mid, tuple) else str(mid)


def _translated(message: Message) -> bool:
    if message.fuzzy:
        return False
    s = message.string
    return all(s) if isinstance(s, tuple) else bool(s)


def read(locale_dir: Path, lang: str) -> Catalog:
    path = catalog_path(locale_dir, lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN, charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def missing(feature_dir: Path, template: Catalog | None = None) -> list[Missing]:
    """The texts of the feature that a language's catalog does not translate (or marks fuzzy)."""
    template = template or extract(feature_dir)
    out = []
    for lang in LANGUAGES:
        catalog = read(feature_dir / "locale", lang)
        gaps = []
        for m in template:
            if not m.id:
                continue
            found = catalog.get(m.id, context=m.context)
            if found is None or not _translated(found):
                gaps.append(_text(m))
        if gaps:
            out.append(Missing(lang, gaps))
    return out


def update(feature_dir: Path) -> list[Missing]:
    """Merge the extracted texts into every catalog (new texts empty, gone texts dropped; English filled with
    the texts themselves) and return what is left to translate."""
    template = extract(feature_dir)
    for lang in LANGUAGES:
        catalog = read(feature_dir / "locale", lang)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        if lang == SOURCE_LANGUAGE:
            for m in catalog:
                if m.id and not _translated(m):
                    m.string = m.id
                    m.flags.discard("fuzzy")
        path = catalog_path(feature_dir / "locale", lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=120, no_location=True, ignore_obsolete=True, include_previous=False)
    return missing(feature_dir, template)
