"""Free loopback ports and ``registry serve`` in a subprocess: real HTTP, real process boundaries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.paths import PEPPER, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.base_url = base_url
        self.proc = proc
        self.log_path = log_path

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers or {}, timeout=30)


def start_server(
    db_url: str, tmp_path: Path, extra_env: dict[str, str] | None = None, scheduler: bool = False
) -> LiveServer:
    """``registry serve`` in a subprocess on a free loopback port: real HTTP, real process boundaries."""
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_PORT": str(port),
        "REGISTRY_SNAPSHOT_POLL_SECONDS": "0.1",
        "REGISTRY_SCREENING_LOG_FLUSH_SECONDS": "0.1",
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
        **(extra_env or {}),
    }
    log_path = tmp_path / f"server-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--scheduler" if scheduler else "--no-scheduler"],
        env=env,
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base, proc, log_path)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log_path.read_text()[-3000:]}")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
