"""First-sight validation of many addresses at once, in compiled code, for the forms banks send most.

A 10,000-address screening batch of addresses never seen before spent most of its time validating them one by one:
EIP-55 through ``eth_utils`` (43 us an address), the bech32 checksum in Python (28 us). Here a batch is sorted by
form and each form is checked by compiled code:

- EVM ``0x`` + 40 hex digits: lower case needs only the regex; mixed case goes to ``cchecksum`` (keccak and the
  EIP-55 case rule in C, the whole list in one call), all upper case carries no checksum, as in ``normalize``;
- Tron ``T…`` and legacy Bitcoin ``1…``/``3…``: ``based58.b58decode_check`` (Rust), one call an address;
- bech32/bech32m ``bc1q…``/``bc1p…`` of 42 or 62 characters (P2WPKH, P2WSH, P2TR): the checksums of every
  address of one length at once, with numpy (``_bech32_constants``).

It only ever accepts. An address passed here is one ``normalize(address)`` accepts, with the same chain and the
same canonical form (``tests/chains/test_addresses_batch.py`` checks both ways on generated and edge addresses);
every other address, another form or an invalid one, comes back ``None``, and the caller asks ``normalize``, whose
refusals name the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import based58

from chains.addresses.normalize import _BECH32M_CONST, _POLYMOD_TABLE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# numpy and cchecksum are imported where they are used, not with the module: every command that validates one
# address (a sync, an import) imports this package, and the two cost a few hundred milliseconds to load.

Found = tuple[str, str]
"""(chain, canonical address), as ``normalize(address)`` gives them for an address given without a chain."""

_EVM_HEX = re.compile(r"0x[0-9a-fA-F]{40}")
_SEGWIT_PREFIXES = ("bc1q", "bc1p", "BC1Q", "BC1P")
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _hrp_state(hrp: str) -> int:
    """The BIP-173 checksum state after the expanded human-readable part, starting from 1."""
    chk = 1
    for v in [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ _POLYMOD_TABLE[chk >> 25]
    return chk


def _bech32_constants(hrp: str, data_len: int) -> tuple[int, npt.NDArray[np.uint32]]:
    """Why a table: the BIP-173 checksum step ``chk -> ((chk & 0x1FFFFFF) << 5) ^ v ^ T[chk >> 25]`` is linear
    over GF(2) in ``(chk, v)`` (``T`` is an XOR of generators by bits), so the checksum of ``hrp1`` + ``data`` is
    the XOR of a constant (the human-readable part, then zeros) and one table entry per data character: character
    value ``v`` at position ``j`` contributes ``v`` carried through the ``data_len - 1 - j`` steps after it. A batch's
    checksums are then one gather and one XOR-reduce in numpy, whatever the batch's size. No compiled bech32
    library is published on PyPI (``bech32`` and ``bech32m`` are pure Python), hence this. The steps are the same
    table-driven ones as ``normalize._polymod``, and the tests compare both on random strings.

    Returns the constant and the ``(data_len, 32)`` table of contributions."""
    import numpy as np

    table = np.asarray(_POLYMOD_TABLE, dtype=np.uint32)
    carried = np.empty((data_len, 32), dtype=np.uint32)
    row = np.arange(32, dtype=np.uint32)
    for steps in range(data_len):  # row = the 32 values carried through ``steps`` zero steps
        carried[data_len - 1 - steps] = row
        row = ((row & 0x1FFFFFF) << 5) ^ table[row >> 25]
    const = _hrp_state(hrp)
    for _ in range(data_len):
        const = ((const & 0x1FFFFFF) << 5) ^ _POLYMOD_TABLE[const >> 25]
    return const, carried


@cache
def _segwit_tables() -> tuple[npt.NDArray[np.intp], dict[int, tuple[int, npt.NDArray[np.uint32]]]]:
    """A bech32 character's 5-bit value by its ASCII code (32 for a byte that is not a lower-case bech32 character),
    and the checksum tables by address length: ``bc1`` + witness version + a 20-byte (32 characters) or 32-byte
    (52 characters) program + 6 checksum characters."""
    import numpy as np

    value = np.full(256, 32, dtype=np.intp)
    value[np.frombuffer(_CHARSET.encode(), dtype=np.uint8)] = np.arange(32)
    return value, {42: _bech32_constants("bc", 39), 62: _bech32_constants("bc", 59)}


def normalize_many(addresses: Sequence[str]) -> list[Found | None]:
    """For each address (given without a chain), its ``(chain, canonical address)`` when it is valid in one of the
    common forms, or ``None``: not decided here, ask ``normalize`` (which also names the reason of a refusal)."""
    out: list[Found | None] = [None] * len(addresses)
    mixed: list[int] = []
    segwit: dict[int, list[int]] = {42: [], 62: []}
    for i, a in enumerate(addresses):
        n = len(a)
        if n == 42 and a[:2] == "0x":
            if _EVM_HEX.fullmatch(a):
                if a.islower():  # "x" is a letter: digits and lower case only
                    out[i] = ("evm", a)
                elif a[2:].isupper():  # no lower-case letter: no checksum to check, as in normalize
                    out[i] = ("evm", a.lower())
                else:
                    mixed.append(i)
            continue
        first = a[:1]
        if (first == "T" and n == 34) or (first in ("1", "3") and 26 <= n <= 35):
            try:
                raw = based58.b58decode_check(a.encode())
            except ValueError:
                continue
            if len(raw) == 21 and (raw[0] == 0x41 if first == "T" else raw[0] in (0, 5)):
                out[i] = ("tron" if first == "T" else "btc", a)
            continue
        if (n == 42 or n == 62) and a[:4] in _SEGWIT_PREFIXES and a.isascii():
            segwit[n].append(i)
    if mixed:
        from cchecksum import to_checksum_address_many

        given = [addresses[i] for i in mixed]
        for i, a, checksummed in zip(mixed, given, to_checksum_address_many(given), strict=True):
            if a == checksummed:
                out[i] = ("evm", a.lower())
    for length, where in segwit.items():
        if where:
            for i, canonical in zip(where, _segwit_many([addresses[i] for i in where], length), strict=True):
                out[i] = canonical
    return out


def _segwit_many(addresses: list[str], length: int) -> list[Found | None]:
    """Mainnet segwit addresses of one length: v0 with bech32 (P2WPKH, P2WSH), v1 with bech32m (P2TR, and the
    20-byte v1 programs BIP-350 allows); all lower or all upper case."""
    import numpy as np

    to_value, tables = _segwit_tables()
    lowered = [a.lower() for a in addresses]
    chars = np.frombuffer("".join(lowered).encode("ascii"), dtype=np.uint8).reshape(len(addresses), length)
    values = to_value[chars[:, 3:]]  # after "bc1"
    const, carried = tables[length]
    ok = (values < 32).all(axis=1)
    values[~ok] = 0  # a row with a character outside bech32 is refused anyway; keep its gather in range
    data_len = length - 3
    checksum = np.bitwise_xor.reduce(carried[np.arange(data_len), values], axis=1) ^ np.uint32(const)
    version = values[:, 0]
    ok &= ((version == 0) & (checksum == 1)) | ((version == 1) & (checksum == _BECH32M_CONST))
    if length == 62:  # 52 five-bit groups carry 32 bytes and 4 padding bits, which must be zero
        ok &= (values[:, 52] & 0xF) == 0
    return [
        ("btc", low) if good and (a == low or a == a.upper()) else None
        for a, low, good in zip(addresses, lowered, ok.tolist(), strict=True)
    ]
