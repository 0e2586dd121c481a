"""The typology catalogue as a document banks read: HTML, or PDF (WeasyPrint, fonts from the machine, no network),
in Russian or English, with a small schematic of each pattern.

The words of the catalogue itself (descriptions, fiat red flags, indicator names) live in ``catalogue.py`` beside the
thresholds they describe; the few headings of the page are in ``LABELS`` here. A dictionary rather than gettext
catalogues, as for the reports: a few dozen phrases, rendered with nothing compiled beforehand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from registry.pdf import html_to_pdf
from registry.typologies import catalogue
from registry.typologies.indicators import INDICATORS
from registry.typologies.settings import TypologySettings

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")

LABELS: dict[str, dict[Lang, str]] = {
    "title": {
        "en": "Typologies and red flags of crypto-asset laundering through front-man accounts",
        "ru": "Типологии и признаки отмывания через подставных лиц с использованием криптоактивов",
    },
    "agency": {"en": "Agency for Financial Monitoring", "ru": "Агентство по финансовому мониторингу"},
    "version": {"en": "Catalogue version", "ru": "Версия каталога"},
    "generated": {"en": "Generated (UTC)", "ru": "Сформирован (UTC)"},
    "intro": {
        "en": "The registry computes behavioural indicators for every wallet it sees on chain and matches them "
        "against the typologies below. A wallet that matches is returned with its red flags in screening results "
        "(field red_flags) and raises the action to review. Behaviour alone never blocks: only listings and "
        "sanctions do. For a customer whose wallet carries a red flag, look for the fiat red flags of the same "
        "typology in the customer's account.",
        "ru": "Реестр вычисляет поведенческие показатели каждого кошелька, который видит в блокчейне, и сопоставляет "
        "их с типологиями ниже. Кошелёк, подпадающий под типологию, возвращается в результатах проверки с "
        "признаками (поле red_flags), а действие повышается до «проверить» (review). Одно поведение никогда не "
        "ведёт к блокировке: блокируют только записи реестра и санкции. Для клиента, кошелёк которого имеет "
        "признак, ищите в его фиатных операциях признаки той же типологии.",
    },
    "thresholds": {
        "en": "Reporting thresholds (reference value, USD)",
        "ru": "Пороговые значения (эталонная стоимость, USD)",
    },
    "near_band": {
        "en": "A transfer is near a threshold when it is at most {band} below it.",
        "ru": "Перевод считается близким к порогу, если он ниже порога не более чем на {band}.",
    },
    "min_transfers": {
        "en": "Wallets with fewer than {n} transfers are not matched.",
        "ru": "Кошельки, у которых меньше {n} переводов, не сопоставляются.",
    },
    "typology": {"en": "Typology", "ru": "Типология"},
    "on_chain": {"en": "On-chain indicators and thresholds", "ru": "Показатели в блокчейне и пороги"},
    "all_of": {"en": "all of", "ru": "все условия"},
    "any_of": {"en": "and at least one of", "ru": "и хотя бы одно из"},
    "fiat": {"en": "Red flags in the customer's fiat transactions", "ru": "Признаки в фиатных операциях клиента"},
    "indicator": {"en": "Indicator", "ru": "Показатель"},
    "condition": {"en": "Condition", "ru": "Условие"},
    "glossary": {"en": "Indicators", "ru": "Показатели"},
    "glossary_note": {
        "en": "Each red flag gives the indicator's value for the wallet and its percentile among all wallets.",
        "ru": "Каждый признак содержит значение показателя для кошелька и его процентиль среди всех кошельков.",
    },
    "action": {"en": "Action on a match: review", "ru": "Действие при совпадении: проверить (review)"},
}

_env = Environment(loader=PackageLoader("registry.typologies", "templates"), autoescape=True)


def _num(x: float, lang: Lang) -> str:
    return str(format_decimal(x, locale=lang, format="#,##0.##"))


def html(settings: TypologySettings, lang: Lang, now: datetime | None = None) -> str:
    """The catalogue as one self-contained HTML page (styles and pictures inline)."""
    now = now or datetime.now(UTC)
    typologies = [
        {
            "t": t,
            "svg": Markup(SCHEMATICS[t.name]),  # built here from constants, no input in it
            "all_of": [(c, _num(c.threshold, lang)) for c in t.all_of],
            "any_of": [(c, _num(c.threshold, lang)) for c in t.any_of],
        }
        for t in catalogue.TYPOLOGIES
    ]
    return _env.get_template("catalogue.html.j2").render(
        lang=lang,
        L={k: v[lang] for k, v in LABELS.items()},
        version=catalogue.CATALOGUE_VERSION,
        generated=now.strftime("%Y-%m-%d %H:%M"),
        thresholds=[(name, _num(v, lang)) for name, v in settings.typology_thresholds.items()],
        near_band=LABELS["near_band"][lang].format(band=f"{settings.typology_near_band:.0%}"),
        min_transfers=LABELS["min_transfers"][lang].format(n=settings.typology_min_transfers),
        typologies=typologies,
        indicator_text={name: catalogue.INDICATOR_TEXT[name][lang] for name in INDICATORS},
        ops={">=": "≥", "<=": "≤"},
    )


def pdf(settings: TypologySettings, lang: Lang, now: datetime | None = None) -> bytes:
    return html_to_pdf(html(settings, lang, now))


def _svg(body: str, width: int = 260, height: int = 90) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img"><defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>'
        f"{body}</svg>"
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, width: float = 1.2) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" stroke-width="{width}" marker-end="url(#a)"/>'


def _node(x: float, y: float, r: float = 7, fill: str = "#cfd8e3", stroke: str = "#37474f") -> str:
    return f'<circle cx="{x}" cy="{y}" r="{r}" fill="{fill}" stroke="{stroke}"/>'


def _mop() -> str:
    senders = "".join(_node(20, 12 + i * 16.5) + _arrow(28, 12 + i * 16.5, 118, 45) for i in range(5))
    return _svg(senders + _node(130, 45, 10, "#f4b183") + _arrow(141, 45, 218, 45, 3) + _node(230, 45, 10, "#9e9e9e"))


def _cashout() -> str:
    mops = "".join(_node(30, 15 + i * 30, 8, "#f4b183") + _arrow(39, 15 + i * 30, 143, 45) for i in range(3))
    exchanger = '<rect x="145" y="30" width="34" height="30" fill="#e57373" stroke="#37474f"/>'
    cash = '<text x="210" y="50" font-size="13" fill="#37474f">₸ $</text>'
    return _svg(mops + exchanger + _arrow(181, 45, 205, 45, 2) + cash)


def _peel() -> str:
    body = ""
    for i in range(4):
        x = 20 + i * 62
        body += _node(x, 30, 8, "#f4b183")
        if i < 3:
            body += _arrow(x + 9, 30, x + 52, 30, 3.0 - i * 0.6)
        body += _arrow(x, 39, x + 14, 70, 0.8) + _node(x + 17, 78, 5, "#9e9e9e")
    return _svg(body)


def _structuring() -> str:
    bars = "".join(
        f'<rect x="{20 + i * 26}" y="{82 - h}" width="16" height="{h}" fill="#90caf9" stroke="#37474f"/>'
        for i, h in enumerate((62, 60, 63, 61, 64, 62, 59, 63))
    )
    line = '<line x1="10" y1="14" x2="235" y2="14" stroke="#e53935" stroke-dasharray="5,3" stroke-width="1.5"/>'
    return _svg(bars + line + '<text x="238" y="18" font-size="10" fill="#e53935">T</text>')


SCHEMATICS: dict[str, str] = {
    "mop_passthrough": _mop(),
    "exchanger_cashout": _cashout(),
    "peel_chain": _peel(),
    "structuring": _structuring(),
}
"""A small picture of each pattern, drawn from constants (inline SVG: no file, no network, renders in the PDF)."""
