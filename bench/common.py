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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
PEPPER = "bench-pepper-0123456789abcdef0123456789abcdef"

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
"""``BENCH_QUICK=1``: every benchmark at a small size and short durations, to check that it runs (figures are not
comparable with the full run's)."""


def knob(name: str, full: float, quick: float) -> float:
    """A size or duration: ``BENCH_<NAME>`` if set, else the quick or the full default."""
    value = os.environ.get(f"BENCH_{name}")
    return float(value) if value else quick if QUICK else full


class BenchFailure(RuntimeError):
    """A benchmark whose figures cannot be trusted (errors under load): it fails instead of printing them."""

    def __init__(self, row: str, message: str) -> None:
        super().__init__(f"{row}: {message}")
        self.row = row


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx3xx: int  # responses outside 2xx/3xx (a 304 is 3xx: fine)
    socket_errors: dict[str, int]  # connect, read, write, timeout
    made: int | None = None  # requests the request() function of a body-cycling script handed out (thread 1)

    @property
    def errors(self) -> int:
        return self.non2xx3xx + sum(self.socket_errors.values())


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


def _lua_str(value: str) -> str:
    """A Lua string literal (quotes, backslashes and control characters escaped)."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\{ord(c):03d}" for c in value) + '"'


# Cycles through pre-generated request bodies, one JSON body per line of the file named by the first script
# argument: every request of a run can carry another address. The requests are formatted once, in init().
_CYCLE_LUA = """
bodies = {}
made = 0
function init(args)
  for body in io.lines(args[1]) do
    bodies[#bodies + 1] = wrk.format(nil, nil, nil, body)
  end
end
function request()
  made = made + 1
  return bodies[((made - 1) % #bodies) + 1]
end
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end
function done(summary, latency, requests)
  for i, t in ipairs(threads) do
    io.write(string.format("bench-made %d %d\\n", i, t:get("made")))
  end
end
"""


def run_wrk(
    url: str,
    headers: dict[str, str] | None = None,
    connections: int = 32,
    seconds: float = 10,
    method: str = "GET",
    body: bytes | None = None,
    threads: int = 1,
    *,
    row: str,
    bodies: Path | None = None,
) -> WrkResult:
    """wrk (C, epoll) as the load generator: a Python client would need more CPU than the server it measures.

    ``bodies``: a file of request bodies, one a line, sent in turn (wrapping around at the end). Any response
    outside 2xx/3xx and any socket error fails the run with a ``BenchFailure`` naming ``row``: figures measured
    on errors (a 401, a 429, a refused connection) measure something else."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (make bench installs the Debian package)")
    lua = [f"wrk.method = {_lua_str(method)}"]
    for k, v in (headers or {}).items():
        lua.append(f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}")
    if body is not None:
        lua.append(f"wrk.body = {_lua_str(body.decode())}")
    if bodies is not None:
        lua.append(_CYCLE_LUA)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(lua) + "\n")
        script = f.name
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", script, url]
    if bodies is not None:
        cmd += ["--", str(bodies)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    finally:
        os.unlink(script)
    out = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done.returncode != 0 or found is None:
        raise BenchFailure(row, f"wrk failed (exit {done.returncode}):\n{out[-1500:]}{done.stderr[-1500:]}")
    rps = float(found.group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True)) if sock else {}
    )
    made = [int(m) for m in re.findall(r"^bench-made \d+ (\d+)$", out, re.M)]
    result = WrkResult(
        rps,
        p50,
        p99,
        int(total.group(1)) if total else 0,
        int(non2xx.group(1)) if non2xx else 0,
        socket_errors,
        sum(made) if made else None,
    )
    if result.errors:
        sockets = ", ".join(f"{k} {v}" for k, v in socket_errors.items() if v) or "none"
        raise BenchFailure(
            row,
            f"wrk saw {result.non2xx3xx:,} responses outside 2xx/3xx and socket errors ({sockets}) in "
            f"{result.requests:,} requests to {url}; the figures are discarded",
        )
    return result


_LOG_ERROR = re.compile(
    r'"level":\s*"(?:error|critical)"|^(?:ERROR|CRITICAL):|Traceback \(most recent call last\)|"status":\s*5\d\d\b',
    re.M,
)


def log_errors(log: Path) -> list[str]:
    """Lines of a server log that report an error: a JSON record at level error or critical, a request answered
    5xx, uvicorn's ``ERROR:`` lines, a traceback."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return [ln for ln in text.splitlines() if _LOG_ERROR.search(ln)]


def _check_log(row: str, log: Path) -> None:
    bad = log_errors(log)
    if bad:
        shown = "\n    ".join(ln[:400] for ln in bad[:5])
        raise BenchFailure(row, f"the server logged {len(bad)} error line(s) during the run, e.g.:\n    {shown}")


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
def start_plaintext_baseline(row: str = "plaintext baseline") -> Iterator[str]:
    """A bare Starlette plaintext endpoint under the same uvicorn settings as ours: the ceiling for one worker.
    Its log is checked for errors before it stops (``BenchFailure`` naming ``row``)."""
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
        _check_log(row, log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def start_registry_server(db_url: str, env: dict[str, str] | None = None, *, row: str) -> Iterator[str]:
    """``registry serve --no-scheduler`` (one worker) on a scratch database; yields the base URL. When the block
    ends, the server's log is checked before the server stops: an error logged during the runs fails them
    (``BenchFailure`` naming ``row``)."""
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
        time.sleep(0.5)  # the screening log writer flushes its buffer every few hundred ms: let it finish
        _check_log(row, log)
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


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[Engine | None]:
    """A migrated scratch database on the server of ``REGISTRY_TEST_POSTGRES_URL`` (``make bench`` sets it), or None;
    dropped afterwards (only the one it created)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from registry.db.engine import make_engine
    from registry.db.migrate import upgrade

    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def line(name: str, ours: str, baseline: str, ratio: float, target: str) -> None:
    verdict = "" if not target else "ok" if _meets(ratio, target) else "MISSED"
    print(f"  {name:<44} {ours:>22}   baseline {baseline:>22}   ratio {ratio:6.2f}  target {target:<8} {verdict}")


def _meets(ratio: float, target: str) -> bool:
    m = re.match(r"(>=|<=)\s*([\d.]+)", target)
    if not m:
        return True
    return ratio >= float(m.group(2)) if m.group(1) == ">=" else ratio <= float(m.group(2))
