from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: the process answers. Readiness (database, migrations, snapshot) is /readyz."""
    return {"status": "ok"}
