"""Where the project and the shared data are, and the pepper every test key is made with."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/support/paths.py → the project
SHARED_DATA = ROOT.parent / "shared" / "data"
PEPPER = "test-pepper-0123456789abcdef0123456789abcdef"
