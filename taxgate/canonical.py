"""Canonical bytes, digests and Ed25519 signatures: the only home of ``cryptography``.

The contract signs JSON objects in one canonical form: keys sorted, no
insignificant white space, non-ASCII characters as themselves, UTF-8. The same
form is used for the response, the ledger's entries and its checkpoints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from taxgate.errors import BadInput


def canonical_json(obj: Any) -> bytes:
    """The contract's canonical form of a JSON value."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so size does not matter."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# --- Ed25519 ------------------------------------------------------------------------


def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """Base64 Ed25519 signature of ``message``."""
    return base64.b64encode(key.sign(message)).decode("ascii")


def verify(public_key: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` is a valid Ed25519 signature of ``message``."""
    try:
        raw = base64.b64decode(signature_b64, validate=True)
        public_key.verify(raw, message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def sign_object(key: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    """Return ``obj`` with a ``signature`` over its canonical form without that field."""
    body = {k: v for k, v in obj.items() if k != "signature"}
    return {**body, "signature": sign(key, canonical_json(body))}


def verify_object(public_key: Ed25519PublicKey, obj: dict[str, Any]) -> bool:
    """Check the ``signature`` field of ``obj`` over the rest of it."""
    sig = obj.get("signature")
    if not isinstance(sig, str):
        return False
    body = {k: v for k, v in obj.items() if k != "signature"}
    return verify(public_key, canonical_json(body), sig)


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(pem: str | bytes) -> Ed25519PublicKey:
    """Parse a SubjectPublicKeyInfo PEM that must hold an Ed25519 key."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise BadInput("public key is not a PEM SubjectPublicKeyInfo key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput("public key is not an Ed25519 key")
    return key


def private_key_pem(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM of a private key, encrypted with ``passphrase`` when given."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_private_key_pem(data: bytes, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput("private key is not an Ed25519 key")
    return key


# --- symmetric keys for data at rest ---------------------------------------------------


def new_data_key() -> str:
    """A fresh 256-bit key, hex-encoded, for encrypting the store at rest."""
    return secrets.token_hex(32)


def encrypt_bytes(key_hex: str, plaintext: bytes, associated: bytes = b"") -> bytes:
    """AES-256-GCM: a 12-byte nonce followed by ciphertext and tag."""
    nonce = os.urandom(12)
    return nonce + AESGCM(bytes.fromhex(key_hex)).encrypt(nonce, plaintext, associated)


def decrypt_bytes(key_hex: str, blob: bytes, associated: bytes = b"") -> bytes:
    return AESGCM(bytes.fromhex(key_hex)).decrypt(blob[:12], blob[12:], associated)


def keyed_digest(key_hex: str, value: str) -> str:
    """A keyed hash (HMAC-SHA256) of a value, for looking a value up without storing it."""
    import hmac

    return hmac.new(bytes.fromhex(key_hex), value.encode("utf-8"), hashlib.sha256).hexdigest()
