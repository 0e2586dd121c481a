"""The README's verification snippets (Python and openssl) accept a delivery the registry signed, with one secret
and during a rotation with two, and refuse a tampered one: what banks copy must work."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from registry.monitoring.delivery import new_secret, sign
from tests.support.paths import ROOT

SECTION = (ROOT / "README.md").read_text().split("### Webhooks: verifying a delivery", 1)[1].split("\n### ", 1)[0]
BODY = b'{"type":"wallet.risk_changed","timestamp":"2026-11-30T09:12:41.118530Z","data":{"id":7,"ref":"C-1"}}'


def _block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.S)
    [found] = [b for b in blocks if marker in b]
    return str(found)


def _signed(secrets: list[str]) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": "msg_7",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secrets, "msg_7", now, BODY),
        "content-type": "application/json",
    }


def test_the_python_snippet_verifies_and_refuses() -> None:
    secret, old = new_secret(), new_secret()
    handled: list[dict[str, Any]] = []
    namespace: dict[str, Any] = {"already_handled": lambda _id: False, "queue_for_compliance": handled.append}
    exec(_block("python", "Webhook(").replace('"whsec_…"', repr(secret)), namespace)
    receive = namespace["receive"]
    assert receive(BODY, _signed([secret])) == 204
    assert receive(BODY, _signed([secret, old])) == 204  # a rotation: either signature does
    assert receive(BODY.replace(b"C-1", b"C-2"), _signed([secret])) == 400
    assert receive(BODY, _signed([old])) == 400
    assert handled == [{"id": 7, "ref": "C-1"}] * 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_openssl_snippet_verifies_and_refuses(tmp_path: Path) -> None:
    script = _block("sh", "openssl dgst")
    secret, other = new_secret(), new_secret()

    def run(body: bytes, headers: dict[str, str], key: str) -> str:
        (tmp_path / "body.json").write_bytes(body)
        env = {
            "PATH": "/usr/bin:/bin",
            "SECRET": key,
            "ID": headers["webhook-id"],
            "TS": headers["webhook-timestamp"],
            "SIG": headers["webhook-signature"],
        }
        out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    assert run(BODY, _signed([secret]), secret) == "valid"
    assert run(BODY, _signed([other, secret]), secret) == "valid"
    assert run(BODY + b" ", _signed([secret]), secret) == "INVALID"
    assert run(BODY, _signed([other]), secret) == "INVALID"
