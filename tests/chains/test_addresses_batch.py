"""``normalize_many`` (compiled, a batch at once) accepts exactly what ``normalize`` accepts in the common forms.

The references are independent of the code under test: EIP-55 addresses are made by ``eth_utils`` (the batch path
uses ``cchecksum``), bech32/bech32m ones by the BIP-173/BIP-350 reference encoder written out below (the batch path
uses a numpy table), base58check ones by the ``base58`` package (the batch path uses ``based58``); and each answer
is compared with ``normalize``, the one-by-one path whose refusals name the reason.
"""

from __future__ import annotations

import random

import base58
import pytest
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.addresses import AddressError, normalize, normalize_many

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32, BECH32M = 1, 0x2BC830A3


def _ref_polymod(values: list[int]) -> int:
    """BIP-173's reference checksum, bit by bit."""
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _ref_encode(hrp: str, data: list[int], const: int) -> str:
    expanded = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    mod = _ref_polymod(expanded + data + [0] * 6) ^ const
    return hrp + "1" + "".join(CHARSET[d] for d in data + [(mod >> 5 * (5 - i)) & 31 for i in range(6)])


def _groups(program: bytes) -> list[int]:
    acc, bits, out = 0, 0, []
    for b in program:
        acc, bits = (acc << 8) | b, bits + 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def segwit(version: int, program: bytes, const: int | None = None) -> str:
    return _ref_encode("bc", [version, *_groups(program)], const or (BECH32 if version == 0 else BECH32M))


def _reference(address: str) -> tuple[str, str] | None:
    try:
        n = normalize(address)
    except AddressError:
        return None
    return n.chain, n.address


def _common(rng: random.Random) -> str:
    kind = rng.randrange(9)
    raw = rng.randbytes(20)
    if kind == 0:
        return "0x" + raw.hex()
    if kind == 1:
        return to_checksum_address(raw)
    if kind == 2:
        return "0x" + raw.hex().upper()
    if kind == 3:
        return base58.b58encode_check(b"\x41" + raw).decode()
    if kind == 4:
        return base58.b58encode_check(rng.choice((b"\x00", b"\x05")) + raw).decode()
    if kind == 5:
        return segwit(0, raw)
    if kind == 6:
        return segwit(0, rng.randbytes(32)).upper()
    if kind == 7:
        return segwit(1, rng.randbytes(32))
    return segwit(1, raw)  # a 20-byte v1 program: not taproot, but a valid BIP-350 address


def _damaged(address: str, rng: random.Random) -> str:
    """One character replaced, or one letter's case flipped: mostly invalid, sometimes another valid form."""
    i = rng.randrange(len(address))
    if rng.random() < 0.5 and address[i].isalpha():
        return address[:i] + address[i].swapcase() + address[i + 1 :]
    return address[:i] + rng.choice("0123456789abcdefABCDEFqpzry9x8gf2tvdw0s3jn54khce6mua7lTXO1!é") + address[i + 1 :]


def test_valid_common_forms_are_accepted_as_normalize_accepts_them() -> None:
    rng = random.Random(17)
    addresses = [_common(rng) for _ in range(3_000)]
    got = normalize_many(addresses)
    assert None not in got
    assert got == [_reference(a) for a in addresses]


def test_damaged_addresses_are_never_accepted_where_normalize_refuses() -> None:
    rng = random.Random(23)
    damaged = [_damaged(_common(rng), rng) for _ in range(5_000)]
    got = normalize_many(damaged)
    reference = [_reference(a) for a in damaged]
    wrong = [(a, g, r) for a, g, r in zip(damaged, got, reference, strict=True) if g is not None and g != r]
    assert wrong == []
    # The damage leaves some valid (a flipped case in an upper-case EVM address, a digit for a digit would not):
    # the batch path may leave an address to normalize, but most of what normalize accepts it accepts too.
    accepted = sum(g is not None for g in got)
    assert accepted >= 0.9 * sum(r is not None for r in reference)
    assert 0 < accepted < len(damaged) / 2


BIP350 = [
    # (address, valid): the mainnet vectors of BIP-173 and BIP-350 in the lengths the batch path takes
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", True),
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", True),
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", False),  # checksum
    ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", False),  # v1 with bech32, not bech32m
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", False),  # v0 with bech32m, not bech32
]


@pytest.mark.parametrize(("address", "valid"), BIP350)
def test_bip173_and_bip350_vectors(address: str, valid: bool) -> None:
    expected = ("btc", address.lower()) if valid else None
    assert normalize_many([address]) == [expected]
    assert _reference(address) == expected


def test_refusals_the_checksum_alone_would_not_catch() -> None:
    rng = random.Random(5)
    program = rng.randbytes(32)
    good = segwit(0, program)
    groups = [0, *_groups(program)]
    padded = _ref_encode("bc", groups[:-1] + [groups[-1] | 1], BECH32)  # a valid checksum over non-zero padding
    mixed_case = good[:10] + good[10:].upper()
    wrong_version = _ref_encode("bc", [2, *_groups(program)], BECH32M)  # v2: valid, but not a form taken here
    evm = to_checksum_address(rng.randbytes(20))
    evm_one_flip = evm[:-1] + evm[-1].swapcase() if evm[-1].isalpha() else "0x" + "Ab" * 20
    assert normalize_many([good, padded, mixed_case, wrong_version, evm_one_flip]) == [
        ("btc", good),
        None,
        None,
        None,
        None,
    ]
    assert _reference(padded) is None and _reference(mixed_case) is None and _reference(evm_one_flip) is None
    assert _reference(wrong_version) == ("btc", wrong_version)  # left to normalize, which accepts it


def test_other_chains_and_forms_are_left_to_normalize() -> None:
    others = [
        " 0x8589427373d6d84e98730d7795d8f6f8731fda16",  # whitespace: normalize strips it
        "0X8589427373D6D84E98730D7795D8F6F8731FDA16",
        "41" + "0" * 40,  # Tron hex
        "ltc1qg82tj4g6pwq5zt6mmud4r9m7hjpwr0ul5yjn5w",
        "bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq",
        "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb",
        "",
        "T" * 34,
    ]
    assert normalize_many(others) == [None] * len(others)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("0123456789abcdefABCDEFxTbc1qpzry9lé "), max_size=64), max_size=8))
def test_arbitrary_text_is_accepted_only_where_normalize_accepts_it(texts: list[str]) -> None:
    for text, got in zip(texts, normalize_many(texts), strict=True):
        assert got is None or got == _reference(text)


def test_empty_batch() -> None:
    assert normalize_many([]) == []
