"""Accounts: users, passwords (argon2), access JWTs and rotating refresh tokens, login throttling,
favorites and saved dashboard layouts. No HTTP here: the router is ``aegis.api.routes.users``."""

from aegis.accounts.models import User

__all__ = ["User"]
