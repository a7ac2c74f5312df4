"""Access tokens (HS256 JWTs, PyJWT with an explicit algorithm allow-list), opaque refresh tokens
(stored as SHA-256 digests), and the signing secret.

The allow-list is what makes ``alg: none`` and algorithm-confusion tokens fail: PyJWT refuses any
header algorithm not listed, before looking at the signature."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections import OrderedDict
from pathlib import Path

import jwt

from aegis.accounts.models import AccessClaims
from aegis.core.config import Settings
from aegis.core.errors import InsecureConfiguration, InvalidToken

ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]
ISSUER = "aegis"
SECRET_FILE = "auth-secret"
MIN_SECRET_LENGTH = 32
# values people paste from examples; refused even when long enough
WEAK_SECRETS = {"changeme", "secret", "default", "change-me", "aegis", "password"}


def new_token_id() -> str:
    return secrets.token_hex(16)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(refresh_token: str) -> str:
    """Refresh tokens have 256 random bits: a plain SHA-256 is enough to keep a leaked table
    from being usable, and lookups stay indexed (a salted slow hash would not be)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _weak(secret: str) -> bool:
    s = secret.strip().lower()
    return len(secret) < MIN_SECRET_LENGTH or s in WEAK_SECRETS or len(set(secret)) < 8


def load_secret(settings: Settings) -> bytes:
    """``AEGIS_AUTH_SECRET``; server mode refuses to start without a strong one (several API
    processes must share it). Embedded mode generates one on first start and keeps it in
    ``data_dir/auth-secret`` (mode 0600), so logins survive restarts."""
    configured = settings.auth_secret.get_secret_value() if settings.auth_secret else None
    if configured is not None:
        if _weak(configured):
            raise InsecureConfiguration(
                f"AEGIS_AUTH_SECRET is too weak: use at least {MIN_SECRET_LENGTH} random "
                'characters, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return configured.encode()
    if settings.database_url:
        raise InsecureConfiguration(
            "server mode needs AEGIS_AUTH_SECRET (the same on every API process): at least "
            f"{MIN_SECRET_LENGTH} random characters"
        )
    return _load_or_create(settings.data_dir / SECRET_FILE)


def _load_or_create(path: Path) -> bytes:
    if path.exists():
        value = path.read_bytes().strip()
        if len(value) >= MIN_SECRET_LENGTH:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    os.replace(tmp, path)
    return value


class TokenIssuer:
    VERIFIED_MAX = 10_000  # tokens remembered as verified (a few per active user)

    def __init__(self, secret: bytes, access_ttl_seconds: int = 900) -> None:
        self._secret = secret
        self.access_ttl = access_ttl_seconds
        # token → claims of tokens whose signature checked out: a client polling once a second
        # sends the same token for its whole lifetime, and the rate limiter reads it too
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    def __repr__(self) -> str:  # never show the secret
        return f"TokenIssuer(ttl={self.access_ttl})"

    def issue_access(self, user_id: int, version: int, family: str) -> tuple[str, AccessClaims]:
        now = int(time.time())
        claims = AccessClaims(
            user_id=user_id,
            jti=new_token_id(),
            expires_at=now + self.access_ttl,
            version=version,
            family=family,
        )
        payload = {
            "iss": ISSUER,
            "sub": str(user_id),
            "iat": now,
            "exp": claims.expires_at,
            "jti": claims.jti,
            "typ": "access",
            "ver": version,
            "sid": family,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def decode_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token, else ``InvalidToken``. Signature and claims are
        checked once per token; later calls check only that it has not expired since."""
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at > time.time():  # PyJWT's rule: expired once exp <= now
                return known
            del self._verified[token]
            raise InvalidToken("access token expired")
        claims = self._decode(token)
        self._verified[token] = claims
        if len(self._verified) > self.VERIFIED_MAX:
            self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=ALGORITHMS,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("access token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid access token") from exc
        try:
            if payload.get("typ") != "access":
                raise ValueError("not an access token")
            return AccessClaims(
                user_id=int(payload["sub"]),
                jti=str(payload["jti"]),
                expires_at=int(payload["exp"]),
                version=int(payload.get("ver", -1)),
                family=str(payload.get("sid", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("invalid access token") from exc
