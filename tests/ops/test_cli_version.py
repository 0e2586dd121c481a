"""``registry --version`` (issue 10): the installed package's version, exit code 0, no database touched."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tests.support.paths import ROOT


def test_version_prints_the_package_version_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "registry", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "REGISTRY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"registry {version('wallet-risk-registry')}\n"
    assert done.stderr == ""
