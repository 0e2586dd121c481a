"""HTML to PDF for every document the registry hands to people: evidence packs, period reports, the typology
catalogue.

One renderer, so each document is made the same way and none can make the server fetch a URL. WeasyPrint may read
the package's own files (templates, fonts) and inline ``data:`` URLs, nothing from the network: the product never
needs the internet, and text that came from a case (a note, a title, a name) must never be able to make the server
reach out. A resource it cannot read fails the rendering rather than leave a silent gap in a PDF a court receives.
WeasyPrint (and pango behind it) is imported on use: only the commands and routes that render pay for loading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF (the evidence pack carries the canonical JSON its sha256 covers)."""

    name: str
    content: str
    description: str


def html_to_pdf(html: str, *, base_url: str | Path = ".", attachments: Sequence[Attachment] = ()) -> bytes:
    """``html`` as PDF bytes; relative URLs resolve against ``base_url`` (a directory of the package)."""
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"file", "data"}, fail_on_errors=True)
    embedded = [weasyprint.Attachment(string=a.content, name=a.name, description=a.description) for a in attachments]
    document = weasyprint.HTML(string=html, base_url=str(base_url), url_fetcher=fetcher)
    try:
        pdf = document.write_pdf(attachments=embedded)
    except FatalURLFetchingError as e:  # a BaseException: left alone it would pass every `except Exception`
        raise RuntimeError(f"a document may use only the package's files and data: URLs ({e})") from e
    if pdf is None:  # only without a target; kept for the type checker
        raise RuntimeError("WeasyPrint wrote no PDF")
    return bytes(pdf)
