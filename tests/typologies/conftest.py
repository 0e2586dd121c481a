from __future__ import annotations

import pytest

from registry.scoring.settings import ScoringSettings


@pytest.fixture
def scoring() -> ScoringSettings:
    """Defaults, whatever the environment of the machine running the tests says."""
    return ScoringSettings(_env_file=None)
