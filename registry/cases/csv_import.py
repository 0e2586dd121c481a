"""Parsing a CSV of listings for one case: all or nothing, bad rows reported with their line and reason.

Parsing is pure (byte chunks in, checked rows and errors out) so that every malformed-file case is tested without
a database; the service inserts only when there is no error. The parser pulls the file as an iterable of byte
chunks, decoded and split into lines as it goes, so the HTTP route feeds it the body as it arrives
(``parse_stream``): a file of ``REGISTRY_MAX_CSV_ROWS`` rows (tens of MB) is never held as bytes, text and lines
at once, and a file over the row limit is refused as soon as the limit is passed.

A file with many bad rows is reported in full count but not in full: the first ``MAX_ERRORS`` errors are listed
with the total, so 75,000 bad rows answer a small 422 instead of a 10 MB one.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import anyio.from_thread
import anyio.to_thread
from pydantic import ValidationError

from registry.cases.checks import CheckedListing, check_listing
from registry.cases.models import ListingCreate, RowError
from registry.errors import RegistryError

REQUIRED = ("address", "category", "confidence", "legal_basis")
OPTIONAL = ("chain", "evidence_note", "valid_until")
MAX_ERRORS = 1000
"""Errors listed in a 422 (``details.errors``); ``details.total`` counts them all."""

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_EOL = re.compile(r"\r\n|\r|\n")


@dataclass
class ParsedCsv:
    """What a file holds: its good rows, its first ``max_errors`` errors and their total count."""

    max_rows: int
    max_errors: int = MAX_ERRORS
    checked: list[CheckedListing] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_errors: int = 0
    over_limit_line: int | None = None
    """The line at which the file passed ``max_rows`` (parsing stopped there), or None."""

    @property
    def truncated(self) -> bool:
        return self.total_errors > len(self.errors)

    def add(self, error: RowError) -> None:
        self.total_errors += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)


class _Unreadable(Exception):
    """The bytes are not a text file (not UTF-8, or a NUL): nothing after this point can be parsed."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.reason)
        self.error = error


def _fatal(line: int, reason: str) -> _Unreadable:
    return _Unreadable(RowError(line=line, column=None, value=None, reason=reason))


def _lines(chunks: Iterable[bytes]) -> Generator[str, None, None]:
    """Lines with their ends, split where ``io.StringIO(newline="")`` splits (``\\n``, ``\\r\\n``, ``\\r``), from
    UTF-8 chunks cut anywhere (inside a character, between ``\\r`` and ``\\n``). The unfinished line is kept as a
    list of pieces, so a file without line ends costs linear time, not a copy per chunk."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    pending: list[str] = []  # the unfinished line
    done = 0  # lines yielded
    for chunk, final in _with_end(chunks):
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as e:
            before = e.object[: e.start] if isinstance(e.object, bytes) else b""
            line = done + len(_EOL.findall("".join(pending))) + before.count(b"\n") + 1
            raise _fatal(line, "not UTF-8 text (save the file as UTF-8)") from None
        nul = text.find("\x00")
        if nul != -1:
            line = done + len(_EOL.findall("".join(pending) + text[:nul])) + 1
            raise _fatal(line, "NUL byte: this is not a text CSV file")
        if not final and "\n" not in text and "\r" not in text:
            pending.append(text)
            continue
        buf = "".join(pending) + text if pending else text
        pos = 0
        for m in _LINE.finditer(buf):
            if not final and m.end() == len(buf) and buf.endswith("\r"):
                break  # maybe the first half of \r\n: wait for the next chunk
            yield m.group()
            done += 1
            pos = m.end()
        pending = [buf[pos:]] if pos < len(buf) else []
    if pending:
        yield "".join(pending)


def _with_end(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    for chunk in chunks:
        yield chunk, False
    yield b"", True  # flushes the decoder: a file cut inside a character is not UTF-8


def parse_chunks(chunks: Iterable[bytes], now: datetime, max_rows: int, max_errors: int = MAX_ERRORS) -> ParsedCsv:
    """Check every row of the file arriving as ``chunks``; stops at the first unreadable byte or past ``max_rows``."""
    out = ParsedCsv(max_rows=max_rows, max_errors=max_errors)
    lines = _lines(chunks)
    try:
        _parse(lines, out, now, max_rows)
    finally:
        lines.close()
    return out


def _parse(lines: Iterator[str], out: ParsedCsv, now: datetime, max_rows: int) -> None:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        out.add(RowError(line=1, column=None, value=None, reason="the file is empty; expected a header row"))
        return
    except csv.Error as e:
        out.add(RowError(line=1, column=None, value=None, reason=f"unreadable header: {e}"))
        return
    except _Unreadable as e:
        out.add(e.error)
        return
    columns = [h.strip().lower() for h in header]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    missing = [c for c in REQUIRED if c not in columns]
    dup_cols = sorted({c for c in columns if columns.count(c) > 1})
    if unknown or missing or dup_cols:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if dup_cols:
            parts.append(f"repeated column(s) {', '.join(dup_cols)}")
        allowed = ", ".join(REQUIRED + OPTIONAL)
        out.add(RowError(line=1, column=None, value=None, reason=f"{'; '.join(parts)} (allowed: {allowed})"))
        return

    first_seen: dict[tuple[str, str, str], int] = {}
    rows = 0
    prev_end = 1
    while True:
        start = prev_end + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            out.add(RowError(line=start, column=None, value=None, reason=f"broken CSV: {e}"))
            break
        except _Unreadable as e:
            out.add(e.error)
            break
        prev_end = reader.line_num
        if not record or all(not f.strip() for f in record):
            continue
        rows += 1
        if rows > max_rows:
            out.over_limit_line = start
            out.add(RowError(line=start, column=None, value=None, reason=f"more than {max_rows} rows; split the file"))
            break
        if len(record) != len(columns):
            out.add(
                RowError(
                    line=start,
                    column=None,
                    value=None,
                    reason=f"{len(record)} fields where the header has {len(columns)}",
                )
            )
            continue
        fields = {c: v.strip() for c, v in zip(columns, record, strict=True)}
        raw: dict[str, object] = {k: v for k, v in fields.items() if v != "" or k in REQUIRED}
        try:
            item = ListingCreate.model_validate(raw)
        except ValidationError as e:
            for err in e.errors():
                col = str(err["loc"][0]) if err.get("loc") else None
                out.add(RowError(line=start, column=col, value=fields.get(col or ""), reason=err["msg"]))
            continue
        try:
            c = check_listing(item, now)
        except RegistryError as e:
            col = (e.details or {}).get("field") if isinstance(e.details, dict) else None
            out.add(RowError(line=start, column=col, value=fields.get(col or ""), reason=e.message))
            continue
        key = (c.family, c.address, c.category)
        if key in first_seen:
            out.add(
                RowError(
                    line=start,
                    column="address",
                    value=fields["address"],
                    reason=f"same address and category as line {first_seen[key]}",
                )
            )
            continue
        first_seen[key] = start
        if not out.total_errors:  # a file with an error is refused whole: its good rows need not be kept
            out.checked.append(c)
    if not out.total_errors and not out.checked:
        out.add(RowError(line=2, column=None, value=None, reason="the file has a header but no rows"))


def parse_listings_csv(data: bytes, now: datetime, max_rows: int) -> tuple[list[CheckedListing], list[RowError]]:
    """The whole file at once: its good rows and its first ``MAX_ERRORS`` errors."""
    parsed = parse_chunks([data], now, max_rows)
    return parsed.checked, parsed.errors


async def parse_stream(chunks: AsyncIterator[bytes], now: datetime, max_rows: int) -> ParsedCsv:
    """Parse a request body while it arrives: the event loop pushes chunks, a worker thread parses them.

    The csv module pulls lines, so the parser runs in a thread of its own (the loop stays free for screening)
    and blocks there for the next chunk; a small buffer between the two holds back a client that sends faster
    than the file is checked. When the parser stops early (row limit, unreadable bytes, a broken header) the rest
    of the body is read and dropped, so that the client, still sending, gets the answer rather than a reset
    connection; the body limit bounds what is read.
    """
    send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=8)
    parsed: list[ParsedCsv] = []
    failures: list[Exception] = []

    def pull() -> Iterator[bytes]:
        while True:
            try:
                yield anyio.from_thread.run(receive.receive)
            except anyio.EndOfStream:
                return

    async def run_parser() -> None:
        try:
            parsed.append(await anyio.to_thread.run_sync(lambda: parse_chunks(pull(), now, max_rows)))
        except Exception as e:  # handed to the caller below: a task group would wrap it in an ExceptionGroup
            failures.append(e)
        finally:
            receive.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_parser)
        try:
            async with send:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    try:
                        await send.send(chunk)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        break
            async for _ in chunks:
                pass
        except Exception as e:  # the body limit (413) or a client that went away
            failures.append(e)
    if failures:  # the body limit or a lost client, before an error of the parser caused by the cut-off body
        raise next((e for e in failures if isinstance(e, RegistryError)), failures[0])
    return parsed[0]
