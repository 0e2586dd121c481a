"""Stored values as people read them: categories, statuses, risk levels, actions, roles, audit actions.

The English text is the msgid (marked with ``N_`` for extraction); pages show it in their language through the
template function ``label(kind, value)``. A value missing here is shown as stored.
"""

from __future__ import annotations

from registry.console.i18n import N_
from registry.console.web import Labels

CATEGORY = {
    "sanctions": N_("Sanctions"),
    "terrorist_financing": N_("Terrorist financing"),
    "proliferation_financing": N_("Proliferation financing"),
    "child_abuse": N_("Child sexual abuse material"),
    "ransomware": N_("Ransomware"),
    "drug_trafficking": N_("Drug trafficking"),
    "darknet_market": N_("Darknet market"),
    "stolen_funds": N_("Stolen funds"),
    "fraud": N_("Fraud"),
    "cybercrime": N_("Cybercrime"),
    "money_mule": N_("Money mule (drop account)"),
    "unlicensed_exchanger": N_("Unlicensed exchanger"),
    "mixer": N_("Mixer"),
    "illegal_gambling": N_("Illegal gambling"),
    "illegal_mining": N_("Illegal mining"),
}

STATUS = {
    "pending": N_("pending"),
    "active": N_("active"),
    "rejected": N_("rejected"),
    "delisted": N_("delisted"),
    "expired": N_("expired"),
    "confirmed": N_("confirmed"),
    "cancelled": N_("cancelled"),
}

LEVEL = {"low": N_("low"), "medium": N_("medium"), "high": N_("high"), "severe": N_("severe")}

ACTION = {"allow": N_("allow"), "review": N_("review"), "block": N_("block")}

ROLE = {
    "investigator": N_("investigator"),
    "supervisor": N_("supervisor"),
    "admin": N_("administrator"),
    "bank": N_("bank"),
    "isp": N_("internet provider"),
}

SECRECY = {"restricted": N_("restricted"), "confidential": N_("confidential"), "secret": N_("secret")}

DIRECTION = {
    "in": N_("received from"),
    "out": N_("sent to"),
    "incoming": N_("incoming"),
    "outgoing": N_("outgoing"),
    "forward": N_("forward"),
    "backward": N_("backward"),
}

OUTCOME = {"ok": N_("ok"), "failed": N_("failed"), "error": N_("error"), "running": N_("running")}

REQUEST_KIND = {
    "listing.delist": N_("delist a wallet"),
    "domain.delist": N_("delist a domain"),
    "licensed_domain.map": N_("map a domain to a licensed firm"),
}

VERDICT = {
    "licensed": N_("licensed"),
    "blocked": N_("blocked as an unlicensed exchanger"),
    "lookalike": N_("looks like a licensed brand"),
    "unknown": N_("no information"),
}

CONFIDENCE = {
    "court_decision": N_("court decision"),
    "forensic_investigation": N_("forensic investigation"),
    "authority_list": N_("authority list"),
    "operational_information": N_("operational information"),
    "partner_report": N_("partner report"),
    "heuristic": N_("heuristic"),
}

LABELS: Labels = {
    "confidence": CONFIDENCE,
    "category": CATEGORY,
    "status": STATUS,
    "level": LEVEL,
    "action": ACTION,
    "role": ROLE,
    "secrecy": SECRECY,
    "direction": DIRECTION,
    "outcome": OUTCOME,
    "request": REQUEST_KIND,
    "verdict": VERDICT,
}
