"""The ``registry`` command ends an error with one line, ``error: …``, never a traceback (unless asked for)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from registry import cli
from registry.errors import NotFound
from tests.support.paths import PEPPER, ROOT

UNREACHABLE = "postgresql://registry:s3cret@127.0.0.1:1/registry"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        cli.main(list(args))
    code = ended.value.code
    return code if isinstance(code, int) else 1, capsys.readouterr().err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("REGISTRY_KEY_PEPPER", PEPPER)
    monkeypatch.setenv("REGISTRY_VAR_DIR", str(tmp_path / "var"))
    # Set, then deleted: monkeypatch then restores the variable's absence at teardown, also after `--debug` (which
    # sets it in this process) — a leaked REGISTRY_DEBUG=1 turned later tests' exit codes 2 into 1.
    monkeypatch.setenv("REGISTRY_DEBUG", "")
    monkeypatch.delenv("REGISTRY_DEBUG")
    return monkeypatch


def _failing_session(exc: Exception) -> Any:
    def session_scope(*_a: Any, **_k: Any) -> Any:
        raise exc

    return session_scope


def test_database_unreachable(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("REGISTRY_DATABASE_URL", UNREACHABLE)
    code, err = _run(capsys, "keys", "list")
    line = _one_error_line(err)
    assert code == 2 and line.startswith("error: database: ") and "refused" in line
    assert "s3cret" not in err


def test_schema_missing(env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("REGISTRY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    code, err = _run(capsys, "keys", "list")
    assert code == 2 and "registry db upgrade" in _one_error_line(err)


def test_registry_error_and_missing_file(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setattr("registry.auth.cli.session_scope", _failing_session(NotFound("no case with id 7")))
    code, err = _run(capsys, "keys", "list")
    assert (code, _one_error_line(err)) == (2, "error: no case with id 7")
    env.setattr(
        "registry.auth.cli.session_scope",
        _failing_session(FileNotFoundError(2, "No such file or directory", "/data/listings.csv")),
    )
    code, err = _run(capsys, "keys", "list")
    assert (code, _one_error_line(err)) == (2, "error: No such file or directory: /data/listings.csv")


def test_bad_settings(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("REGISTRY_MAX_BATCH", "zero")
    code, err = _run(capsys, "keys", "list")
    line = _one_error_line(err)
    assert code == 2 and line.startswith("error: invalid settings: REGISTRY_MAX_BATCH: "), line


def test_unexpected_error_names_the_debug_switch(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setattr("registry.auth.cli.session_scope", _failing_session(RuntimeError("boom\nsecond line")))
    code, err = _run(capsys, "keys", "list")
    line = _one_error_line(err)
    assert code == 1 and line.startswith("error: unexpected RuntimeError: boom second line")
    assert "--debug" in line and "REGISTRY_DEBUG=1" in line
    code, err = _run(capsys, "--debug", "keys", "list")
    assert code == 1 and "Traceback" in err and "RuntimeError: boom" in err
    env.delenv("REGISTRY_DEBUG")
    env.setenv("REGISTRY_DEBUG", "1")
    code, err = _run(capsys, "keys", "list")
    assert code == 1 and "Traceback" in err


def test_the_installed_command_prints_one_line(tmp_path: Path) -> None:
    """Through the real entry point, in a process of its own."""
    environ = {
        **os.environ,
        "REGISTRY_DATABASE_URL": UNREACHABLE,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
    }
    environ.pop("REGISTRY_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "registry", "keys", "list"], env=environ, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert _one_error_line(done.stderr).startswith("error: database: ")
