"""Fixtures of the chain suites: a real anvil node, and replay servers for TronGrid and Esplora."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chains.retry import RetryPolicy
from tests.chains.anvil import BASE_FEE_ZERO, Anvil, anvil_binary

FAST_RETRY = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    """A fresh anvil on a free loopback port (base fee 0 so ``fill_blocks`` can fill full blocks)."""
    if anvil_binary() is None:
        pytest.fail("anvil is not installed: run `npm ci` (make test does)")
    node = Anvil.start(extra=BASE_FEE_ZERO)
    yield node
    node.stop()
