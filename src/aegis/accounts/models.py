"""Accounts value objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    """Who is calling: what other packages get from ``CurrentUserDep``."""

    id: int
    email: str
    username: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class Profile:
    user: User
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    token_type: str = "Bearer"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """A verified access token."""

    user_id: int
    jti: str
    expires_at: int  # epoch seconds
    version: int  # the user's token_version when issued
    family: str  # the refresh-token family (login session) it belongs to


@dataclass(frozen=True, slots=True)
class Favorite:
    id: int
    company_id: int
    created_at: datetime
