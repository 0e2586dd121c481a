"""A bank's webhook receiver for the tests: a real HTTP server on loopback that verifies every delivery with the
``standardwebhooks`` package (as a bank would), and can fail on purpose, go silent, hold its answer, or go down."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks import Webhook, WebhookVerificationError

from tests.support.servers import free_port


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    verified_with: tuple[int, ...]  # indexes of the receiver's secrets that verify it
    answered: int | None  # the status sent back (None: no answer)

    @property
    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = orjson.loads(self.body)["data"]
        return out


class Receiver:
    """``mode``: ``ok`` (204), ``fail`` (500), ``reject`` (422), ``silent`` (reads the request, never answers until
    ``release``), ``hold`` (answers 204 once ``release`` is set). ``stop()`` takes it down (connections refused);
    ``start()`` brings it back on the same port."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.port = free_port()
        self.secrets: list[str] = list(secrets or [])
        self.mode = "ok"
        self.received: list[Received] = []
        self.release = threading.Event()
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/registry"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = []
                for i, secret in enumerate(receiver.secrets):
                    try:
                        Webhook(secret).verify(body, headers)
                        ok.append(i)
                    except WebhookVerificationError:
                        pass
                mode = receiver.mode
                status: int | None = {"ok": 204, "fail": 500, "reject": 422, "hold": 204}.get(mode)
                if mode in ("silent", "hold"):
                    receiver._record(headers, body, ok, None if mode == "silent" else status)
                    receiver.arrived.set()
                    receiver.release.wait(30)
                    if mode == "silent":
                        return
                else:
                    receiver._record(headers, body, ok, status)
                    receiver.arrived.set()
                assert status is not None
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def _record(self, headers: dict[str, str], body: bytes, ok: list[int], status: int | None) -> None:
        with self._lock:
            self.received.append(
                Received(
                    headers.get("webhook-id", ""),
                    headers.get("webhook-timestamp", ""),
                    headers.get("webhook-signature", ""),
                    body,
                    tuple(ok),
                    status,
                )
            )

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Received]:
        """Deliveries this receiver accepted (answered 2xx), in arrival order."""
        with self._lock:
            return [r for r in self.received if r.answered is not None and 200 <= r.answered < 300]

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered()
            if len(got) >= n:
                return got
            time.sleep(0.02)
        return self.delivered()
