"""Per-chain address rules.

Libraries do the encodings (``base58``/``based58`` for base58check, ``bech32`` for segwit, ``cchecksum`` for EIP-55);
this module only decides which rule applies and turns their failures into reasons a caller understands. Many
addresses at once, in the common forms: ``chains.addresses.batch``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

import base58
import based58

Reason = Literal["checksum", "length", "prefix", "characters", "format", "chain", "network"]

EVM_NETWORKS: frozenset[str] = frozenset(
    {"eth", "bsc", "polygon", "arbitrum", "optimism", "base", "avalanche", "etc", "fantom", "linea"}
)
"""EVM networks share one address space: an address is the same key on all of them."""

BASE58_VERSIONS: dict[str, frozenset[bytes]] = {
    "btc": frozenset({b"\x00", b"\x05"}),
    "ltc": frozenset({b"\x30", b"\x32", b"\x05"}),
    "bsv": frozenset({b"\x00", b"\x05"}),
    "btg": frozenset({b"\x26", b"\x17"}),
    "dash": frozenset({b"\x4c", b"\x10"}),
    "xvg": frozenset({b"\x1e", b"\x21"}),
    "zec": frozenset({b"\x1c\xb8", b"\x1c\xbd"}),
    "bch": frozenset({b"\x00", b"\x05"}),
    "tron": frozenset({b"\x41"}),
}
"""Version bytes of the base58check forms: a valid checksum under the wrong version is a wrong-chain address."""

_TEST_P2PKH_P2SH = frozenset({b"\x6f", b"\xc4"})
TESTNET_BASE58_VERSIONS: dict[str, frozenset[bytes]] = {
    "btc": _TEST_P2PKH_P2SH,
    "bch": _TEST_P2PKH_P2SH,
    "bsv": _TEST_P2PKH_P2SH,
    "btg": _TEST_P2PKH_P2SH,
    "ltc": _TEST_P2PKH_P2SH | {b"\x3a"},
    "dash": frozenset({b"\x8c", b"\x13"}),
    "zec": frozenset({b"\x1d\x25", b"\x1c\xba"}),
}
"""Version bytes of the chains' testnet and regtest base58 forms (``m…``/``n…``/``2…`` on Bitcoin and its forks):
refused with reason ``network`` rather than taken for another chain's address. Tron and the EVM networks use the
same format on their testnets, so nothing can tell those apart."""

SEGWIT_HRP: dict[str, str] = {"btc": "bc", "ltc": "ltc"}
SEGWIT_TEST_HRP: dict[str, tuple[str, ...]] = {"btc": ("tb", "bcrt"), "ltc": ("tltc", "rltc")}
"""BIP-173 human-readable parts of testnet/signet and regtest."""

CASHADDR_PREFIX = "bitcoincash"
CASHADDR_TEST_PREFIXES = ("bchtest", "bchreg")

LISTING_CHAINS: frozenset[str] = EVM_NETWORKS | frozenset(BASE58_VERSIONS) | {"evm", "xrp", "xmr"}
"""Chains an address may be listed on. Only btc, tron and the EVM networks have chain adapters; the others are
here because official lists (OFAC) name addresses on them and a bank may still screen them."""

_B58_ALPHABET = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_B58_RE = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_VERSION_LEN = {chain: len(next(iter(v))) for chain, v in BASE58_VERSIONS.items()}
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_EVM_FAST = re.compile(r"0x[0-9a-f]{40}")
_BECH32_CHARS = set("qpzry9x8gf2tvdw0s3jn54khce6mua7l")


class AddressError(ValueError):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    chain: str
    """The network asked for, or ``evm`` for an EVM address given without one."""
    address: str

    @property
    def family(self) -> str:
        return chain_family(self.chain)


def chain_family(chain: str) -> str:
    """``evm`` for every EVM network (one address space), else the chain itself."""
    return "evm" if chain in EVM_NETWORKS or chain == "evm" else chain


def detect_chain(address: str) -> str:
    """Guess the chain of an address given without one; ``evm`` for the EVM address space."""
    a = address.strip()
    low = a.lower()
    if low.startswith("0x"):
        return "evm"
    if low.startswith(("bc1", "tb1", "bcrt1")):
        return "btc"
    if low.startswith(("ltc1", "tltc1", "rltc1")):
        return "ltc"
    if low.startswith((CASHADDR_PREFIX + ":",) + tuple(p + ":" for p in CASHADDR_TEST_PREFIXES)):
        return "bch"
    if low[:1] in ("q", "p", "z", "r") and len(low) in (42, 61) and set(low) <= _BECH32_CHARS:
        return "bch"  # CashAddr without its prefix (20- and 32-byte hashes)
    if a.startswith("T") and len(a) == 34:
        return "tron"
    if len(a) == 42 and a[:2] == "41" and _HEX40.match(a[2:]):
        return "tron"
    if a[:1] in ("1", "3", "m", "n", "2") and 25 <= len(a) <= 35:
        return "btc"  # m…, n…, 2…: Bitcoin testnet, refused with reason ``network`` by the Bitcoin rule
    raise AddressError("format", f"cannot tell the chain of {a!r}; give the chain explicitly")


def normalize(address: str, chain: str | None = None) -> NormalizedAddress:
    if not isinstance(address, str):
        raise AddressError("format", "address must be a string")
    a = address.strip()
    if not a:
        raise AddressError("length", "address is empty")
    if len(a) > 128:
        raise AddressError("length", f"address is {len(a)} characters long; no supported chain uses more than 128")
    fast = _fast_path(a, chain)
    if fast is not None:
        return fast
    c = (chain or "").strip().lower() or detect_chain(a)
    if c not in LISTING_CHAINS:
        raise AddressError("chain", f"unknown chain {c!r}; known: {', '.join(sorted(LISTING_CHAINS))}")
    if chain_family(c) == "evm":
        return NormalizedAddress(c, _evm(a))
    if c == "tron":
        return NormalizedAddress(c, _tron(a))
    if c in SEGWIT_HRP and a.lower().startswith(SEGWIT_HRP[c] + "1"):
        return NormalizedAddress(c, _segwit(a, SEGWIT_HRP[c]))
    for hrp in SEGWIT_TEST_HRP.get(c, ()):
        if a.lower().startswith(hrp + "1"):
            _segwit(a, hrp)
            raise AddressError("network", f"{hrp}1… is a {c} testnet or regtest address; only mainnet is listed")
    if c == "bch":
        return NormalizedAddress(c, _bch(a))
    if c == "xrp":
        return NormalizedAddress(c, _xrp(a))
    if c == "xmr":
        return NormalizedAddress(c, _monero(a))
    return NormalizedAddress(c, _base58check(a, c))


def _fast_path(a: str, chain: str | None) -> NormalizedAddress | None:
    """The forms banks send most (lowercase EVM, Tron, legacy Bitcoin), validated with one regex or one Rust
    base58check call. Anything else, including every invalid address, takes the full path, which names the
    reason."""
    c = chain.strip().lower() if chain else None
    if a.startswith("0x"):
        if (c is None or c in EVM_NETWORKS or c == "evm") and _EVM_FAST.fullmatch(a):
            return NormalizedAddress(c or "evm", a)
        return None
    first = a[:1]
    if first == "T" and len(a) == 34 and c in (None, "tron"):
        try:
            raw = based58.b58decode_check(a.encode())
        except ValueError:
            return None
        return NormalizedAddress("tron", a) if len(raw) == 21 and raw[0] == 0x41 else None
    if first in ("1", "3") and 26 <= len(a) <= 35 and c in (None, "btc"):
        try:
            raw = based58.b58decode_check(a.encode())
        except ValueError:
            return None
        return NormalizedAddress("btc", a) if len(raw) == 21 and raw[0] in (0, 5) else None
    return None


def _evm(a: str) -> str:
    if _EVM_FAST.fullmatch(a):  # the lowercase form banks mostly send: no checksum to check
        return a
    if not a[:2].lower() == "0x":
        raise AddressError("prefix", "an EVM address starts with 0x")
    body = a[2:]
    if not all(ch in "0123456789abcdefABCDEF" for ch in body):
        raise AddressError("characters", "an EVM address has only hexadecimal digits after 0x")
    if len(body) != 40:
        raise AddressError("length", f"an EVM address has 40 hex digits after 0x, not {len(body)}")
    if body != body.lower() and body != body.upper() and _checksummed("0x" + body) != "0x" + body:
        raise AddressError("checksum", "mixed-case EVM address fails its EIP-55 checksum")
    return "0x" + body.lower()


def _checksummed(address: str) -> str:
    """EIP-55 (keccak and the case rule) in C; imported here, as only a mixed-case address needs it."""
    from cchecksum import to_checksum_address

    return to_checksum_address(address)


def _tron(a: str) -> str:
    if len(a) == 42 and _HEX40.match(a[2:]) and a[:2] == "41":
        raw = bytes.fromhex(a)
        return base58.b58encode_check(raw).decode()
    if not a.startswith("T"):
        raise AddressError("prefix", "a Tron address starts with T (base58) or 41 (hex)")
    return _base58check(a, "tron", expect_len=21)


def _base58check(a: str, chain: str, expect_len: int | None = None) -> str:
    _base58_payload(a, chain, expect_len)
    return a


def _base58_payload(a: str, chain: str, expect_len: int | None = None) -> bytes:
    """The checked payload (version and hash) of a mainnet base58check address of ``chain``."""
    if not _B58_RE.fullmatch(a):
        bad = sorted(set(a) - _B58_ALPHABET)
        raise AddressError("characters", f"characters {''.join(bad)!r} are not base58")
    versions = BASE58_VERSIONS.get(chain)
    if versions is None:
        raise AddressError("chain", f"chain {chain!r} has no base58 addresses")
    # based58 (Rust) decodes in ~1 us where the pure-Python base58 package takes ~15 us: this runs for every
    # address of a 10,000-address screening batch.
    raw = based58.b58decode(a.encode())
    vlen = _VERSION_LEN[chain]
    want = expect_len or (vlen + 20)
    if len(raw) != want + 4:
        raise AddressError("length", f"a {chain} address decodes to {want + 4} bytes, this one to {len(raw)}")
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        raise AddressError("checksum", f"{chain} address fails its base58check checksum")
    if payload[:vlen] not in versions:
        if payload[:vlen] in TESTNET_BASE58_VERSIONS.get(chain, ()):
            raise AddressError(
                "network",
                f"version byte 0x{payload[:vlen].hex()} is a {chain} testnet or regtest address; only "
                "mainnet is listed",
            )
        raise AddressError("prefix", f"version byte 0x{payload[:vlen].hex()} is not a {chain} mainnet address")
    return payload


def _segwit(a: str, hrp: str) -> str:
    # The reason checks are ours (the bech32 package only says valid or not) so the caller learns why.
    from bech32 import convertbits

    if a != a.lower() and a != a.upper():
        raise AddressError("characters", "a bech32 address is all lower case or all upper case")
    low = a.lower()
    data_part = low[len(hrp) + 1 :]
    bad = sorted(set(data_part) - _BECH32_CHARS)
    if bad:
        raise AddressError("characters", f"characters {''.join(bad)!r} are not bech32")
    if len(low) > 90 or len(data_part) < 6 + 1:
        raise AddressError("length", "bech32 address length out of range")
    got_hrp, data, spec = _bech32_decode_any(low)
    if got_hrp is None or data is None:
        raise AddressError("checksum", "bech32 address fails its checksum")
    if got_hrp != hrp:
        raise AddressError("prefix", f"expected prefix {hrp}1")
    witver = data[0]
    prog = convertbits(data[1:], 5, 8, False)
    if prog is None or witver > 16:
        raise AddressError("format", "invalid witness program")
    if len(prog) < 2 or len(prog) > 40 or (witver == 0 and len(prog) not in (20, 32)):
        raise AddressError("length", f"witness program of {len(prog)} bytes is not valid for version {witver}")
    if (witver == 0) != (spec == "bech32"):
        raise AddressError("checksum", "witness v0 uses bech32 and v1+ bech32m; this address mixes them")
    return low


_BECH32M_CONST = 0x2BC830A3


def _polymod_table() -> list[int]:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    table = []
    for b in range(32):
        x = 0
        for i in range(5):
            if (b >> i) & 1:
                x ^= gen[i]
        table.append(x)
    return table


_POLYMOD_TABLE = _polymod_table()


def _polymod(values: list[int]) -> int:
    """BIP-173 checksum, table-driven (the XOR of generators per top-5-bit pattern is precomputed): 5x faster."""
    chk = 1
    table = _POLYMOD_TABLE
    for v in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ table[chk >> 25]
    return chk


def _bech32_decode_any(bech: str) -> tuple[str | None, list[int] | None, str]:
    """Decode bech32 or bech32m (BIP-350); the ``bech32`` package on PyPI predates bech32m."""
    pos = bech.rfind("1")
    if pos < 1 or pos + 7 > len(bech):
        return None, None, ""
    hrp = bech[:pos]
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    data = [charset.find(x) for x in bech[pos + 1 :]]
    if any(d < 0 for d in data):
        return None, None, ""
    expanded = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    const = _polymod(expanded + data)
    if const == 1:
        return hrp, data[:-6], "bech32"
    if const == _BECH32M_CONST:
        return hrp, data[:-6], "bech32m"
    return None, None, ""


_CASH_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CASH_GEN = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
_CASH_HASH_SIZES = (20, 24, 28, 32, 40, 48, 56, 64)
"""Hash size in bytes for each value of the version byte's three size bits (CashAddr spec, "Address types")."""
_CASH_PAYLOAD_CHARS = frozenset(-(-(8 * (1 + n)) // 5) + 8 for n in _CASH_HASH_SIZES)
_CASH_TYPES = {0: "P2PKH", 1: "P2SH", 2: "token-aware P2PKH", 3: "token-aware P2SH"}


def _cash_polymod(values: list[int]) -> int:
    """The CashAddr checksum (a 40-bit BCH code); zero over prefix, separator and payload when it holds."""
    c = 1
    for d in values:
        c0 = c >> 35
        c = ((c & 0x07FFFFFFFF) << 5) ^ d
        for i in range(5):
            if (c0 >> i) & 1:
                c ^= _CASH_GEN[i]
    return c ^ 1


def _cash_prefix(prefix: str) -> list[int]:
    return [ord(ch) & 31 for ch in prefix] + [0]


def cashaddr_encode(prefix: str, version: int, hash_bytes: bytes) -> str:
    """``prefix:payload`` in lower case for a version byte and a hash."""
    from bech32 import convertbits

    data = convertbits([version, *hash_bytes], 8, 5, True)
    assert data is not None
    check = _cash_polymod(_cash_prefix(prefix) + data + [0] * 8)
    data += [(check >> 5 * (7 - i)) & 31 for i in range(8)]
    return prefix + ":" + "".join(_CASH_CHARSET[d] for d in data)


def _bch(a: str) -> str:
    """Bitcoin Cash in one form: CashAddr, lower case, with the ``bitcoincash:`` prefix.

    The legacy base58 form (``1…``/``3…``) and the CashAddr form of one address are the same key, so a listing in
    one form must match a screening in the other: the legacy form is converted (version 0x00 → P2PKH, 0x05 → P2SH).
    The token-aware types (CashTokens, type bits 2 and 3) pay the same locking script as P2PKH and P2SH, so they
    are folded onto them too."""
    low = a.lower()
    if ":" in a or low[:1] in ("q", "p", "z", "r"):
        return _cashaddr(a)
    payload = _base58_payload(a, "bch")
    return cashaddr_encode(CASHADDR_PREFIX, 0x00 if payload[0] == 0 else 0x08, payload[1:])


def _cashaddr(a: str) -> str:
    """CashAddr as its specification says (bitcoincash.org spec/cashaddr.md, with CashTokens' type bits 2 and 3):
    all lower or all upper case, the prefix optional (the checksum covers it), the version byte's size bits
    matching the hash that follows (20 bytes for the classic forms, 32 for P2SH32). No maintained PyPI package
    implements it."""
    from bech32 import convertbits

    if a != a.lower() and a != a.upper():
        raise AddressError("characters", "a CashAddr address is all lower case or all upper case, never mixed")
    low = a.lower()
    given, sep, payload = low.rpartition(":")
    if sep and given not in (CASHADDR_PREFIX, *CASHADDR_TEST_PREFIXES):
        raise AddressError("prefix", f"a Bitcoin Cash address uses the {CASHADDR_PREFIX}: prefix, not {given}:")
    bad = sorted(set(payload) - _BECH32_CHARS)
    if bad:
        raise AddressError("characters", f"characters {''.join(bad)!r} are not CashAddr")
    if len(payload) not in _CASH_PAYLOAD_CHARS:
        raise AddressError("length", f"a CashAddr payload of {len(payload)} characters holds no valid hash size")
    values = [_CASH_CHARSET.index(ch) for ch in payload]
    candidates = [given] if sep else [CASHADDR_PREFIX, *CASHADDR_TEST_PREFIXES]
    prefix = next((p for p in candidates if _cash_polymod(_cash_prefix(p) + values) == 0), None)
    if prefix is None:
        raise AddressError("checksum", "CashAddr checksum does not match")
    if prefix != CASHADDR_PREFIX:
        raise AddressError("network", f"{prefix}: is a Bitcoin Cash testnet or regtest address; only mainnet is listed")
    decoded = convertbits(values[:-8], 5, 8, False)
    if decoded is None:
        raise AddressError("format", "CashAddr payload has non-zero or excess padding bits")
    version, body = decoded[0], bytes(decoded[1:])
    kind = (version >> 3) & 0x0F
    if version & 0x80 or kind not in _CASH_TYPES:
        raise AddressError("format", f"CashAddr version byte 0x{version:02x} is not a payment address type")
    size = _CASH_HASH_SIZES[version & 0x07]
    if len(body) != size:
        raise AddressError(
            "length", f"the version byte announces a {size}-byte hash, the address carries {len(body)} bytes"
        )
    return cashaddr_encode(CASHADDR_PREFIX, ((kind & 1) << 3) | (version & 0x07), body)


def _xrp(a: str) -> str:
    if not a.startswith("r"):
        raise AddressError("prefix", "an XRP Ledger address starts with r")
    bad = sorted(set(a) - set(base58.RIPPLE_ALPHABET.decode()))
    if bad:
        raise AddressError("characters", f"characters {''.join(bad)!r} are not in the XRP base58 alphabet")
    raw = base58.b58decode(a, alphabet=base58.RIPPLE_ALPHABET)
    if len(raw) != 25:
        raise AddressError("length", f"an XRP address decodes to 25 bytes, this one to {len(raw)}")
    if hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] != raw[-4:]:
        raise AddressError("checksum", "XRP address fails its checksum")
    return a


_XMR_BLOCK_BYTES = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
_XMR_PREFIXES = {0x12: 95, 0x2A: 95, 0x13: 106}  # standard, subaddress, integrated: encoded length
_XMR_TEST_PREFIXES = {0x35: 95, 0x3F: 95, 0x36: 106, 0x18: 95, 0x24: 95, 0x19: 106}  # testnet, stagenet
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _monero(a: str) -> str:
    """Monero's base58 works on 8-byte blocks with a Keccak checksum; no maintained PyPI package decodes it
    without pulling in a whole wallet library."""
    from eth_utils.crypto import keccak

    bad = sorted(set(a) - _B58_ALPHABET)
    if bad:
        raise AddressError("characters", f"characters {''.join(bad)!r} are not base58")
    if len(a) not in (95, 106):
        raise AddressError("length", f"a Monero address has 95 or 106 characters, this one {len(a)}")
    out = bytearray()
    for i in range(0, len(a), 11):
        block = a[i : i + 11]
        size = _XMR_BLOCK_BYTES.get(len(block))
        if size is None:
            raise AddressError("length", "Monero address has a truncated block")
        n = 0
        for ch in block:
            n = n * 58 + _B58.index(ch)
        if n >= 1 << (8 * size):
            raise AddressError("characters", "Monero address block overflows")
        out += n.to_bytes(size, "big")
    body, check = bytes(out[:-4]), bytes(out[-4:])
    if keccak(body)[:4] != check:
        raise AddressError("checksum", "Monero address fails its Keccak checksum")
    if _XMR_PREFIXES.get(body[0]) != len(a):
        if _XMR_TEST_PREFIXES.get(body[0]) == len(a):
            raise AddressError("network", "a Monero testnet or stagenet address; only mainnet is listed")
        raise AddressError("prefix", f"network byte 0x{body[0]:02x} is not a Monero mainnet address of this length")
    return a
