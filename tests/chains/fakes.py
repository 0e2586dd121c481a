"""TronGrid and Esplora for the tests: strict replays of recorded exchanges, with faults injected on demand.

Each replay serves one recording (``bodies/tron/<scene>/``, ``bodies/esplora/<scene>/``: ``manifest.json``, one
body file per request, and ``truth.json``, what the chain holds) through the one ``ReplayServer``. A request that
was not recorded — a query parameter dropped or changed, another JSON body, a missing API key — is answered 400
naming the difference, and ``close()`` fails the test that made it. ``faults`` injects 429, 5xx, stalls and
malformed bodies before the recording is consulted. With ``REGISTRY_TEST_RECORD_REPLAYS=1`` the same classes record
from the models in ``chainmodel.py`` instead (see ``bodies/README.md``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from tests.chains.chainmodel import BODIES, USDT, USDT_HEX, EsploraChain, Row, TronChain, body, tron_address
from tests.chains.replay import Faults, Recording, ReplayServer

__all__ = ["USDT", "USDT_HEX", "EsploraReplay", "TronGridReplay", "body", "tron_address"]


def recording_mode() -> bool:
    return os.environ.get("REGISTRY_TEST_RECORD_REPLAYS") == "1"


def _truth(directory: Path, model: Any) -> Any:
    if model is not None:
        truth = model.truth()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "truth.json").write_text(_dump(truth))
        return truth
    return orjson.loads((directory / "truth.json").read_bytes())


def _dump(value: Any, indent: str = "") -> str:
    """JSON with one transfer row per line: readable, and a re-recording diffs row by row."""
    if isinstance(value, dict):
        inner = ",\n".join(f'{indent}  "{k}": {_dump(v, indent + "  ").lstrip()}' for k, v in value.items())
        return f"{indent}{{\n{inner}\n{indent}}}" + ("\n" if not indent else "")
    if isinstance(value, list) and value and isinstance(value[0], list | tuple):
        inner = ",\n".join(_dump(v, indent + "  ") for v in value)
        return f"{indent}[\n{inner}\n{indent}]"
    return indent + orjson.dumps(value).decode()


def _rows(raw: list[list[Any]]) -> set[Row]:
    return {(str(t), int(i), str(f), str(to), str(a), int(v)) for t, i, f, to, a, v in raw}


class TronGridReplay:
    """Solidified blocks ``1..head`` with TRX and USDT transfers, account histories in fingerprint pages."""

    def __init__(self, blocks: int = 30, page_size: int = 3, api_key: str = "test-key") -> None:
        self.scene = f"chain-{blocks}-blocks-page-{page_size}"
        directory = BODIES / "tron" / self.scene
        self.faults = Faults()
        model = TronChain(blocks, page_size) if recording_mode() else None
        if model is not None:
            headers = {"TRON-PRO-API-KEY": api_key}
            self.recording = Recording.recorder(directory, model.handle, faults=self.faults, headers=headers)
        else:
            self.recording = Recording(directory, faults=self.faults)
        truth = _truth(directory, model)
        self.head: int = truth["head"]
        self.expected: set[Row] = _rows(truth["expected"])
        self.server = ReplayServer(respond=self.recording.respond)
        self.url = self.server.url

    @property
    def mismatches(self) -> list[str]:
        return self.recording.mismatches

    def close(self) -> None:
        self.server.close()
        if self.recording.upstream is not None:
            self.recording.save()
        assert not self.mismatches, "requests the recording does not hold:\n" + "\n".join(self.mismatches[:5])


class EsploraReplay:
    """Blocks ``0..tip`` with multi-input transactions and coinbases (``txs_per_block`` in every ``busy_every``-th
    block, three in the others); address histories newest first. ``reorg`` moves the replay to the recording of
    the chain after that reorganisation."""

    def __init__(self, blocks: int = 20, txs_per_block: int = 30, busy_every: int = 1) -> None:
        self.scene = f"chain-{blocks}x{txs_per_block}" + (f"-every-{busy_every}" if busy_every != 1 else "")
        self.faults = Faults()
        self.model = EsploraChain(blocks, txs_per_block, busy_every) if recording_mode() else None
        self.mismatches: list[str] = []  # shared by the recordings of every scene
        self._open()
        self.server = ReplayServer(respond=lambda req: self.recording.respond(req))
        self.url = self.server.url

    def _open(self) -> None:
        directory = BODIES / "esplora" / self.scene
        if self.model is not None:
            self.recording = Recording.recorder(directory, self.model.handle, faults=self.faults)
        else:
            self.recording = Recording(directory, faults=self.faults)
        self.recording.mismatches = self.mismatches
        self.truth = _truth(directory, self.model)

    def _finish(self) -> None:
        if self.recording.upstream is not None:
            self.recording.save()

    @property
    def tip(self) -> int:
        return int(self.truth["tip"])

    def expected(self, upto: int) -> set[Row]:
        """The transfers of blocks ``0..upto``, by the reference pro-rata rule (``truth.json``)."""
        return {row for block in self.truth["blocks"][: upto + 1] for row in _rows(block)}

    def reorg(self, depth: int, new_blocks: int | None = None) -> None:
        """Replace the last ``depth`` blocks with ``new_blocks`` other ones (default as many)."""
        self._finish()
        if self.model is not None:
            self.model.reorg(depth, new_blocks)
        self.scene += f"+reorg-{depth}" + (f"-to-{new_blocks}" if new_blocks is not None else "")
        self._open()

    def close(self) -> None:
        self.server.close()
        self._finish()
        assert not self.mismatches, "requests the recording does not hold:\n" + "\n".join(self.mismatches[:5])
