"""The one PDF renderer reads the package's files and inline data, never the network: a URL that reached a
document (a case note, an entity name) cannot make the server fetch anything, and a resource it cannot read fails
the rendering instead of leaving a gap in the PDF."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from registry.pdf import Attachment, html_to_pdf

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it gets (and would serve an image)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_remote_url_is_never_fetched_and_fails_the_rendering(listener: tuple[str, list[str]]) -> None:
    base, seen = listener
    for html in (
        f'<p>note</p><img src="{base}/tracker.png">',
        f'<style>@import url("{base}/x.css");</style><p>note</p>',
        f'<p style="background: url({base}/bg.png)">note</p>',
    ):
        with pytest.raises(RuntimeError, match="only the package's files"):
            html_to_pdf(html)
    assert seen == []


def test_local_files_data_urls_and_attachments_render(tmp_path: Path) -> None:
    (tmp_path / "dot.png").write_bytes(PNG)
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    pdf = html_to_pdf(
        f'<h1>Пакет доказательств</h1><img src="dot.png"><img src="{data}">',
        base_url=tmp_path,
        attachments=[Attachment("evidence.json", '{"a": 1}', "the content")],
    )
    assert pdf.startswith(b"%PDF")
    doc = pdfium.PdfDocument(pdf)
    try:
        assert "Пакет доказательств" in doc[0].get_textpage().get_text_range()
        [attached] = [doc.get_attachment(i) for i in range(doc.count_attachments())]
        assert attached.get_name() == "evidence.json" and bytes(attached.get_data()) == b'{"a": 1}'
    finally:
        doc.close()
