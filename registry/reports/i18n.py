"""The report's words in Russian and English: one small catalogue, looked up by key.

A dictionary in the package rather than gettext catalogues: the report has a hundred phrases, no translator
workflow, and must render with nothing compiled beforehand. ``tests/reports`` fails when a key lacks a language.
Numbers and dates are formatted for the language by Babel.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")

CATALOGUE: dict[str, dict[Lang, str]] = {
    "title": {
        "en": "Registry of high-risk crypto wallets and exchanger blocklist: period report",
        "ru": "Реестр криптокошельков высокого риска и блокировка обменников: отчёт за период",
    },
    "agency": {"en": "Agency for Financial Monitoring", "ru": "Агентство по финансовому мониторингу"},
    "draft": {"en": "Draft", "ru": "Проект"},
    "period": {"en": "Period", "ru": "Период"},
    "previous_period": {"en": "Compared with", "ru": "Сравнение с периодом"},
    "due": {"en": "Due (20th day after the period)", "ru": "Срок представления (20-й день после периода)"},
    "generated_at": {"en": "Generated at (UTC)", "ru": "Сформирован (UTC)"},
    "registry_version": {"en": "Registry version", "ru": "Версия реестра"},
    "policy_version": {"en": "Risk policy version", "ru": "Версия политики риска"},
    "sha256": {"en": "SHA-256 of the statistics", "ru": "SHA-256 статистики"},
    "sha256_covers": {
        "en": (
            "The hash covers the statistics document (GET /v1/reports/{period}/statistics, or --format json) without "
            "its sha256 field, serialised as compact JSON with sorted keys in UTF-8: every figure of this report, "
            "the period, the versions and the generation time. Every format and language of one generation carries "
            "the same hash."
        ),
        "ru": (
            "Хеш вычислен по документу статистики (GET /v1/reports/{period}/statistics или --format json) без поля "
            "sha256, сериализованному в компактный JSON с упорядоченными ключами в UTF-8: все показатели отчёта, "
            "период, версии и время формирования. Все форматы и языки одного формирования имеют один хеш."
        ),
    },
    "period_days": {
        "en": "Periods are whole days in UTC.",
        "ru": "Периоды считаются целыми сутками по UTC.",
    },
    "period_open": {
        "en": "The period has not ended: its figures run until {until} UTC.",
        "ru": "Период ещё не завершён: показатели приведены по состоянию на {until} UTC.",
    },
    "summary": {"en": "Summary", "ru": "Сводные показатели"},
    "figure": {"en": "Figure", "ru": "Показатель"},
    "previous": {"en": "Previous period", "ru": "Предыдущий период"},
    "current": {"en": "This period", "ru": "Отчётный период"},
    "change": {"en": "Change", "ru": "Изменение"},
    "total": {"en": "Total", "ru": "Всего"},
    "n_a": {"en": "not available", "ru": "нет данных"},
    "none": {"en": "none in this period", "ru": "в периоде нет"},
    "listings_added": {"en": "Listings added", "ru": "Добавлено записей в реестр"},
    "listings_approved": {"en": "Listings approved", "ru": "Одобрено записей"},
    "listings_rejected": {"en": "Listings rejected", "ru": "Отклонено записей"},
    "listings_delisted": {"en": "Listings delisted", "ru": "Исключено записей"},
    "listings_expired": {"en": "Listings expired", "ru": "Истёк срок записей"},
    "domains_blocked": {"en": "Exchanger domains blocked", "ru": "Заблокировано доменов обменников"},
    "domains_unblocked": {"en": "Exchanger domains unblocked", "ru": "Разблокировано доменов обменников"},
    "licensed_firms_added": {"en": "Licensed firms added to the register", "ru": "Лицензиатов добавлено в реестр"},
    "licensed_firms_withdrawn": {
        "en": "Licensed firms withdrawn from the register",
        "ru": "Лицензиатов исключено из реестра",
    },
    "cases_opened": {"en": "Cases opened", "ru": "Открыто дел"},
    "screenings_total": {"en": "Addresses screened by banks", "ru": "Проверено адресов банками"},
    "screenings_blocked": {"en": "Screenings answered block", "ru": "Проверок с ответом «блокировать»"},
    "alerts_sent": {"en": "Monitoring alerts sent", "ru": "Отправлено оповещений мониторинга"},
    "value_to_listed": {"en": "Value received by listed wallets", "ru": "Поступило на кошельки из реестра"},
    "value_from_listed": {"en": "Value sent by listed wallets", "ru": "Отправлено с кошельков из реестра"},
    "listings": {"en": "Registry of high-risk wallets", "ru": "Реестр кошельков высокого риска"},
    "listings_intro": {
        "en": (
            "Listing events of the period from the audit log. Added: submitted by investigators, or added by an "
            "official-list import (live at once, no approval). Delisted: by two supervisors, or removed from the "
            "official list."
        ),
        "ru": (
            "События по записям реестра за период по журналу аудита. Добавлено: внесено следователями или "
            "импортом официального списка (действует сразу, без одобрения). Исключено: двумя руководителями или "
            "по исключению из официального списка."
        ),
    },
    "event_added": {"en": "Added", "ru": "Добавлено"},
    "event_approved": {"en": "Approved", "ru": "Одобрено"},
    "event_rejected": {"en": "Rejected", "ru": "Отклонено"},
    "event_delisted": {"en": "Delisted", "ru": "Исключено"},
    "event_expired": {"en": "Expired", "ru": "Истекло"},
    "by_category": {"en": "By category", "ru": "По категориям"},
    "by_chain": {"en": "By chain", "ru": "По блокчейнам"},
    "by_source": {"en": "By source", "ru": "По источникам"},
    "by_confidence": {"en": "By confidence", "ru": "По уровню достоверности"},
    "category": {"en": "Category", "ru": "Категория"},
    "chain": {"en": "Chain", "ru": "Блокчейн"},
    "source": {"en": "Source", "ru": "Источник"},
    "confidence": {"en": "Confidence", "ru": "Достоверность"},
    "source_fiu": {"en": "the agency", "ru": "Агентство"},
    "source_ofac": {"en": "OFAC", "ru": "OFAC"},
    "chart_listings": {
        "en": "Chart 1. Listings added by category",
        "ru": "Диаграмма 1. Добавлено записей по категориям",
    },
    "blocklist": {
        "en": "Exchanger blocklist and licensed register",
        "ru": "Блокировка обменников и реестр лицензиатов",
    },
    "screenings": {"en": "Screening by banks", "ru": "Проверки банков"},
    "screenings_intro": {
        "en": (
            "Addresses screened through the API, by the risk level and action they were told; from the screening "
            "log and, for days past its retention, its daily rollup. Counts per bank are for the agency only."
        ),
        "ru": (
            "Адреса, проверенные через API, по уровню риска и предписанному действию; по журналу проверок и, "
            "за дни вне срока его хранения, по его суточным итогам. Данные по банкам — только для Агентства."
        ),
    },
    "risk_level": {"en": "Risk level", "ru": "Уровень риска"},
    "action": {"en": "Action", "ru": "Действие"},
    "bank": {"en": "Bank", "ru": "Банк"},
    "by_bank": {"en": "By bank (agency only)", "ru": "По банкам (только для Агентства)"},
    "level_low": {"en": "low", "ru": "низкий"},
    "level_medium": {"en": "medium", "ru": "средний"},
    "level_high": {"en": "high", "ru": "высокий"},
    "level_severe": {"en": "severe", "ru": "критический"},
    "action_allow": {"en": "allow", "ru": "пропустить"},
    "action_review": {"en": "review", "ru": "проверить"},
    "action_block": {"en": "block", "ru": "блокировать"},
    "chart_screenings": {
        "en": "Chart 2. Screenings by risk level",
        "ru": "Диаграмма 2. Проверки по уровням риска",
    },
    "flows": {"en": "Value to and from listed wallets", "ru": "Средства на кошельки и с кошельков из реестра"},
    "flows_intro": {
        "en": (
            "Transfers in the transfer store during the period to and from wallets listed at the time of the "
            "transfer, at the registry's reference prices ({unit}). Of which domestic licensed: the other wallet "
            "belongs to a service licensed in Kazakhstan. Unpriced tokens count zero."
        ),
        "ru": (
            "Переводы из хранилища переводов за период на кошельки и с кошельков, внесённых в реестр на момент "
            "перевода, по справочным ценам реестра ({unit}). В т. ч. лицензиаты РК: другой кошелёк принадлежит "
            "сервису, лицензированному в Казахстане. Токены без цены учитываются нулём."
        ),
    },
    "received": {"en": "Received by listed", "ru": "Поступило на кошельки из реестра"},
    "sent": {"en": "Sent by listed", "ru": "Отправлено с кошельков из реестра"},
    "transfers": {"en": "Transfers", "ru": "Переводов"},
    "value": {"en": "Value", "ru": "Сумма"},
    "domestic_licensed": {"en": "of which domestic licensed", "ru": "в т. ч. лицензиаты РК"},
    "chart_flows": {
        "en": "Chart 3. Reference value to and from listed wallets by category",
        "ru": "Диаграмма 3. Средства на кошельки и с кошельков из реестра по категориям",
    },
    "typologies": {"en": "Typologies observed", "ru": "Выявленные типологии"},
    "typology": {"en": "Typology", "ru": "Типология"},
    "addresses_flagged": {"en": "Addresses flagged", "ru": "Отмечено адресов"},
    "page": {"en": "page", "ru": "стр."},
    "of": {"en": "of", "ru": "из"},
    "cat_sanctions": {"en": "sanctions", "ru": "санкции"},
    "cat_terrorist_financing": {"en": "terrorist financing", "ru": "финансирование терроризма"},
    "cat_proliferation_financing": {"en": "proliferation financing", "ru": "финансирование распространения ОМУ"},
    "cat_child_abuse": {"en": "child abuse material", "ru": "материалы сексуального насилия над детьми"},
    "cat_ransomware": {"en": "ransomware", "ru": "программы-вымогатели"},
    "cat_drug_trafficking": {"en": "drug trafficking", "ru": "наркоторговля"},
    "cat_darknet_market": {"en": "darknet market", "ru": "даркнет-рынок"},
    "cat_stolen_funds": {"en": "stolen funds", "ru": "похищенные средства"},
    "cat_fraud": {"en": "fraud", "ru": "мошенничество"},
    "cat_cybercrime": {"en": "cybercrime", "ru": "киберпреступность"},
    "cat_money_mule": {"en": "money mules (drops)", "ru": "дропы (подставные лица)"},
    "cat_unlicensed_exchanger": {"en": "unlicensed exchanger", "ru": "нелицензированный обменник"},
    "cat_mixer": {"en": "mixer", "ru": "миксер"},
    "cat_illegal_gambling": {"en": "illegal gambling", "ru": "незаконные азартные игры"},
    "cat_illegal_mining": {"en": "illegal mining", "ru": "незаконный майнинг"},
}


class Words:
    """The catalogue in one language, with the number and date formats of that language."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        text = CATALOGUE[key][self.lang]
        return text.format(**values) if values else text

    def maybe(self, prefix: str, code: str) -> str:
        """``prefix_code`` from the catalogue, or the code itself (a category added after this catalogue)."""
        entry = CATALOGUE.get(f"{prefix}_{code}")
        return entry[self.lang] if entry else code

    def number(self, n: float | None, digits: int = 0) -> str:
        if n is None:
            return self("n_a")
        fmt = "#,##0" if digits == 0 else "#,##0." + "0" * digits
        return format_decimal(n, format=fmt, locale=self.lang)

    def change(self, previous: float | None, current: float | None) -> str:
        """The change as a signed difference and, where the previous period had any, a percentage."""
        if previous is None or current is None:
            return "–"
        diff = current - previous
        sign = "+" if diff > 0 else "−" if diff < 0 else "±"
        text = sign + self.number(abs(diff), 0 if float(diff).is_integer() else 2)
        if previous:
            text += f" ({format_percent(diff / previous, format='+#,##0%;−#,##0%', locale=self.lang)})"
        return text

    def day(self, d: date) -> str:
        return format_date(d, format="long", locale=self.lang)
