"""What a citizen reads about a category: its plain meaning, and what a bank must do about such a wallet."""

from __future__ import annotations

from registry.console.web import N_, Labels

MEANING = {
    "sanctions": N_("The wallet is on an official sanctions list. Sending money to it breaks the law."),
    "terrorist_financing": N_("The wallet was used to raise or move money for terrorism."),
    "proliferation_financing": N_("The wallet was used to finance weapons of mass destruction."),
    "child_abuse": N_("The wallet was used to pay for material showing the sexual abuse of children."),
    "ransomware": N_("The wallet received ransom payments from victims of computer extortion, or launders them."),
    "drug_trafficking": N_("The wallet was used to sell drugs, including in online shops."),
    "darknet_market": N_("The wallet belongs to an illegal marketplace on the darknet."),
    "stolen_funds": N_("The wallet holds or moved money stolen in hacks or thefts."),
    "fraud": N_("The wallet was used by fraudsters: fake investments, phishing, romance scams."),
    "cybercrime": N_("The wallet was used in computer crime: malware, extortion and the like."),
    "money_mule": N_(
        "The wallet belongs to a money mule (a “mop”): someone who lets criminals pass stolen money through their "
        "account or card."
    ),
    "unlicensed_exchanger": N_("The wallet belongs to an exchange service that works without a licence."),
    "mixer": N_("The wallet belongs to a mixer, a service that hides where money came from."),
    "illegal_gambling": N_("The wallet belongs to an unlicensed online casino or betting site."),
    "illegal_mining": N_("The wallet is used for mining with stolen or unlicensed electricity."),
}

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

ACTION = {
    "block": N_("Banks must refuse payments to and from this wallet."),
    "review": N_("Banks must check payments involving this wallet before they carry them out, and may refuse them."),
    "allow": N_("Banks have no instruction about this wallet."),
}

LEVEL = {"low": N_("low"), "medium": N_("medium"), "high": N_("high"), "severe": N_("severe")}

LABELS: Labels = {"meaning": MEANING, "category": CATEGORY, "action": ACTION, "level": LEVEL}
