"""The Ed25519 key that signs audit checkpoints, kept where the database cannot reach it.

A checkpoint is worth something only if whoever can rewrite the database cannot also sign: the key comes from
``REGISTRY_AUDIT_SIGNING_KEY`` (a PEM, a path to a PEM file, or the 32-byte seed in hex), never from a table. In
development an empty setting means a key generated once under ``var/``; production refuses to start without one.
A verifier needs only the public key (``registry audit public-key`` prints it).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry import settings as settings_module
from registry.errors import RegistryError
from registry.settings import Settings

ALGORITHM = "Ed25519"
DEV_KEY_FILE = "audit_signing_key.pem"
_HEX32 = re.compile(r"[0-9a-fA-F]{64}")


class AuditKeyError(RegistryError):
    """The configured key cannot be used (unreadable, not Ed25519); the message never contains key material."""

    code = "audit_key"


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a public key (sha256 of its raw bytes), written beside every signature."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private_key.sign(data)).decode()


def verify_signature(public_key: Ed25519PublicKey, signature: str, data: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def _read(value: str, what: str) -> str:
    """``value`` itself when it is key text (PEM or hex), else the content of the file it names."""
    value = value.strip()
    if "-----BEGIN" in value or _HEX32.fullmatch(value):
        return value
    try:
        return Path(value).expanduser().read_text().strip()
    except OSError as e:
        raise AuditKeyError(f"{what} is neither a PEM key nor a readable file ({e.strerror or e})") from None


def parse_private_key(value: str, what: str = "REGISTRY_AUDIT_SIGNING_KEY") -> Ed25519PrivateKey:
    """A PEM (PKCS#8) private key, a path to one, or the 32-byte seed as 64 hex characters."""
    text = _read(value, what)
    if _HEX32.fullmatch(text):
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise AuditKeyError(f"{what} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{what} is a PEM key but not an Ed25519 one")
    return key


def parse_public_key(value: str, what: str = "the public key") -> Ed25519PublicKey:
    """A PEM public key (or a private key, whose public half is taken), a path to one, or 64 hex characters."""
    text = _read(value, what)
    if _HEX32.fullmatch(text):
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    if "PRIVATE KEY" in text:
        return parse_private_key(text, what).public_key()
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise AuditKeyError(f"{what} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{what} is a PEM key but not an Ed25519 one")
    return key


def _dev_key_path() -> Path:
    return settings_module.VAR_DIR / DEV_KEY_FILE


def _create_dev_key(path: Path) -> None:
    """Written to a temporary name and linked into place, so a concurrent reader never sees half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    finally:
        tmp.unlink()


def load_signer(settings: Settings) -> Signer:
    """The configured key; in development only (production refuses an empty one) a key kept in var/."""
    configured = settings.audit_signing_key.get_secret_value()
    if configured:
        return Signer(parse_private_key(configured))
    path = _dev_key_path()
    if not path.exists():
        _create_dev_key(path)
    return Signer(parse_private_key(str(path), f"the development key {path}"))


def trusted_public_keys(settings: Settings) -> list[Ed25519PublicKey]:
    """The public half of the configured key, for verifying; unlike ``load_signer`` it never creates a key."""
    configured = settings.audit_signing_key.get_secret_value()
    if configured:
        return [parse_private_key(configured).public_key()]
    path = _dev_key_path()
    if path.exists():
        return [parse_private_key(str(path), f"the development key {path}").public_key()]
    return []


def checkpoint_file(settings: Settings) -> Path:
    """Where every checkpoint is appended: the setting, or var/audit-checkpoints.jsonl."""
    if settings.audit_checkpoint_file:
        return Path(settings.audit_checkpoint_file).expanduser()
    return settings_module.VAR_DIR / "audit-checkpoints.jsonl"
