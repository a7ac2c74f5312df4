"""Password rules and argon2id hashing (pwdlib). Hashing costs tens of milliseconds of CPU on
purpose, so it runs in a worker thread and never stalls the event loop."""

from __future__ import annotations

import asyncio
import re

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from aegis.core.errors import InvalidPassword

MIN_LENGTH = 8
MAX_LENGTH = 128  # argon2 takes any length; a cap keeps a huge body from costing CPU
_LETTER = re.compile(r"[^\W\d_]")  # any letter, Korean included
_DIGIT = re.compile(r"\d")
_SPECIAL = re.compile(r"[^\w\s]|_")

RULES = "비밀번호는 8자 이상이며 영문자, 숫자, 특수문자를 각각 하나 이상 포함해야 합니다."


def check_rules(password: str) -> None:
    """8–128 characters with a letter, a digit and a special character (PRD §5.2)."""
    missing = []
    if not _LETTER.search(password):
        missing.append("letter")
    if not _DIGIT.search(password):
        missing.append("digit")
    if not _SPECIAL.search(password):
        missing.append("special")
    too_short = len(password) < MIN_LENGTH
    too_long = len(password) > MAX_LENGTH
    if missing or too_short or too_long:
        details: dict[str, object] = {"missing": missing, "minLength": MIN_LENGTH}
        if too_long:
            details["maxLength"] = MAX_LENGTH
        raise InvalidPassword(RULES, details=details)


class Passwords:
    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._hash = PasswordHash((hasher or Argon2Hasher(),))
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """``hashed=None`` (unknown user) still spends one verification, so that response time
        does not tell which emails have accounts."""
        if hashed is None:
            if self._dummy is None:
                self._dummy = await self.hash("unknown-user-1!")
            await asyncio.to_thread(self._hash.verify, password, self._dummy)
            return False
        return await asyncio.to_thread(self._hash.verify, password, hashed)
