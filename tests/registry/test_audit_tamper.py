"""Tampering by someone with database rights and our source: every edit is caught, recomputed chains included.

Each attack here drops the triggers first (as a DBA can) and, where the chain alone would catch it, also recomputes
the chain with the product's ``compute_hash`` and fixes the counter, so that only the signed checkpoints (taken
before, kept in the table and in a file outside the database) can tell. Before checkpoints existed, ``registry
audit verify`` called every one of these logs intact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr, ValidationError
from sqlalchemy import insert, inspect, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from registry.audit import checkpoints, service, signing
from registry.audit.jobs import jobs
from registry.audit.service import ChainBroken, VerifyResult, compute_hash, verify
from registry.audit.signing import Signer
from registry.audit.tables import AuditEvent
from registry.db.engine import dispose_engines, session_scope
from registry.settings import Settings, get_settings
from tests.registry import audit_helpers as dba

HASHED = [
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_org",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "prev_hash",
]
"""Written out here, not derived from the product: a column the product forgets to hash must fail a test."""

NEW_VALUES: dict[str, Any] = {
    "at": datetime(2020, 1, 1, 12, 0, tzinfo=UTC),
    "actor_kind": "key",
    "actor_id": "4242",
    "actor_org": "Someone Else LLP",
    "actor_role": "supervisor",
    "action": "listing.delist",
    "entity_type": "listing",
    "entity_id": "999",
    "before": {"v": -1},
    "after": {"v": 1000, "note": "nothing to see"},
    "prev_hash": "f" * 64,
}


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


@pytest.fixture
def cp_file(tmp_path: Path) -> Path:
    return tmp_path / "offsite" / "audit-checkpoints.jsonl"


@pytest.fixture
def take(engine: Engine, signer: Signer, cp_file: Path) -> Callable[[], service.CheckpointResult]:
    return lambda: service.checkpoint(engine=engine, signer=signer, export_to=cp_file)


@pytest.fixture
def check(engine: Engine, signer: Signer, cp_file: Path) -> Callable[[], VerifyResult]:
    def run() -> VerifyResult:
        with session_scope(engine) as s:  # batch=2: checkpoints are matched across batch boundaries
            return verify(s, 2, public_keys=[signer.public_key], checkpoint_file=cp_file)

    return run


def _names(problems: list[str], event_id: int) -> bool:
    pattern = re.compile(rf"\b(row|event)s? {event_id}\b|\bevents \d+ and {event_id}\b")
    return any(pattern.search(p) for p in problems)


# --- every hashed column ---------------------------------------------------------------------------------------


def test_the_hash_covers_every_column_but_itself(engine: Engine) -> None:
    model_columns = set(dba.EVENTS.columns.keys())
    database_columns = {c["name"] for c in inspect(engine).get_columns("audit_event")}
    assert database_columns == model_columns  # a migration cannot add a column the model (and hash) lacks
    assert model_columns - {"hash"} == set(HASHED)
    fields: dict[str, Any] = {
        "id": 1,
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "actor_kind": "cli",
        "actor_id": "local",
        "actor_org": "operator",
        "actor_role": "admin",
        "action": "test.event",
        "entity_type": "thing",
        "entity_id": "1",
        "before": {"v": 1},
        "after": {"v": 2},
        "prev_hash": "0" * 64,
        "hash": "",
    }
    assert set(fields) == model_columns
    original = compute_hash(AuditEvent(**fields))
    for column in model_columns - {"hash"}:
        edited = AuditEvent(**{**fields, column: 2 if column == "id" else NEW_VALUES[column]})
        assert compute_hash(edited) != original, f"{column} is not covered by the hash"
    assert compute_hash(AuditEvent(**{**fields, "hash": "x" * 64})) == original


@pytest.mark.parametrize("column", HASHED)
def test_editing_any_hashed_column_is_named_even_after_the_chain_is_recomputed(
    engine: Engine,
    column: str,
    take: Callable[[], service.CheckpointResult],
    check: Callable[[], VerifyResult],
) -> None:
    for i in range(5):  # a checkpoint after every event, so the checkpoint can name the row
        dba.some_events(engine, 1, start=i)
        assert take().written is not None
    assert check().ok
    dba.drop_event_guards(engine)
    with engine.begin() as c:
        if column == "id":
            dba.swap_ids(c, 3, 4)
        else:
            c.execute(update(dba.EVENTS).where(dba.EVENTS.c.id == 3).values({column: NEW_VALUES[column]}))

    naive = check()
    assert not naive.ok and _names(naive.problems, 3), naive.problems

    dba.recompute_chain(engine)
    covered = check()
    if column == "prev_hash":  # recomputing the links undoes this edit: the log is the true one again
        assert covered.ok, covered.problems
        return
    assert not covered.ok, "a recomputed chain passed: the checkpoints did not catch it"
    assert all(p.startswith("checkpoint") for p in covered.problems), covered.problems  # the chain alone: intact
    assert any(p.startswith("checkpoint 3 ") and "rewritten at event 3 " in p for p in covered.problems)
    assert not any("rewritten" in p and "checkpoint 2 " in p for p in covered.problems)  # rows 1-2 are intact


# --- attacks that keep the chain consistent ----------------------------------------------------------------------


def _forge_row(c: Connection) -> None:
    dba.insert_forged_row(c, 3)


def _delete_middle(c: Connection) -> None:
    dba.delete_row(c, 3)


def _reorder(c: Connection) -> None:
    dba.swap_contents(c, 2, 4)


def _cut_tail(c: Connection) -> None:
    dba.cut_tail(c, 5)


def _edit(c: Connection) -> None:
    c.execute(update(dba.EVENTS).where(dba.EVENTS.c.id == 4).values(after={"v": "rewritten"}))


ATTACKS: dict[str, tuple[Callable[[Connection], None], str]] = {
    "insert a forged row": (_forge_row, "rewritten between events 2 and 6"),
    "delete a middle row": (_delete_middle, "signed event 6, which is not in the log"),
    "reorder two rows": (_reorder, "rewritten between events 2 and 6"),
    "cut the tail and lower the counter": (_cut_tail, "signed event 6, which is not in the log"),
    "edit a row and recompute the chain": (_edit, "rewritten between events 2 and 6"),
}


@pytest.mark.parametrize("hide_checkpoints", [False, True], ids=["checkpoints-kept", "checkpoint-rows-deleted"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_recomputed_attacks_are_caught_by_a_checkpoint_taken_before(
    engine: Engine,
    attack: str,
    hide_checkpoints: bool,
    take: Callable[[], service.CheckpointResult],
    check: Callable[[], VerifyResult],
    cp_file: Path,
) -> None:
    tamper, expect = ATTACKS[attack]
    dba.some_events(engine, 1)
    take()
    dba.some_events(engine, 5, start=1)
    take()
    assert check().ok
    dba.drop_event_guards(engine)
    with engine.begin() as c:
        tamper(c)
    dba.recompute_chain(engine)  # ids, links, hashes and counter all consistent again
    if hide_checkpoints:
        dba.drop_checkpoint_guards(engine)
        with engine.begin() as c:
            c.execute(text("DELETE FROM audit_checkpoint"))

    result = check()
    assert not result.ok
    assert all("checkpoint" in p for p in result.problems), result.problems  # the chain alone says intact
    assert any(expect in p for p in result.problems), result.problems
    if hide_checkpoints:
        assert any(f"checkpoint 2 (file line 2, event 6) is in {cp_file}" in p for p in result.problems)
    if "counter" in attack:
        assert any("the audit counter is 4, below the 6 events checkpoint 2 signed" in p for p in result.problems)


def test_without_a_checkpoint_a_recomputed_chain_passes_with_a_warning(
    engine: Engine, check: Callable[[], VerifyResult]
) -> None:
    """Why checkpoints exist: the chain alone cannot tell a recomputed log from the true one."""
    dba.some_events(engine, 4)
    dba.drop_event_guards(engine)
    with engine.begin() as c:
        _edit(c)
    dba.recompute_chain(engine)
    result = check()
    assert result.ok and result.checked == 4
    assert any(w.startswith("no signed checkpoint") for w in result.warnings), result.warnings
    assert any("does not exist" in w for w in result.warnings)  # the checkpoint file was never written


def test_the_counter_lowered_below_a_checkpoint_is_caught(
    engine: Engine, take: Callable[[], service.CheckpointResult], check: Callable[[], VerifyResult]
) -> None:
    dba.some_events(engine, 3)
    take()
    dba.set_counter(engine, 2)
    result = check()
    assert not result.ok
    assert any("the audit counter is 2, below the 3 events checkpoint 1 signed" in p for p in result.problems)


# --- the checkpoints themselves -------------------------------------------------------------------------------


def test_a_checkpoint_row_deleted_from_the_table_is_still_in_the_file(
    engine: Engine, take: Callable[[], service.CheckpointResult], check: Callable[[], VerifyResult], cp_file: Path
) -> None:
    for i in range(3):
        dba.some_events(engine, 1, start=i)
        take()
    assert len(cp_file.read_text().splitlines()) == 3
    dba.drop_checkpoint_guards(engine)
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_checkpoint WHERE id IN (2, 3)"))
    result = check()
    assert not result.ok
    assert f"checkpoint 2 (file line 2, event 2) is in {cp_file} but not in the audit_checkpoint table (deleted)" in (
        result.problems
    )
    assert any(p.startswith("checkpoint 3 (file line 3, event 3)") for p in result.problems)


def test_a_gap_in_the_checkpoint_table_is_caught_without_the_file(
    engine: Engine, signer: Signer, take: Callable[[], service.CheckpointResult]
) -> None:
    for i in range(3):
        dba.some_events(engine, 1, start=i)
        take()
    dba.drop_checkpoint_guards(engine)
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_checkpoint WHERE id = 2"))
    with session_scope(engine) as s:
        result = verify(s, public_keys=[signer.public_key])
    assert "checkpoint row 2 is missing from the audit_checkpoint table (deleted)" in result.problems


def _forged(signer: Signer, real: checkpoints.Checkpoint, how: str, head_hash: str) -> checkpoints.Checkpoint:
    if how == "copied-signature":  # the real key id and a real signature, over other content
        return checkpoints.Checkpoint(real.id + 1, real.event_id, head_hash, real.at, real.key_id, real.signature)
    other = Signer(Ed25519PrivateKey.generate())  # the forger's own key
    return checkpoints.sign(other, real.id + 1, real.event_id, head_hash, datetime.now(UTC))


@pytest.mark.parametrize("where", ["table", "file"])
@pytest.mark.parametrize("how", ["copied-signature", "own-key"])
def test_a_forged_checkpoint_fails(
    engine: Engine,
    signer: Signer,
    take: Callable[[], service.CheckpointResult],
    check: Callable[[], VerifyResult],
    cp_file: Path,
    where: str,
    how: str,
) -> None:
    dba.some_events(engine, 3)
    real = take().written
    assert real is not None
    forged = _forged(signer, real, how, "ab" * 32)
    if where == "table":
        with engine.begin() as c:  # appending a row is allowed: the signature is what gives it away
            c.execute(insert(dba.CHECKPOINTS).values(**checkpoints.to_row(forged).model_dump()))
    else:
        checkpoints.append(cp_file, [forged])
    result = check()
    assert not result.ok
    why = "signature does not verify" if how == "copied-signature" else "which is not a trusted key"
    label = "table" if where == "table" else "file line 2"
    assert any(p.startswith(f"checkpoint 2 ({label}): ") and why in p for p in result.problems), result.problems
    if where == "table":
        dba.some_events(engine, 1, start=10)
        if how == "copied-signature":  # it claims our key: nothing gets signed on top of it
            with pytest.raises(ChainBroken, match="checkpoint 2 in the table: signature does not verify"):
                take()
        else:  # another key's: passed over, the chain is checked from our own last checkpoint
            written = take().written
            assert written is not None and written.id == 3


def test_a_file_line_that_is_not_a_checkpoint_is_a_problem(
    engine: Engine, take: Callable[[], service.CheckpointResult], check: Callable[[], VerifyResult], cp_file: Path
) -> None:
    dba.some_events(engine, 2)
    take()
    with cp_file.open("a") as f:
        f.write('{"algorithm": "Ed25519", "format": "registry.audit.check')  # a writer caught mid-line
    result = check()
    assert result.ok and any("the last line is incomplete" in w for w in result.warnings)
    with cp_file.open("a") as f:
        f.write('point/1"}\n{"id": "1"}\n')
    result = check()
    assert any(p.startswith(f"checkpoint file {cp_file} line 2: missing id") for p in result.problems)
    assert any(p.startswith(f"checkpoint file {cp_file} line 3: not a registry") for p in result.problems)


def test_the_database_refuses_to_change_checkpoints(
    engine: Engine, take: Callable[[], service.CheckpointResult]
) -> None:
    dba.some_events(engine, 2)
    take()
    statements = ["UPDATE audit_checkpoint SET event_id = 1", "DELETE FROM audit_checkpoint"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_checkpoint")
    for stmt in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text(stmt))


_COPY = "{verb} INTO {table} ({cols}) SELECT {vals} FROM {table} WHERE id = 1{tail}"  # WHERE: SQLite's upsert needs it


def _replacing_inserts(engine: Engine, table: str) -> list[str]:
    cols = [c["name"] for c in inspect(engine).get_columns(table)]
    changed = "actor_org" if table == "audit_event" else "head_hash"
    vals = ", ".join(f"'{'x' * 64}'" if c == changed else c for c in cols)
    fill = {"table": table, "cols": ", ".join(cols), "vals": vals}
    upsert = f" ON CONFLICT (id) DO UPDATE SET {changed} = excluded.{changed}"
    if engine.dialect.name == "postgresql":
        return [_COPY.format(verb="INSERT", tail=upsert, **fill)]
    return [
        _COPY.format(verb="INSERT OR REPLACE", tail="", **fill),
        _COPY.format(verb="REPLACE", tail="", **fill),
        _COPY.format(verb="INSERT", tail=upsert, **fill),
    ]


@pytest.mark.parametrize("table", ["audit_event", "audit_checkpoint"])
def test_an_insert_that_would_replace_a_row_is_refused(
    engine: Engine, table: str, take: Callable[[], service.CheckpointResult], check: Callable[[], VerifyResult]
) -> None:
    dba.some_events(engine, 2)
    take()
    for stmt in _replacing_inserts(engine, table):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text(stmt))
    with engine.connect() as c:
        assert (
            c.execute(
                text(
                    f"SELECT COUNT(*) FROM {table} WHERE {'actor_org' if table == 'audit_event' else 'head_hash'} = :x"
                ),
                {"x": "x" * 64},
            ).scalar()
            == 0
        )
    assert check().ok


# --- writing checkpoints --------------------------------------------------------------------------------------


@pytest.fixture
def job_settings(db_url: str, signer: Signer, cp_file: Path) -> Iterator[Settings]:
    yield Settings(
        database_url=db_url,
        audit_signing_key=SecretStr(_pem(signer.private_key)),
        audit_checkpoint_file=str(cp_file),
    )
    dispose_engines()


def test_the_job_signs_only_when_the_head_moved(
    engine: Engine, job_settings: Settings, signer: Signer, cp_file: Path, check: Callable[[], VerifyResult]
) -> None:
    from registry.audit.feature import FEATURE
    from registry.features import FEATURES

    assert FEATURE in FEATURES and FEATURE.jobs is jobs
    (spec,) = jobs(job_settings)
    assert spec.id == "audit:checkpoint" and spec.seconds == 3600
    assert spec.func() == "head unchanged (empty log)"
    dba.some_events(engine, 3)
    assert str(spec.func()).startswith("checkpoint 1: event 3")
    assert spec.func() == "head unchanged since checkpoint 1 (event 3)"
    assert spec.func() == "head unchanged since checkpoint 1 (event 3)"
    dba.some_events(engine, 1, start=3)
    assert str(spec.func()).startswith("checkpoint 2: event 4")
    lines = [orjson.loads(line) for line in cp_file.read_text().splitlines()]
    assert [(c["id"], c["event_id"]) for c in lines] == [(1, 3), (2, 4)]
    with engine.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM audit_checkpoint")).scalar() == 2
    body = {k: v for k, v in lines[1].items() if k != "signature"}  # a verifier elsewhere needs only the public key
    assert signing.verify_signature(
        signer.public_key, lines[1]["signature"], orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    )
    assert check().ok


def test_a_checkpoint_missing_from_the_file_is_appended_on_the_next_run(
    engine: Engine, take: Callable[[], service.CheckpointResult], cp_file: Path, check: Callable[[], VerifyResult]
) -> None:
    dba.some_events(engine, 2)
    take()
    cp_file.unlink()  # the write to the file was lost (disk full, host down)
    result = check()
    assert result.ok and any("does not exist" in w for w in result.warnings)
    assert take().exported == 1  # head unchanged: nothing signed, but the file is caught up
    assert check().ok and not check().warnings


def test_an_unwritable_checkpoint_file_is_an_error_that_heals(
    engine: Engine, signer: Signer, tmp_path: Path, take: Callable[[], service.CheckpointResult], cp_file: Path
) -> None:
    dba.some_events(engine, 2)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    with pytest.raises(service.CheckpointFileError, match="checkpoint 1 is in the table, but .* could not be written"):
        service.checkpoint(engine=engine, signer=signer, export_to=blocked / "checkpoints.jsonl")
    result = take()
    assert result.written is None and result.exported == 1


def test_nothing_is_signed_on_top_of_a_broken_chain(
    engine: Engine, take: Callable[[], service.CheckpointResult]
) -> None:
    dba.some_events(engine, 3)
    take()
    dba.some_events(engine, 2, start=3)
    dba.drop_event_guards(engine)
    with engine.begin() as c:
        c.execute(update(dba.EVENTS).where(dba.EVENTS.c.id == 5).values(entity_id="edited"))
    with pytest.raises(ChainBroken, match="row 5: content does not match"):
        take()
    dba.recompute_chain(engine)
    with engine.begin() as c:
        dba.cut_tail(c, 3)
    dba.set_counter(engine, 2)
    with pytest.raises(ChainBroken, match="event 3 is missing or no longer has the hash checkpoint 1 signed"):
        take()


# --- keys and settings ----------------------------------------------------------------------------------------


def test_production_refuses_to_start_without_an_audit_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("REGISTRY_AUDIT_SIGNING_KEY", raising=False)
    prod = {"env": "production", "key_pepper": "p" * 32, "database_url": "postgresql://db/registry"}
    with pytest.raises(ValidationError, match="REGISTRY_AUDIT_SIGNING_KEY must be set"):
        Settings(**prod)
    with pytest.raises(ValidationError, match="neither a PEM key nor a readable file"):
        Settings(**prod, audit_signing_key=SecretStr(str(tmp_path / "absent.pem")))
    key_file = tmp_path / "audit.pem"
    key_file.write_text(_pem(Ed25519PrivateKey.generate()))
    settings = Settings(**prod, audit_signing_key=SecretStr(str(key_file)))
    assert str(key_file) not in repr(settings)
    assert signing.load_signer(settings).key_id == signing.key_id(signing.trusted_public_keys(settings)[0])


def test_development_generates_a_key_once_and_verify_never_creates_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from registry import settings as settings_module

    monkeypatch.setattr(settings_module, "VAR_DIR", tmp_path / "var")
    settings = Settings(audit_signing_key=SecretStr(""))
    assert signing.trusted_public_keys(settings) == []
    first = signing.load_signer(settings)
    path = tmp_path / "var" / signing.DEV_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing.load_signer(settings).key_id == first.key_id
    assert [signing.key_id(k) for k in signing.trusted_public_keys(settings)] == [first.key_id]
    assert signing.checkpoint_file(settings) == tmp_path / "var" / "audit-checkpoints.jsonl"


# --- the command line -----------------------------------------------------------------------------------------


@pytest.fixture
def cli(db_url: str, tmp_path: Path, signer: Signer, cp_file: Path) -> Iterator[Callable[..., Any]]:
    from registry.cli import app

    key_file = tmp_path / "audit-key.pem"
    key_file.write_text(_pem(signer.private_key))
    runner = CliRunner()

    def run(*args: str, **env: str | None) -> Any:
        get_settings.cache_clear()
        base: dict[str, str | None] = {
            "REGISTRY_DATABASE_URL": db_url,
            "REGISTRY_AUDIT_SIGNING_KEY": str(key_file),
            "REGISTRY_AUDIT_CHECKPOINT_FILE": str(cp_file),
            "REGISTRY_ENV": "development",
        }
        try:
            return runner.invoke(app, ["audit", *args], env={**base, **env})
        finally:
            dispose_engines()

    yield run
    get_settings.cache_clear()


def test_cli_checkpoint_verify_and_exit_codes(
    engine: Engine, cli: Callable[..., Any], signer: Signer, tmp_path: Path, cp_file: Path
) -> None:
    r = cli("checkpoint")
    assert r.exit_code == 0 and "nothing to sign: the audit log is empty" in r.stdout
    dba.some_events(engine, 4)
    r = cli("checkpoint")
    assert r.exit_code == 0 and r.stdout.startswith("checkpoint 1: event 4, head ")
    assert f"1 checkpoint(s) appended to {cp_file}" in r.stdout
    assert "nothing to sign: no new event since checkpoint 1 (event 4)" in cli("checkpoint").stdout

    r = cli("verify")
    assert r.exit_code == 0, r.output
    assert "audit log intact: 4 events verified against 1 signed checkpoint(s), the newest at event 4" in r.stdout

    pub = tmp_path / "audit-public.pem"
    r = cli("public-key")
    assert r.exit_code == 0 and "BEGIN PUBLIC KEY" in r.stdout
    pub.write_text(r.stdout)
    r = cli("verify", "--public-key", str(pub), REGISTRY_AUDIT_SIGNING_KEY=None)  # only the public key at hand
    assert r.exit_code == 0, r.output
    stranger = signing.public_pem(Ed25519PrivateKey.generate().public_key())
    r = cli("verify", "--public-key", stranger)
    assert r.exit_code == 1 and "which is not a trusted key" in r.stderr

    copy = tmp_path / "elsewhere" / "copy.jsonl"
    copy.parent.mkdir()
    r = cli("export-checkpoints", str(copy))
    assert r.exit_code == 0 and "1 checkpoint(s) appended" in r.stdout
    assert cli("export-checkpoints", str(copy)).stdout.startswith("0 checkpoint(s) appended")
    assert copy.read_text() == cp_file.read_text()
    assert cli("export-checkpoints", "-").stdout == cp_file.read_text()

    dba.drop_event_guards(engine)
    with engine.begin() as c:
        _edit(c)
    dba.recompute_chain(engine)
    cp_file.unlink()  # whatever the DBA did to the local copy, the exported one still knows
    r = cli("verify", "--checkpoints", str(copy))
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert lines and all(line.startswith(("TAMPERED: ", "WARNING: ")) for line in lines), lines
    assert any("TAMPERED: checkpoint 1 (table and file line 1): the log was rewritten" in line for line in lines)
    assert "Traceback" not in r.output


def test_cli_warnings_pass_unless_strict_and_errors_are_one_line(
    engine: Engine, cli: Callable[..., Any], tmp_path: Path
) -> None:
    dba.some_events(engine, 2)
    r = cli("verify")
    assert r.exit_code == 0 and "verified without a checkpoint" in r.stdout
    assert "WARNING: no signed checkpoint" in r.stderr and "does not exist" in r.stderr
    assert cli("verify", "--strict").exit_code == 1

    r = cli("verify", REGISTRY_AUDIT_SIGNING_KEY=str(tmp_path / "nowhere.pem"))
    assert r.exit_code == 1
    assert r.stderr.startswith("error: REGISTRY_AUDIT_SIGNING_KEY is neither a PEM key nor a readable file")
    empty = tmp_path / "empty.sqlite3"
    r = cli("verify", REGISTRY_DATABASE_URL=f"sqlite:///{empty}")
    assert r.exit_code == 1 and r.stderr.startswith("error: the database refused")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output

    dba.drop_event_guards(engine)
    with engine.begin() as c:
        dba.cut_tail(c, 2)
    r = cli("checkpoint")
    assert r.exit_code == 1 and r.stderr.startswith("TAMPERED: not signing: ")
