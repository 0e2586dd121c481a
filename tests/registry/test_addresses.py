"""Address rules per chain: valid forms normalise, invalid ones name the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from chains.addresses import AddressError, chain_family, detect_chain, normalize

VALID = [
    # (input, chain given, expected chain, expected normalised)
    ("0x8589427373d6d84e98730d7795d8f6f8731fda16", None, "evm", "0x8589427373d6d84e98730d7795d8f6f8731fda16"),
    ("0x8589427373D6D84E98730D7795D8F6F8731FDA16", "eth", "eth", "0x8589427373d6d84e98730d7795d8f6f8731fda16"),
    (
        to_checksum_address("0x8589427373d6d84e98730d7795d8f6f8731fda16"),
        "bsc",
        "bsc",
        "0x8589427373d6d84e98730d7795d8f6f8731fda16",
    ),
    ("TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre", None, "tron", "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"),
    ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", None, "btc", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "btc", "btc", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", None, "btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", "btc", "btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    (
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        None,
        "btc",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
    ),
    (
        "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq",
        "bch",
        "bch",
        "bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq",
    ),
    ("LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", "ltc", "ltc", "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb"),
    ("rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66", "xrp", "xrp", "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66"),
    ("t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL", "zec", "zec", "t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL"),
]


@pytest.mark.parametrize(("raw", "chain", "want_chain", "want"), VALID)
def test_valid_addresses_normalise(raw: str, chain: str | None, want_chain: str, want: str) -> None:
    n = normalize(raw, chain)
    assert (n.chain, n.address) == (want_chain, want)


def test_tron_hex_form_becomes_base58() -> None:
    assert normalize("41" + "0" * 40, "tron").address == "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"


INVALID = [
    ("0x8589427373d6D84e98730d7795d8f6f8731fda16", None, "checksum"),  # one letter's case flipped
    ("0x8589427373d6d84e98730d7795d8f6f8731fda1", None, "length"),
    ("0x8589427373d6d84e98730d7795d8f6f8731fdz16", None, "characters"),
    ("8589427373d6d84e98730d7795d8f6f8731fda16aa", "eth", "prefix"),
    ("TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLrf", None, "checksum"),
    ("TBHTJqAy4DhHhmT3dNceJYNRz4SdLofL0e", None, "characters"),
    ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", None, "checksum"),
    ("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "btc", "prefix"),  # a Tron address in the OFAC XBT list
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdd", None, "checksum"),
    ("bc1qAr0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", None, "characters"),  # mixed case
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mbq", None, "characters"),  # b is not in bech32
    ("", None, "length"),
    ("x" * 300, None, "length"),
    ("hello", None, "format"),
    ("0x8589427373d6d84e98730d7795d8f6f8731fda16", "doge", "chain"),
]


@pytest.mark.parametrize(("raw", "chain", "reason"), INVALID)
def test_invalid_addresses_name_the_reason(raw: str, chain: str | None, reason: str) -> None:
    with pytest.raises(AddressError) as e:
        normalize(raw, chain)
    assert e.value.reason == reason
    assert e.value.message


def test_bech32m_v1_with_bech32_checksum_is_refused() -> None:
    # BIP-350 test vector: a v1 program encoded with the old bech32 constant is invalid.
    with pytest.raises(AddressError) as e:
        normalize("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx", "btc")
    assert e.value.reason in ("checksum", "length")


def test_evm_networks_share_one_family() -> None:
    assert {chain_family(c) for c in ("eth", "bsc", "polygon", "evm")} == {"evm"}
    assert chain_family("tron") == "tron"
    assert detect_chain("0xabc") == "evm"


@given(st.binary(min_size=20, max_size=20))
def test_any_evm_checksum_form_round_trips(raw: bytes) -> None:
    checksummed = to_checksum_address(raw)
    assert normalize(checksummed, "eth").address == checksummed.lower()


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    reason = None
    try:
        normalize(text)
    except AddressError as e:
        reason = e.reason
    assert reason in (None, "checksum", "length", "prefix", "characters", "format", "chain", "network")


VECTORS = Path(__file__).parent / "vectors"


def _vectors(name: str) -> Any:
    data = json.loads((VECTORS / name).read_text())
    assert data["source"], f"{name} names where its vectors come from"
    return data


CASHADDR = _vectors("cashaddr.json")
TESTNETS = _vectors("testnets.json")


def test_cashaddr_and_legacy_forms_of_one_address_are_one_key() -> None:
    """The spec's translation table: the legacy and CashAddr forms, with or without prefix, in either case, give
    one key, so a listing in one form matches a screening in the other."""
    for legacy, cashaddr in CASHADDR["translation"]["pairs"]:
        forms = [legacy, cashaddr, cashaddr.removeprefix("bitcoincash:"), cashaddr.upper()]
        keys = {normalize(f, "bch").address for f in forms}
        assert keys == {cashaddr}, (legacy, keys)


def test_cashaddr_spec_and_cashtokens_vectors_are_accepted() -> None:
    """Hashes of 20 to 64 bytes as the size bits say (P2SH32 among them); token-aware types fold onto P2PKH/P2SH."""
    for raw, canonical in CASHADDR["valid"]["cases"]:
        assert normalize(raw, "bch").address == canonical, raw
        n = normalize(raw)  # a prefixed or 42/61-character CashAddr is recognised without a chain
        assert (n.chain, n.address) == ("bch", canonical), raw


def test_cashaddr_refusals_name_the_reason() -> None:
    """Mixed case, test networks, foreign prefixes, bad checksums, and a version byte whose size bits contradict
    the hash or whose type is not a payment address."""
    wrong = []
    for raw, reason, why in CASHADDR["invalid"]["cases"]:
        try:
            got = normalize(raw, "bch").address
        except AddressError as e:
            if e.reason != reason:
                wrong.append((why, raw, f"{e.reason} instead of {reason}: {e.message}"))
        else:
            wrong.append((why, raw, f"accepted as {got}"))
    assert wrong == []


def test_testnet_and_regtest_addresses_are_refused_as_not_mainnet() -> None:
    """Bitcoin Core's and Litecoin Core's testnet/signet/regtest vectors: reason ``network``, with or without a
    chain, never ``characters`` or another chain's address."""
    wrong = []
    for raw, chain, why in TESTNETS["refused"]:
        for asked in (chain, None):
            if asked is None and raw[0] == "Q":
                continue  # Litecoin's testnet P2SH has no form that tells its chain: given without one, ``format``
            try:
                got = normalize(raw, asked).address
            except AddressError as e:
                if e.reason != "network" or "mainnet" not in e.message:
                    wrong.append((why, raw, asked, f"{e.reason}: {e.message}"))
            else:
                wrong.append((why, raw, asked, f"accepted as {got}"))
    assert wrong == []
    for raw, chain, why in TESTNETS["mainnet"]:
        assert normalize(raw, chain).chain == chain, why
