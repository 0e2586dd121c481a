from __future__ import annotations

from tests.scoring.conftest import scoring

__all__ = ["scoring"]  # the scoring tests' fixture: default scoring settings, whatever the environment says
