"""Credentials out of connection strings before they are shown (status, logs, errors).

Every form a PostgreSQL or Redis URL can carry a secret in: the password in the user info
(``postgresql://user:pw@host``, ``redis://:pw@host``, passwords holding ``@``), query
parameters (libpq ``?password=``, ``sslpassword``, ``sslkey``, tokens and keys of any name), and
libpq keyword/value strings (``host=… password=…``).
"""

from __future__ import annotations

import re

MASK = "***"
# user info: everything between "//" and the last "@" of the authority
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)(?P<info>[^/?#]*)@")
_SECRET_KEY = r"[\w.-]*(?:pass|pwd|secret|token|key|auth|credential|cert)[\w.-]*"
_PARAM = re.compile(
    rf"(?P<lead>(?:^|[?&;\s]))(?P<key>{_SECRET_KEY})=(?P<val>'[^']*'|[^&;\s]*)", re.I
)


def _info(m: re.Match[str]) -> str:
    user, sep, _ = m["info"].partition(":")
    return f"{m['scheme']}{user}:{MASK}@" if sep else m.group(0)


def redact_url(url: str) -> str:
    out = _USERINFO.sub(_info, url, count=1)
    return _PARAM.sub(lambda m: f"{m['lead']}{m['key']}={MASK}", out)
