"""The master key and AES-256-GCM sealing.

The key comes from ``AEGIS_SECRET_KEY`` (32 bytes as url-safe base64, or any passphrase, which
is stretched with scrypt) or from a generated key file (mode 0600) under ``data_dir``.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from aegis.core.errors import AegisError

KEY_FILE = "secret.key"
_NONCE = 12
_MAGIC = b"AEG1"
# fixed salt: the passphrase must map to the same key on every start; scrypt still slows guessing
_SALT = b"aegis-credentials-v1"


class CredentialError(AegisError):
    code = "CREDENTIAL_ERROR"


def key_from_passphrase(text: str) -> bytes:
    raw = text.strip()
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == 32:
        return decoded
    return Scrypt(salt=_SALT, length=32, n=2**14, r=8, p=1).derive(raw.encode())


def load_or_create_key_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise CredentialError(
                f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            )
        data = base64.urlsafe_b64decode(path.read_bytes().strip())
        if len(data) != 32:
            raise CredentialError(f"{path} does not hold a 32-byte key")
        return data
    data_dir.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    # create with 0600 from the start: no window in which the file is world-readable
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.urlsafe_b64encode(key) + b"\n")
    return key


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _NONCE + 16:
        raise CredentialError("encrypted file is damaged or not an AEGIS credential file")
    nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(_MAGIC) + _NONCE :], aad)
    except InvalidTag:
        raise CredentialError(
            "cannot decrypt credentials: wrong AEGIS_SECRET_KEY or key file"
        ) from None
