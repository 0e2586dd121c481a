"""Shared benchmark plumbing: wrk runs, a bare Starlette baseline, a registry server on a scratch database."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEPPER = "bench-pepper-0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    if not m:
        return float("nan")
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def run_wrk(
    url: str,
    headers: dict[str, str] | None = None,
    connections: int = 32,
    seconds: float = 10,
    method: str = "GET",
    body: bytes | None = None,
    threads: int = 1,
) -> WrkResult:
    """wrk (C, epoll) as the load generator: a Python client would need more CPU than the server it measures."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (make bench installs the Debian package)")
    lua = [f'wrk.method = "{method}"']
    for k, v in (headers or {}).items():
        lua.append(f'wrk.headers["{k}"] = "{v}"')
    if body is not None:
        lua.append(f"wrk.body = [[{body.decode()}]]")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(lua) + "\n")
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", script, url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return WrkResult(rps, p50, p99, errors)


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()[-2000:]}")


BASELINE_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def plain(request):
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", plain, methods=["GET", "POST"])])
    """
)


@contextmanager
def start_plaintext_baseline() -> Iterator[str]:
    """A bare Starlette plaintext endpoint under the same uvicorn settings as ours: the ceiling for one worker."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    (tmp / "baseline_app.py").write_text(BASELINE_APP)
    port = free_port()
    log = tmp / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "baseline_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=tmp,
            stdout=out,
            stderr=out,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def start_registry_server(db_url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``registry serve --no-scheduler`` (one worker) on a scratch database; yields the base URL."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-server-"))
    log = tmp / "log"
    full_env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_PORT": str(port),
        "REGISTRY_VAR_DIR": str(tmp / "var"),
        **(env or {}),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", "--no-scheduler"],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=out,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/healthz", proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def scratch_sqlite() -> str:
    path = Path(tempfile.mkdtemp(prefix="bench-db-")) / "bench.sqlite3"
    return f"sqlite:///{path}"


def line(name: str, ours: str, baseline: str, ratio: float, target: str) -> None:
    verdict = "ok" if _meets(ratio, target) else "MISSED"
    print(f"  {name:<44} {ours:>22}   baseline {baseline:>22}   ratio {ratio:6.2f}  target {target:<8} {verdict}")


def _meets(ratio: float, target: str) -> bool:
    m = re.match(r"(>=|<=)\s*([\d.]+)", target)
    if not m:
        return True
    return ratio >= float(m.group(2)) if m.group(1) == ">=" else ratio <= float(m.group(2))
