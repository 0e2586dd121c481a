"""Ed25519 signing of the manifest: an ISP with only the public key can tell our feed from a forgery."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from blocklist.settings import BlocklistSettings
from registry.errors import InvalidInput
from registry.settings import _local_secret


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

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
    key = settings.signing_key.get_secret_value()
    if key:
        return Signer(parse_private_key(key))
    return Signer(parse_private_key(_local_secret("blocklist_signing_key")))


def signed_payload(manifest: dict[str, Any]) -> bytes:
    """The exact bytes signed: the manifest without ``signature``, keys sorted, compact JSON (orjson)."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def build_manifest(serial: int, bodies: dict[str, bytes], signer: Signer) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "serial": serial,
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
