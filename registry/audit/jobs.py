"""Signing a checkpoint of the audit chain on an interval (``REGISTRY_AUDIT_CHECKPOINT_SECONDS``).

The interval is the window in which someone with database rights could rewrite fresh events unseen: anything older
is under a signature. A run with no new event since the last checkpoint signs nothing.
"""

from __future__ import annotations

from registry.audit import service
from registry.audit.signing import checkpoint_file, load_signer
from registry.db.engine import get_engine
from registry.ops.jobs import JobSpec
from registry.settings import Settings


def run_checkpoint(settings: Settings) -> str:
    result = service.checkpoint(
        engine=get_engine(settings.effective_database_url),
        signer=load_signer(settings),
        export_to=checkpoint_file(settings),
    )
    if result.written is None:
        base = result.base
        return "head unchanged" + (f" since checkpoint {base.id} (event {base.event_id})" if base else " (empty log)")
    cp = result.written
    return f"checkpoint {cp.id}: event {cp.event_id}, {result.exported} line(s) appended to the checkpoint file"


def jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec(
            "audit:checkpoint",
            lambda: run_checkpoint(settings),
            settings.audit_checkpoint_seconds,
            "sign the audit chain's head and append it to the checkpoint file (when it moved)",
        )
    ]
