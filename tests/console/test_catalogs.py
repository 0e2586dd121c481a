"""The catalogs: every text of the console and of the public check page translated into Russian, Kazakh and
English; a missing translation fails a page in strict mode; the package ships templates, static files and
catalogs."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from registry.console import messages
from registry.console.i18n import LANGUAGES, MissingTranslation, load_translations
from tests.support.paths import ROOT

FEATURES = {"registry.console": ROOT / "registry" / "console", "registry.check": ROOT / "registry" / "check"}


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_every_text_has_a_translation_in_every_language(feature: str) -> None:
    """Extracted from the templates (``_()``) and the sources (``N_()``) as ``registry console messages`` does."""
    template = messages.extract(FEATURES[feature])
    assert len(template) > 50
    gaps = {m.lang: m.msgids for m in messages.missing(FEATURES[feature], template)}
    assert gaps == {}, (
        f"translate these (registry console messages, then edit locale/*/LC_MESSAGES/messages.po): {gaps}"
    )


def test_a_missing_or_fuzzy_translation_fails_in_strict_mode(tmp_path: Path) -> None:
    po = tmp_path / "kk" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Sign in"\nmsgstr "Кіру"\n\n'
        '#, fuzzy\nmsgid "Sign out"\nmsgstr "Шығу"\n\n'
        'msgid "Back"\nmsgstr ""\n',
        encoding="utf-8",
    )
    strict = load_translations(tmp_path, "kk", strict=True)
    assert strict.gettext("Sign in") == "Кіру"
    for text in ("Sign out", "Back", "Never extracted"):
        with pytest.raises(MissingTranslation):
            strict.gettext(text)
    assert load_translations(tmp_path, "kk", strict=False).gettext("Back") == "Back"  # English, outside the tests


def test_the_catalogs_carry_no_texts_the_pages_no_longer_use() -> None:
    for path in FEATURES.values():
        used = {m.id for m in messages.extract(path) if m.id}
        for lang in LANGUAGES:
            stale = {m.id for m in messages.read(path / "locale", lang) if m.id} - used
            assert not stale, f"{path.name} {lang}: run `registry console messages` to drop {sorted(stale)[:5]}"


def test_the_package_ships_templates_static_files_and_catalogs() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for package, path in FEATURES.items():
        patterns = data.get(package, []) + data.get("*", [])
        files = [
            p.relative_to(path).as_posix()
            for sub in ("templates", "static", "locale")
            for p in (path / sub).rglob("*")
            if p.is_file()
        ]
        assert files
        unshipped = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
        assert unshipped == [], f"add to [tool.setuptools.package-data] {package}: {unshipped}"
