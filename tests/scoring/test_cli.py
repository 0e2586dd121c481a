"""``registry score`` as an operator runs it: a real process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import Engine

from registry.db.lease import acquire
from registry.scoring import queries
from registry.scoring.snapshot import load_exposure
from tests.scoring.factories import add_listing, add_transfers, addr
from tests.support.paths import PEPPER, ROOT


def run_cli(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
        "COLUMNS": "120",
    }
    return subprocess.run(
        [sys.executable, "-m", "registry", "score", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_score_command_rescores_and_reports(db_url: str, engine: Engine, tmp_path: Path) -> None:
    add_listing(engine, addr(1), "fraud")
    add_transfers(engine, [(addr(1), addr(2), 1), (addr(2), addr(3), 1)])
    r = run_cli(db_url, tmp_path, "--hops", "1")
    assert r.returncode == 0, r.stderr
    assert "2 transfers, 3 addresses, 1 exposed" in r.stdout and "H=1" in r.stdout
    assert "store scores" in r.stderr or "done" in r.stderr  # the progress bar went to stderr
    assert set(load_exposure(engine, {})) == {f"evm:{addr(2)}"}
    r = run_cli(db_url, tmp_path, "--method", "poison")
    assert r.returncode == 0, r.stderr
    assert set(load_exposure(engine, {})) == {f"evm:{addr(2)}", f"evm:{addr(3)}"}


def test_score_command_refuses_while_another_runs(db_url: str, engine: Engine, tmp_path: Path) -> None:
    assert acquire(engine, queries.LEASE, "worker-1:123", 600)
    r = run_cli(db_url, tmp_path)
    assert r.returncode == 1
    assert "another rescoring is running by worker-1:123" in r.stderr
    r = run_cli(db_url, tmp_path, "--method", "magic")
    assert r.returncode == 2 and "haircut or poison" in r.stderr
