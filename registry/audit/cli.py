"""``registry audit verify|checkpoint|export-checkpoints|public-key``: one line per finding, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from registry.audit import checkpoints, service, signing
from registry.db.engine import get_engine, read_only, session_scope
from registry.errors import RegistryError
from registry.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="The audit log.")

T = TypeVar("T")


def _or_exit(step: Callable[[], T]) -> T:
    """Configuration and database failures as one line and exit 1 (a traceback helps nobody at 3 a.m.)."""
    try:
        return step()
    except service.ChainBroken as e:
        for p in e.details or [e.message]:
            typer.echo(f"TAMPERED: {p}", err=True)
    except RegistryError as e:
        typer.echo(f"error: {e.message}", err=True)
    except SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        lines = str(cause).strip().splitlines() or [type(e).__name__]
        typer.echo(f"error: the database refused: {type(e).__name__}: {lines[0]}", err=True)
    except OSError as e:  # the checkpoint file or the key file
        typer.echo(f"error: {e.filename or ''}: {e.strerror or e}".replace("error: : ", "error: "), err=True)
    except ValueError as e:  # settings that do not validate
        lines = str(e).strip().splitlines()
        typer.echo(f"error: {' '.join(line.strip() for line in lines[:3])}", err=True)
    raise typer.Exit(1)


@app.command()
def verify(
    checkpoint_file: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="checkpoint file to check against besides the table (default REGISTRY_AUDIT_CHECKPOINT_FILE)",
    ),
    public_key: list[str] | None = typer.Option(
        None,
        "--public-key",
        help="trust only this Ed25519 public key (PEM file, PEM or 64 hex characters); repeat for rotated keys. "
        "Default: the public half of REGISTRY_AUDIT_SIGNING_KEY",
    ),
    strict: bool = typer.Option(False, "--strict", help="exit 1 on warnings too (no checkpoint, missing file)"),
) -> None:
    """Check the hash chain and every signed checkpoint; exit 1 and name the rows if anything was rewritten."""

    def run() -> service.VerifyResult:
        settings = get_settings()
        keys = (
            [signing.parse_public_key(k, "--public-key") for k in public_key]
            if public_key
            else signing.trusted_public_keys(settings)
        )
        path = checkpoint_file or signing.checkpoint_file(settings)
        with session_scope(service.consistent_reader(get_engine())) as s:
            return service.verify(s, public_keys=keys, checkpoint_file=path)

    result = _or_exit(run)
    for w in result.warnings:
        typer.echo(f"WARNING: {w}", err=True)
    if result.ok:
        against = (
            f"against {result.checkpoints} signed checkpoint(s), the newest at event {result.newest_checkpoint_event}"
            if result.checkpoints
            else "without a checkpoint"
        )
        typer.echo(f"audit log intact: {result.checked} events verified {against}")
        if strict and result.warnings:
            raise typer.Exit(1)
        return
    for p in result.problems:
        typer.echo(f"TAMPERED: {p}", err=True)
    raise typer.Exit(1)


@app.command()
def checkpoint() -> None:
    """Sign the chain's head now (REGISTRY_AUDIT_SIGNING_KEY) into the table and the checkpoint file."""

    def run() -> tuple[service.CheckpointResult, Path]:
        settings = get_settings()
        path = signing.checkpoint_file(settings)
        signer = signing.load_signer(settings)
        return service.checkpoint(engine=get_engine(), signer=signer, export_to=path), path

    result, path = _or_exit(run)
    cp = result.written
    if cp is None:
        base = result.base
        typer.echo(
            f"nothing to sign: no new event since checkpoint {base.id} (event {base.event_id})"
            if base
            else "nothing to sign: the audit log is empty"
        )
    else:
        typer.echo(f"checkpoint {cp.id}: event {cp.event_id}, head {cp.head_hash}, key {cp.key_id}")
    if result.exported:
        typer.echo(f"{result.exported} checkpoint(s) appended to {path}")


@app.command("export-checkpoints")
def export_checkpoints(
    file: str = typer.Argument(..., help="file to append to (created if missing), or - for standard output"),
) -> None:
    """Copy the table's checkpoints to FILE (another host, WORM storage): lines it lacks are appended, none removed."""

    def run() -> list[checkpoints.Checkpoint]:
        with session_scope(read_only(get_engine())) as s:
            return service.list_checkpoints(s)

    every = _or_exit(run)
    if file == "-":
        sys.stdout.buffer.write(b"".join(cp.line() for cp in every))
        sys.stdout.flush()
        return
    try:
        n = checkpoints.export(every, Path(file))
    except OSError as e:
        typer.echo(f"error: cannot write {file}: {e.strerror or e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{n} checkpoint(s) appended to {file} ({len(every)} in the table)")


@app.command("public-key")
def show_public_key() -> None:
    """Print the public key of REGISTRY_AUDIT_SIGNING_KEY (PEM), for `registry audit verify --public-key`."""
    signer = _or_exit(lambda: signing.load_signer(get_settings()))
    typer.echo(signing.public_pem(signer.public_key), nl=False)


@app.callback()
def _group() -> None:
    """The audit log."""
