"""Ed25519 signing of the manifest: an ISP with only the public key can tell our feed from a forgery, and from an
old feed of ours replayed to it.

The manifest says when it was signed (``generated_at``) and until when it may be used (``valid_until``), both
inside the signed bytes: with its ``serial``, that lets an ISP refuse a manifest older than the one it holds and
one past its date (``check_manifest``). ``generated_at`` is the start of the signing period, half the validity
long (periods counted from the Unix epoch): every worker signs the same bytes for a serial within a period
(Ed25519 signatures are deterministic), so workers behind one address agree and an ISP never sees the time go
back between two of them; and a manifest always has at least half its validity left when it is served, because it
is signed again when the period turns, whether or not the feed changed.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from blocklist.settings import BlocklistSettings
from registry.errors import InvalidInput
from registry.settings import local_secret

DEFAULT_VALIDITY_SECONDS = 86_400


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    validity_seconds: int = DEFAULT_VALIDITY_SECONDS
    """How long a signed manifest may be used (``valid_until - generated_at``)."""

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_raw(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.public_raw).hexdigest()[:16]

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private_key.sign(data)).decode()


def parse_private_key(value: str) -> Ed25519PrivateKey:
    value = value.strip()
    if "BEGIN" in value:
        key = serialization.load_pem_private_key(value.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput("REGISTRY_SIGNING_KEY is a PEM key but not an Ed25519 one")
        return key
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(value))


def load_signer(settings: BlocklistSettings) -> Signer:
    """The configured key; in development only (production refuses an empty one) a key kept in var/."""
    key = settings.signing_key.get_secret_value() or local_secret("blocklist_signing_key")
    return Signer(parse_private_key(key), settings.feed_validity_seconds)


def signing_period(now: float, validity_seconds: int) -> int:
    """Start (Unix seconds) of the signing period containing ``now``: periods are half the validity long."""
    half = max(1, validity_seconds // 2)
    return int(now // half) * half


def iso_utc(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def signed_payload(manifest: dict[str, Any]) -> bytes:
    """The exact bytes signed: the manifest without ``signature``, keys sorted, compact JSON (orjson)."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def build_manifest(serial: int, bodies: dict[str, bytes], signer: Signer, now: float | None = None) -> dict[str, Any]:
    generated = signing_period(time.time() if now is None else now, signer.validity_seconds)
    manifest: dict[str, Any] = {
        "serial": serial,
        "generated_at": iso_utc(generated),
        "valid_until": iso_utc(generated + signer.validity_seconds),
        "algorithm": "Ed25519",
        "key_id": signer.key_id,
        "formats": {
            fmt: {
                "sha256": hashlib.sha256(body).hexdigest(),
                "bytes": len(body),
                "url": f"/v1/blocklist?format={fmt}",
            }
            for fmt, body in sorted(bodies.items())
        },
    }
    manifest["signature"] = signer.sign(signed_payload(manifest))
    return manifest


def verify_manifest(manifest: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Raises ``cryptography.exceptions.InvalidSignature`` on a bad signature (what an ISP's script runs)."""
    public_key.verify(base64.b64decode(manifest["signature"]), signed_payload(manifest))


class StaleManifest(Exception):
    """A correctly signed manifest that must not be used: past ``valid_until``, or older than the one held."""


def check_manifest(
    manifest: dict[str, Any],
    public_key: Ed25519PublicKey,
    *,
    held: dict[str, Any] | None = None,
    now: float | None = None,
) -> None:
    """Everything an ISP checks before loading a feed: the signature (``InvalidSignature``), then freshness
    (``StaleManifest``): not past ``valid_until``, and not older than ``held``, the manifest in use (a lower
    serial, or the same serial signed earlier). A replayed old manifest fails one or the other."""
    verify_manifest(manifest, public_key)
    now = time.time() if now is None else now
    until = parse_iso_utc(manifest["valid_until"])
    if now > until:
        raise StaleManifest(f"manifest of serial {manifest['serial']} expired at {manifest['valid_until']}")
    if held is not None:
        serial, generated = int(manifest["serial"]), parse_iso_utc(manifest["generated_at"])
        held_serial, held_generated = int(held["serial"]), parse_iso_utc(held["generated_at"])
        if (serial, generated) < (held_serial, held_generated):
            raise StaleManifest(
                f"manifest (serial {serial}, {manifest['generated_at']}) is older than the one held "
                f"(serial {held_serial}, {held['generated_at']})"
            )
