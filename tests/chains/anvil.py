"""A real anvil node for tests and the benchmark: start it on a free port, deploy the test ERC-20, send transfers.

Importable by other suites (e.g. scoring end-to-end tests): ``with Anvil.start() as node: token = node.deploy_token()``.
The binary comes from the npm package ``@foundry-rs/anvil`` (``npm ci`` in ``make test``); its per-platform package
ships the executable, which is run directly so that killing it kills the node and not a node.js wrapper.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import requests
from eth_abi.abi import encode

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = Path(__file__).resolve().parent / "contracts"
TOKEN_BIN = (CONTRACTS / "TestToken.bin").read_text().strip()
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)


def _selector(signature: str) -> str:
    from eth_utils.crypto import keccak

    return keccak(text=signature)[:4].hex()


SPRAY_SELECTOR = _selector("spray(address[],uint256)")


def anvil_binary() -> str | None:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = platform.system().lower()
    candidates = [
        ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil",
        ROOT / "node_modules" / ".bin" / "anvil",
    ]
    for c in candidates:
        if c.exists() and os.access(c, os.X_OK):
            return str(c)
    return shutil.which("anvil")


class Anvil:
    """One anvil process. ``state`` (a file path) lets a killed node come back with the same chain."""

    def __init__(self, port: int, proc: subprocess.Popen[bytes], args: list[str]) -> None:
        self.port = port
        self.proc = proc
        self.args = args
        self.url = f"http://127.0.0.1:{port}"
        self.session = requests.Session()
        self._id = 0
        self.accounts: list[str] = []

    @classmethod
    def start(cls, port: int | None = None, extra: Sequence[str] = ()) -> Anvil:
        binary = anvil_binary()
        if binary is None:
            raise RuntimeError("anvil not found: run `npm ci` (make test does)")
        port = port or free_port()
        args = [binary, "--port", str(port), "--host", "127.0.0.1", "--silent", *extra]
        node = cls(port, subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), args)
        node.wait_ready()
        node.accounts = node.rpc("eth_accounts", [])
        return node

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.proc.returncode}")
            try:
                self.rpc("eth_chainId", [])
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("anvil did not start")

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.session.close()

    def kill(self) -> None:
        """Dies like a crashed node: no clean shutdown."""
        self.proc.kill()
        self.proc.wait()

    def restart(self, extra: Sequence[str] = ()) -> None:
        """A new process on the same port (e.g. with ``--load-state``)."""
        self.proc = subprocess.Popen([*self.args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()

    def rpc(self, method: str, params: list[Any]) -> Any:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        resp = self.session.post(self.url, data=orjson.dumps(body), headers={"Content-Type": "application/json"})
        out = orjson.loads(resp.content)
        if "error" in out:
            raise RuntimeError(f"{method}: {out['error']}")
        return out["result"]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        resp = self.session.post(self.url, data=orjson.dumps(body), headers={"Content-Type": "application/json"})
        out = sorted(orjson.loads(resp.content), key=lambda r: r["id"])
        errors = [r["error"] for r in out if "error" in r]
        if errors:
            raise RuntimeError(f"batch: {errors[0]}")
        return [r["result"] for r in out]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber", []), 16)

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def dump_state(self) -> str:
        return str(self.rpc("anvil_dumpState", []))

    def deploy_token(self, sender: str | None = None, supply: int = 10**30) -> str:
        sender = sender or self.accounts[0]
        args = encode(["string", "string", "uint256"], ["Test USD", "TUSD", supply]).hex()
        tx = self.rpc("eth_sendTransaction", [{"from": sender, "data": "0x" + TOKEN_BIN + args}])
        return str(self.receipt(tx)["contractAddress"]).lower()

    def receipt(self, tx: str, timeout: float = 10) -> dict[str, Any]:
        """The receipt, waiting for it: a busy anvil may answer eth_sendTransaction before it has mined."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.rpc("eth_getTransactionReceipt", [tx])
            if receipt is not None:
                return dict(receipt)
            if time.monotonic() > deadline:
                raise RuntimeError(f"no receipt for {tx}")
            time.sleep(0.02)

    def token_transfer(self, token: str, sender: str, to: str, amount: int) -> str:
        data = "0x" + TRANSFER_SELECTOR + encode(["address", "uint256"], [to, amount]).hex()
        return str(self.rpc("eth_sendTransaction", [{"from": sender, "to": token, "data": data}]))

    def nonce(self, account: str) -> int:
        return int(self.rpc("eth_getTransactionCount", [account, "pending"]), 16)

    def spray_call(
        self, token: str, sender: str, holders: Sequence[str], amount: int, nonce: int
    ) -> tuple[str, list[Any]]:
        """An ``eth_sendTransaction`` call for a batch; explicit nonces, as a batch's calls run concurrently."""
        data = "0x" + SPRAY_SELECTOR + encode(["address[]", "uint256"], [list(holders), amount]).hex()
        gas = 60_000 + 30_000 * len(holders)
        tx = {"from": sender, "to": token, "data": data, "gas": hex(gas), "nonce": hex(nonce)}
        return ("eth_sendTransaction", [tx])

    def send_value(self, sender: str, to: str, wei: int) -> str:
        return str(self.rpc("eth_sendTransaction", [{"from": sender, "to": to, "value": hex(wei)}]))

    def logs(self, token: str) -> list[dict[str, Any]]:
        return list(self.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": token}]))


def fill_blocks(node: Anvil, token: str, blocks: int, per_block: int, seed: int = 1) -> int:
    """``blocks`` new blocks, each holding one ``spray`` emitting ``per_block`` Transfer logs; returns the number of
    token transfers sent.

    Automine off and a block gas limit that fits one spray make ``anvil_mine`` put exactly one transaction in each
    block; transactions go in HTTP batches of 10 (a larger pool makes anvil's mining slower per block). Needs a node
    started with ``BASE_FEE_ZERO``: full blocks would otherwise raise the base fee 12.5 % per block.
    """
    import random

    rng = random.Random(seed)
    # A fixed pool of holders: anvil copies its state for every block, so a state that grows with each new
    # holder would make every block slower than the last.
    pool = ["0x" + rng.randbytes(20).hex() for _ in range(max(500, 2 * per_block))]
    sender = node.accounts[0]
    nonce = node.nonce(sender)
    gas = 60_000 + 30_000 * per_block
    node.rpc("evm_setAutomine", [False])
    node.rpc("evm_setBlockGasLimit", [hex(gas)])
    try:
        done = 0
        while done < blocks:
            n = min(10, blocks - done)
            calls = []
            for _ in range(n):
                holders = rng.sample(pool, per_block)
                call = node.spray_call(token, sender, holders, rng.randint(1, 10**9), nonce)
                call[1][0]["gasPrice"] = hex(10**9)
                calls.append(call)
                nonce += 1
            node.batch(calls)
            node.mine(n)
            done += n
    finally:
        node.rpc("evm_setBlockGasLimit", [hex(30_000_000)])
        node.rpc("evm_setAutomine", [True])
    return blocks * per_block


BASE_FEE_ZERO = ("--base-fee", "0")
