"""Address rules against published vectors and independently encoded addresses (survivors of ``make mutate``).

BIP-173/BIP-350 give valid and invalid segwit addresses, with why each invalid one is; Monero addresses are encoded
here with Monero's block base58 and pycryptodome's keccak (the product decodes them); base58check addresses with
another chain's version byte that look like Tron or Bitcoin ones must be refused, also by the batch path.
"""

from __future__ import annotations

import random

import base58
import pytest
from Crypto.Hash import keccak

from chains.addresses import AddressError, normalize, normalize_many

SEGWIT_VALID = [
    # BIP-350 mainnet vectors: v1 with a 40-byte program, v16 with 2 bytes, v2 with 16 bytes
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
    "BC1SW50QGDZ25J",
    "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
]

SEGWIT_INVALID = [
    # (BIP-173/350 mainnet vector, its reason in the BIP, ours)
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "bech32 instead of bech32m", "checksum"),
    ("BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "bech32 instead of bech32m", "checksum"),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "bech32m instead of bech32", "checksum"),
    ("bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "invalid character in checksum", "characters"),
    ("BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "invalid witness version", "format"),
    ("bc1pw5dgrnzv", "invalid program length (1 byte)", "length"),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
        "invalid program length (41 bytes)",
        "length",
    ),
    ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "invalid program length for witness version 0", "length"),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "zero padding of more than 4 bits", "format"),
    ("bc1gmk9yu", "empty data section", "length"),
]


@pytest.mark.parametrize("address", SEGWIT_VALID)
def test_bip350_valid_segwit_addresses_of_other_versions(address: str) -> None:
    n = normalize(address)
    assert (n.chain, n.address) == ("btc", address.lower())
    assert normalize_many([address]) in ([None], [("btc", address.lower())])


@pytest.mark.parametrize(("address", "why", "reason"), SEGWIT_INVALID)
def test_bip173_and_bip350_invalid_vectors_are_refused_with_the_reason(address: str, why: str, reason: str) -> None:
    with pytest.raises(AddressError) as refused:
        normalize(address)
    assert refused.value.reason == reason, why
    assert normalize_many([address]) == [None]


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BLOCK_CHARS = {1: 2, 2: 3, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11}


def _monero(net: int, body: bytes) -> str:
    """Monero's base58 (8-byte blocks, each to a fixed number of characters) over network byte, keys, checksum."""
    data = bytes([net]) + body
    data += keccak.new(data=data, digest_bits=256).digest()[:4]
    out = []
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        n, chars = int.from_bytes(block, "big"), []
        for _ in range(_BLOCK_CHARS[len(block)]):
            n, digit = divmod(n, 58)
            chars.append(_B58[digit])
        out.append("".join(reversed(chars)))
    return "".join(out)


def test_monero_addresses() -> None:
    rng = random.Random(41)
    keys = rng.randbytes(64)
    # The Monero General Fund's published donation address
    fund = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
    standard, sub, integrated = _monero(0x12, keys), _monero(0x2A, keys), _monero(0x13, keys + rng.randbytes(8))
    assert (len(standard), len(sub), len(integrated)) == (95, 95, 106)
    for address in (fund, standard, sub, integrated):
        n = normalize(address, "xmr")
        assert (n.chain, n.address) == ("xmr", address)
    refused = {
        "checksum": standard[:50] + ("2" if standard[50] != "2" else "3") + standard[51:],
        "network": _monero(0x35, keys),  # testnet
        "prefix": _monero(0x11, keys),
        "length": standard[:-1],
        "characters": standard[:10] + "0" + standard[11:],  # no 0 in base58
    }
    for reason, address in refused.items():
        with pytest.raises(AddressError) as e:
            normalize(address, "xmr")
        assert e.value.reason == reason, (reason, address)
    with pytest.raises(AddressError) as overflow:
        normalize("z" * 11 + standard[11:], "xmr")  # 58^11 - 1 does not fit in 8 bytes
    assert overflow.value.reason == "characters"
    with pytest.raises(AddressError) as stagenet:
        normalize(_monero(0x24, keys), "xmr")
    assert stagenet.value.reason == "network"
    with pytest.raises(AddressError) as integrated_length:
        normalize(_monero(0x13, keys), "xmr")  # an integrated address's byte with a standard length
    assert integrated_length.value.reason == "prefix"


def _lookalike(first: str, good_versions: set[int]) -> str:
    """A valid base58check of a 21-byte payload whose version byte is not ``good_versions`` and whose text starts
    like theirs (``T``, ``3``): another chain's address in a Tron or Bitcoin shape."""
    rng = random.Random(3)
    for version in range(256):
        if version in good_versions:
            continue
        for _ in range(4):
            text = base58.b58encode_check(bytes([version]) + rng.randbytes(20)).decode()
            if text[0] == first and len(text) == 34:
                return text
    raise AssertionError(f"no version byte gives {first}…")


def test_base58check_with_another_version_is_refused_however_it_looks() -> None:
    tron_like, btc_like = _lookalike("T", {0x41}), _lookalike("3", {0x05})
    for address, reason in ((tron_like, "prefix"), (btc_like, "prefix")):
        with pytest.raises(AddressError) as refused:
            normalize(address)
        assert refused.value.reason == reason, address
    assert normalize_many([tron_like, btc_like]) == [None, None]
    with pytest.raises(AddressError) as testnet:
        normalize(base58.b58encode_check(b"\x6f" + bytes(20)).decode())
    assert testnet.value.reason == "network"


def test_chain_detection_and_length_edges() -> None:
    hex_tron = "41" + "ab" * 20
    assert normalize(hex_tron).chain == "tron" and normalize(hex_tron).address.startswith("T")
    with pytest.raises(AddressError) as short:
        normalize("41" + "ab" * 19)
    assert short.value.reason == "format"
    for too_long in ("0x" + "a" * 127, "x" * 129):
        with pytest.raises(AddressError) as e:
            normalize(too_long)
        assert e.value.reason == "length" and "129 characters" in e.value.message
    with pytest.raises(AddressError) as at_limit:
        normalize("1" * 128)  # 128 is allowed in length: refused for its form
    assert at_limit.value.reason == "format"
