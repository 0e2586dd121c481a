"""The typology catalogue: named, versioned combinations of indicators, with what each means in plain words (ru,
en) and the red flags a bank should look for in the same customer's fiat transactions.

The catalogue is code, like the taxonomy: a typology's thresholds decide what banks are told to review, so they are
released and versioned with the policy; changing a threshold means a new ``version`` of that typology, and every
red flag names the version that raised it. Matching is vectorised over all addresses (``match``); only the red
flags of matched addresses are assembled one by one (``red_flags``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from registry.typologies.indicators import BoolArray, Indicators

CATALOGUE_VERSION = "2026.1"
"""Version of the catalogue as a whole (the document banks receive names it)."""

Op = Literal[">=", "<="]


@dataclass(frozen=True)
class Condition:
    indicator: str
    op: Op
    threshold: float

    def test(self, ind: Indicators) -> BoolArray:
        x = ind[self.indicator]
        with np.errstate(invalid="ignore"):
            out: BoolArray = x >= self.threshold if self.op == ">=" else x <= self.threshold
        return out & ~np.isnan(x)

    def public(self) -> dict[str, Any]:
        return {"indicator": self.indicator, "op": self.op, "threshold": self.threshold}


@dataclass(frozen=True)
class Typology:
    name: str
    version: int
    title: dict[str, str]  # language -> text
    description: dict[str, str]
    all_of: tuple[Condition, ...]
    any_of: tuple[Condition, ...]
    fiat_red_flags: dict[str, tuple[str, ...]]

    def matches(self, ind: Indicators) -> BoolArray:
        mask = np.ones(ind.n, dtype=bool)
        for c in self.all_of:
            mask &= c.test(ind)
        if self.any_of:
            anyone = np.zeros(ind.n, dtype=bool)
            for c in self.any_of:
                anyone |= c.test(ind)
            mask &= anyone
        return mask


INDICATOR_TEXT: dict[str, dict[str, str]] = {
    "received": {"en": "value received (reference value)", "ru": "получено (в эталонной стоимости)"},
    "sent": {"en": "value sent (reference value)", "ru": "отправлено (в эталонной стоимости)"},
    "transfers_in": {"en": "incoming transfers", "ru": "входящих переводов"},
    "transfers_out": {"en": "outgoing transfers", "ru": "исходящих переводов"},
    "senders": {"en": "distinct senders", "ru": "разных отправителей"},
    "receivers": {"en": "distinct receivers", "ru": "разных получателей"},
    "pass_through": {"en": "pass-through ratio (sent / received)", "ru": "доля транзита (отправлено / получено)"},
    "dwell_hours": {
        "en": "dwell time: hours between receiving and passing on (value-weighted, first in first out)",
        "ru": "время задержки: часов между получением и отправкой дальше (взвешено по сумме, FIFO)",
    },
    "top_sink_share": {
        "en": "share of the outflow going to the largest receiver",
        "ru": "доля исходящих средств, ушедшая крупнейшему получателю",
    },
    "sink_senders": {
        "en": "distinct senders of that largest receiver (a collection point has many)",
        "ru": "число разных отправителей у этого получателя (у точки сбора их много)",
    },
    "fan_ratio": {"en": "senders per receiver (fan-in / fan-out)", "ru": "отправителей на одного получателя"},
    "one_off_share": {
        "en": "share of the value received from senders who sent only once",
        "ru": "доля полученных средств от отправителей, переводивших только один раз",
    },
    "peel_chain_length": {
        "en": "consecutive peel hops through the address (each passing on most of what arrived)",
        "ru": "звеньев «отслаивающей» цепочки через адрес (каждое передаёт дальше большую часть полученного)",
    },
    "round_share": {"en": "share of transfers in round amounts", "ru": "доля переводов круглыми суммами"},
    "near_threshold_count": {
        "en": "transfers just below a reporting threshold",
        "ru": "переводов чуть ниже порога обязательного контроля",
    },
    "near_threshold_share": {
        "en": "share of transfers just below a reporting threshold",
        "ru": "доля переводов чуть ниже порога обязательного контроля",
    },
    "exchanger_share": {
        "en": "share of the outflow going to known unlicensed exchangers",
        "ru": "доля исходящих средств, ушедшая известным нелицензированным обменникам",
    },
    "unlicensed_sink_share": {
        "en": "share of the outflow going to addresses no licensed entity owns",
        "ru": "доля исходящих средств, ушедшая на адреса, не принадлежащие лицензированным организациям",
    },
}


def _c(indicator: str, op: Op, threshold: float) -> Condition:
    return Condition(indicator, op, threshold)


TYPOLOGIES: tuple[Typology, ...] = (
    Typology(
        name="mop_passthrough",
        version=1,
        title={
            "en": "Front-man (\u201cmop\u201d) pass-through account",
            "ru": "Транзитный счёт подставного лица («дроп»)",
        },
        description={
            "en": "Money arrives from many unrelated senders and is passed on within hours, almost all of it, "
            "mostly to one receiver. The account holder keeps nothing: the account is rented out or opened for "
            "someone else, to put distance between the victims or the crime and the cash-out point.",
            "ru": "Средства поступают от многих не связанных между собой отправителей и в течение нескольких часов "
            "почти полностью уходят дальше, в основном одному получателю. Владелец ничего не оставляет себе: счёт "
            "сдан в аренду или открыт на другое лицо, чтобы отделить жертв или преступление от точки обналичивания.",
        },
        all_of=(
            _c("senders", ">=", 5),
            _c("one_off_share", ">=", 0.5),
            _c("pass_through", ">=", 0.8),
            _c("pass_through", "<=", 1.25),
            _c("dwell_hours", "<=", 48),
            _c("top_sink_share", ">=", 0.5),
        ),
        any_of=(),
        fiat_red_flags={
            "en": (
                "many incoming transfers from unrelated individuals, each followed within hours by an outgoing "
                "transfer or cash withdrawal of about the same total",
                "a balance near zero at the end of most days despite a high turnover",
                "turnover out of proportion to the customer's stated income, age or occupation (students, the "
                "unemployed, pensioners)",
                "online banking logins from devices, IP addresses or regions that differ from the customer's own, "
                "or several customers using one device",
                "card-to-card transfers to or from crypto exchange and P2P platform counterparties",
            ),
            "ru": (
                "много входящих переводов от не связанных между собой физических лиц, за каждым в течение "
                "нескольких часов следует исходящий перевод или снятие наличных примерно на ту же сумму",
                "остаток около нуля на конец большинства дней при высоком обороте",
                "оборот не соответствует заявленному доходу, возрасту или роду занятий клиента (студенты, "
                "безработные, пенсионеры)",
                "вход в интернет-банк с чужих устройств, IP-адресов или регионов, либо несколько клиентов с "
                "одного устройства",
                "переводы с карты на карту от контрагентов криптобирж и P2P-площадок или в их пользу",
            ),
        },
    ),
    Typology(
        name="exchanger_cashout",
        version=1,
        title={
            "en": "Cash-out through an unlicensed exchanger",
            "ru": "Обналичивание через нелицензированный обменник",
        },
        description={
            "en": "Money passes through quickly and most of it goes to one collection point that no licensed "
            "service owns: a known unlicensed exchanger, or a wallet collecting from many senders the way a "
            "shadow exchanger's deposit wallet does. The crypto leaves the chain as cash or a card payment there.",
            "ru": "Средства быстро проходят через адрес, и большая их часть уходит в одну точку сбора, не "
            "принадлежащую лицензированной организации: известному нелицензированному обменнику или кошельку, "
            "собирающему средства от многих отправителей, как депозитный кошелёк теневого обменника. Там "
            "криптовалюта превращается в наличные или перевод на карту.",
        },
        all_of=(
            _c("senders", ">=", 3),
            _c("pass_through", ">=", 0.8),
            _c("dwell_hours", "<=", 72),
            _c("top_sink_share", ">=", 0.6),
            _c("unlicensed_sink_share", ">=", 0.9),
        ),
        any_of=(_c("exchanger_share", ">=", 0.5), _c("sink_senders", ">=", 10)),
        fiat_red_flags={
            "en": (
                "incoming card transfers from many individuals described as payment for crypto (P2P), followed by "
                "cash withdrawals or transfers to the same few cards",
                "transfers to or from persons or firms advertising crypto exchange without an AFSA or National Bank "
                "licence",
                "the customer's account credited shortly after the customer's wallet sent crypto to an exchanger",
                "round amounts and frequent cash withdrawals at ATMs in different cities",
            ),
            "ru": (
                "входящие переводы на карту от многих физических лиц с назначением «оплата за криптовалюту» (P2P), "
                "затем снятие наличных или переводы на одни и те же карты",
                "переводы лицам или компаниям, рекламирующим обмен криптовалюты без лицензии МФЦА (AFSA) или "
                "Национального банка, или от них",
                "зачисление на счёт клиента вскоре после того, как его кошелёк отправил криптовалюту обменнику",
                "круглые суммы и частое снятие наличных в банкоматах разных городов",
            ),
        },
    ),
    Typology(
        name="peel_chain",
        version=1,
        title={"en": "Peel chain", "ru": "«Отслаивающая» цепочка (peel chain)"},
        description={
            "en": "A large amount moves through a sequence of fresh wallets; each passes on most of what arrived "
            "to the next one and peels off a smaller part to a cash-out point. The chain breaks the amount down "
            "without any wallet holding it for long.",
            "ru": "Крупная сумма проходит через последовательность новых кошельков; каждый передаёт большую часть "
            "полученного следующему и «отслаивает» меньшую часть в точку обналичивания. Цепочка дробит сумму так, "
            "что ни один кошелёк не держит её долго.",
        },
        all_of=(_c("peel_chain_length", ">=", 3),),
        any_of=(),
        fiat_red_flags={
            "en": (
                "several customers (often related, or sharing an address or device) receiving similar, decreasing "
                "amounts one after another within hours",
                "each payment withdrawn in cash or sent to an exchange platform soon after it arrives",
                "accounts opened recently and used only for such a sequence",
            ),
            "ru": (
                "несколько клиентов (часто связанных или с общим адресом либо устройством) один за другим в "
                "течение нескольких часов получают схожие убывающие суммы",
                "каждое поступление вскоре снимается наличными или отправляется на биржевую площадку",
                "счета открыты недавно и используются только для такой последовательности",
            ),
        },
    ),
    Typology(
        name="structuring",
        version=1,
        title={"en": "Structuring below reporting thresholds", "ru": "Дробление сумм ниже пороговых значений"},
        description={
            "en": "Many transfers fall just below a reporting or identification threshold (by default the "
            "500,000 tenge threshold): an amount is split so that no single transfer triggers identification or a "
            "report.",
            "ru": "Многие переводы чуть ниже порога обязательного контроля или идентификации (по умолчанию 500 000 "
            "тенге): сумма дробится так, чтобы ни один перевод не требовал идентификации или сообщения.",
        },
        all_of=(_c("near_threshold_count", ">=", 3), _c("near_threshold_share", ">=", 0.3)),
        any_of=(),
        fiat_red_flags={
            "en": (
                "repeated deposits, transfers or withdrawals just under the identification or reporting threshold, "
                "on the same day or on consecutive days",
                "the same amounts split between several accounts of the customer or of related persons",
                "cash deposits at several branches or ATMs the same day",
            ),
            "ru": (
                "повторяющиеся зачисления, переводы или снятия чуть ниже порога идентификации или сообщения, в один "
                "день или в соседние дни",
                "одни и те же суммы, разделённые между несколькими счетами клиента или связанных лиц",
                "взносы наличных в нескольких отделениях или банкоматах в один день",
            ),
        },
    ),
)

BY_NAME: dict[str, Typology] = {t.name: t for t in TYPOLOGIES}


def match(ind: Indicators, min_transfers: int) -> dict[str, BoolArray]:
    """Per typology, which nodes match it (nodes with fewer than ``min_transfers`` transfers never do)."""
    enough = (ind["transfers_in"] + ind["transfers_out"]) >= min_transfers
    return {t.name: t.matches(ind) & enough for t in TYPOLOGIES}


def _number(x: float) -> float | int:
    if float(x).is_integer():
        return int(x)
    return round(float(x), 4)


def red_flags(
    ind: Indicators, matched: dict[str, BoolArray], nodes: np.ndarray[Any, Any]
) -> list[list[dict[str, Any]]]:
    """Per node given, the red flags it raised: each typology matched with the indicator values that matched it
    (for ``any_of``, the conditions that held)."""
    columns = {name: ind.values[name][nodes] for name in ind.values}
    pcts = {name: ind.percentile(name, nodes) for name in ind.values}
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(nodes))]
    for t in TYPOLOGIES:
        hit = matched[t.name][nodes]
        for row in np.flatnonzero(hit).tolist():
            used = list(t.all_of) + [c for c in t.any_of if _holds(c, float(columns[c.indicator][row]))]
            out[row].append(
                {
                    "typology": t.name,
                    "version": t.version,
                    "title": t.title["en"],
                    "indicators": [
                        {
                            "name": c.indicator,
                            "value": _number(columns[c.indicator][row]),
                            "op": c.op,
                            "threshold": _number(c.threshold),
                            "percentile": _number(pcts[c.indicator][row]),
                        }
                        for c in used
                    ],
                }
            )
    return out


def _holds(c: Condition, x: float) -> bool:
    return not np.isnan(x) and (x >= c.threshold if c.op == ">=" else x <= c.threshold)


def indicator_values(ind: Indicators, nodes: np.ndarray[Any, Any]) -> list[dict[str, dict[str, float | int | None]]]:
    """Every indicator of each node given: ``{name: {"value", "percentile"}}`` (null where undefined)."""
    cols = {name: (ind.values[name][nodes], ind.percentile(name, nodes)) for name in ind.values}
    out: list[dict[str, dict[str, float | int | None]]] = []
    for row in range(len(nodes)):
        item: dict[str, dict[str, float | int | None]] = {}
        for name, (vals, pcts) in cols.items():
            v, p = float(vals[row]), float(pcts[row])
            item[name] = {
                "value": None if np.isnan(v) else _number(v),
                "percentile": None if np.isnan(p) else _number(p),
            }
        out.append(item)
    return out


def public(t: Typology) -> dict[str, Any]:
    """What ``GET /v1/typologies`` says of one typology."""
    return {
        "name": t.name,
        "version": t.version,
        "title": t.title,
        "description": t.description,
        "all_of": [c.public() for c in t.all_of],
        "any_of": [c.public() for c in t.any_of],
        "fiat_red_flags": {lang: list(items) for lang, items in t.fiat_red_flags.items()},
    }
