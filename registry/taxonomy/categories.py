"""The taxonomy is code, not data: a category's severity and action are policy, versioned with the release,
and a bank relies on them being the same in every worker."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from registry.errors import InvalidInput


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    severe = "severe"


SEVERITY_SCORE: dict[Severity, int] = {Severity.low: 25, Severity.medium: 50, Severity.high: 80, Severity.severe: 100}


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    severity: Severity
    action: str  # allow | review | block
    description: str


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in [
        Category("sanctions", Severity.severe, "block", "on an official sanctions list (OFAC, UN, national)"),
        Category("terrorist_financing", Severity.severe, "block", "funds raised or moved for terrorism"),
        Category("proliferation_financing", Severity.severe, "block", "financing of weapons of mass destruction"),
        Category("child_abuse", Severity.severe, "block", "payment for child sexual abuse material"),
        Category("ransomware", Severity.severe, "block", "ransom payments and their laundering"),
        Category("drug_trafficking", Severity.high, "block", "narcotics sales, including darknet shops"),
        Category("darknet_market", Severity.high, "block", "darknet marketplace wallets"),
        Category("stolen_funds", Severity.high, "block", "proceeds of hacks and thefts"),
        Category("fraud", Severity.high, "review", "investment scams, phishing, pig butchering"),
        Category("cybercrime", Severity.high, "review", "malware, extortion and other cybercrime"),
        Category("money_mule", Severity.high, "review", 'front-man ("mop", drop) accounts used to cash out'),
        Category("unlicensed_exchanger", Severity.medium, "review", "exchange service without an AFSA licence"),
        Category("mixer", Severity.medium, "review", "mixing or tumbling services"),
        Category("illegal_gambling", Severity.medium, "review", "unlicensed online casinos and betting"),
        Category("illegal_mining", Severity.low, "review", "mining with stolen or unlicensed power"),
    ]
}


@dataclass(frozen=True, slots=True)
class ConfidenceLevel:
    name: str
    value: int
    provenance: str


CONFIDENCE_LEVELS: list[ConfidenceLevel] = [
    ConfidenceLevel("court_decision", 100, "established by a court decision that entered into force"),
    ConfidenceLevel("forensic_investigation", 70, "traced by a forensic investigation in a criminal case"),
    ConfidenceLevel("authority_list", 60, "on an official list of a competent authority (e.g. OFAC)"),
    ConfidenceLevel("operational_information", 40, "operational information not yet confirmed"),
    ConfidenceLevel("partner_report", 30, "reported by a bank, exchange or foreign partner"),
    ConfidenceLevel("heuristic", 10, "inferred by clustering or behavioural heuristics"),
]


def category(name: str) -> Category:
    c = CATEGORIES.get(name)
    if c is None:
        raise InvalidInput(f"unknown category {name!r}; see GET /v1/categories for the list")
    return c
