"""``registry export transfers --format parquet``: the transfer store as Parquet files, the hand-off to a cluster.

A Spark cluster that cannot reach the registry's database (or should not load it) reads these files instead
(``REGISTRY_SPARK_SOURCE=parquet``, ``REGISTRY_SPARK_PARQUET=<dir>``); any other tool reads them too. Layout:

- ``transfers/part-NNNNN.parquet``: one file per ``EXPORT_ROWS`` transfers, in id order: ``id``, ``network``,
  ``tx_id``, ``idx``, ``block``, ``block_time`` (UTC, microseconds), ``from_id``, ``to_id``, ``asset_id``,
  ``amount`` (exact base units, text), ``value`` (the same as a double);
- ``addresses/part-NNNNN.parquet``: the address dictionary, ``id``, ``family``, ``address`` (join ``from_id`` and
  ``to_id`` on ``id``);
- ``assets.parquet``: ``id``, ``network``, ``asset`` (join ``asset_id``);
- ``manifest.json``: what was exported (row counts, the highest transfer id, when), written last: a directory
  without it is an interrupted export.

The export reads in one transaction (``REPEATABLE READ`` on PostgreSQL; a SQLite read transaction sees one
snapshot too), so the files are one consistent state of the store even while a sync writes. It is written into a
temporary directory beside the target and renamed into place at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Engine

from registry.db.engine import read_only, session_scope
from registry.errors import InvalidInput
from registry.transfers import store

EXPORT_ROWS = 1_000_000
"""Rows per Parquet file (about 40-60 MB of transfers): big enough for Spark's scans, small enough to write
with bounded memory."""

FORMAT = "registry-transfers/1"

TRANSFERS = pa.schema(
    [
        ("id", pa.int64()),
        ("network", pa.string()),
        ("tx_id", pa.string()),
        ("idx", pa.int32()),
        ("block", pa.int64()),
        ("block_time", pa.timestamp("us", tz="UTC")),
        ("from_id", pa.int64()),
        ("to_id", pa.int64()),
        ("asset_id", pa.int32()),
        ("amount", pa.string()),
        ("value", pa.float64()),
    ]
)
ADDRESSES = pa.schema([("id", pa.int64()), ("family", pa.string()), ("address", pa.string())])
ASSETS = pa.schema([("id", pa.int32()), ("network", pa.string()), ("asset", pa.string())])

Progress = Callable[[int, int], None]
"""``(transfers written, of)``."""


@dataclass(frozen=True)
class ExportSummary:
    format: str
    transfers: int
    max_id: int
    addresses: int
    assets: int
    files: int
    created: str


def export_transfers(
    engine: Engine, out: Path, *, replace: bool = False, progress: Progress | None = None
) -> ExportSummary:
    """Write the transfer store under ``out`` (which must not exist, or be empty, unless ``replace``)."""
    if out.exists() and any(out.iterdir()) and not replace:
        raise InvalidInput(f"{out} exists and is not empty; pass --replace to overwrite it")
    with session_scope(engine) as s:  # rows written around the writer get their ids first: the files carry ids
        if store.has_unassigned(s.connection()):
            store.assign_missing_ids(s.connection())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        summary = _write(engine, tmp, progress or (lambda *_: None))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        return summary
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write(engine: Engine, tmp: Path, progress: Progress) -> ExportSummary:
    sqlite = engine.dialect.name == "sqlite"
    ro = read_only(engine)
    if not sqlite:
        ro = ro.execution_options(isolation_level="REPEATABLE READ")
    (tmp / "transfers").mkdir()
    (tmp / "addresses").mkdir()
    with ro.connect() as conn, conn.begin():
        raw: Any = conn.connection.dbapi_connection
        count, top = _one(raw, "SELECT count(*), COALESCE(max(id), 0) FROM transfer")
        cols = "id, network, tx_id, idx, block, block_time, from_id, to_id, asset_id, amount, value"
        written = files = 0
        for table in _tables(raw, sqlite, f"SELECT {cols} FROM transfer WHERE id <= {int(top)} ORDER BY id", TRANSFERS):
            pq.write_table(table, tmp / "transfers" / f"part-{files:05d}.parquet")
            files += 1
            written += table.num_rows
            progress(written, count)
        addresses = 0
        for i, table in enumerate(
            _tables(raw, sqlite, "SELECT id, family, address FROM address ORDER BY id", ADDRESSES)
        ):
            pq.write_table(table, tmp / "addresses" / f"part-{i:05d}.parquet")
            addresses += table.num_rows
        assets = pa.Table.from_pylist([], schema=ASSETS)
        for table in _tables(raw, sqlite, "SELECT id, network, asset FROM transfer_asset ORDER BY id", ASSETS):
            assets = pa.concat_tables([assets, table])
        pq.write_table(assets, tmp / "assets.parquet")
    summary = ExportSummary(
        FORMAT, written, int(top), addresses, assets.num_rows, files, datetime.now(UTC).isoformat(timespec="seconds")
    )
    (tmp / "manifest.json").write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _one(raw: Any, sql: str) -> tuple[int, int]:
    cur = raw.cursor()
    try:
        cur.execute(sql)
        a, b = cur.fetchone()
        return int(a), int(b)
    finally:
        cur.close()


def _tables(raw: Any, sqlite: bool, sql: str, schema: pa.Schema) -> Iterator[pa.Table]:
    """The rows of ``sql`` as Arrow tables of up to ``EXPORT_ROWS`` rows (a PostgreSQL server-side cursor: the
    result is never held whole in memory)."""
    cur = raw.cursor() if sqlite else raw.cursor("registry_export")  # psycopg: a named (server-side) cursor
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(EXPORT_ROWS):
            columns = list(zip(*rows, strict=True))
            arrays = []
            for field, column in zip(schema, columns, strict=True):
                if pa.types.is_timestamp(field.type) and isinstance(column[0], str):
                    # SQLite keeps UtcDateTime as UTC text without a zone: Arrow parses it in C.
                    arrays.append(pa.array(column, pa.string()).cast(pa.timestamp("us")).cast(field.type))
                else:
                    arrays.append(pa.array(column, field.type))
            yield pa.Table.from_arrays(arrays, schema=schema)
    finally:
        cur.close()
