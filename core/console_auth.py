"""Who may decide in the web console: an operator token, sessions and CSRF tokens.

- The token is read from ``SYNCLEDGER_CONSOLE_TOKEN_FILE`` when ``serve`` starts; without
  one the console is read-only (no forms, every POST answered 403). It is compared in
  constant time (:func:`hmac.compare_digest`) and never logged, shown or stored.
- A login (operator name + token) opens a server-side session: its id travels in an
  ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` when the request came over HTTPS);
  each session has its own CSRF token, which every form carries back.
- Sessions live in the serving process only (a restart asks operators to log in again)
  and lapse after :data:`SESSION_TTL`.

The operator name becomes the actor of each decision (``console:<name>``); it is not a
secret, so it is checked to be short plain text, not trusted as an identity proof — the
token is the proof.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncledger.core.errors import ConfigurationError

COOKIE = "syncledger_console"
SESSION_TTL = timedelta(hours=12)
MAX_SESSIONS = 256
#: the shortest token taken: a guessable one would make the console writable by anyone
MIN_TOKEN_CHARS = 16
_OPERATOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}")


def read_token(path: Path) -> str:
    """The operator token in ``path``; ``ConfigurationError`` (without the token's
    content) when it cannot be read, is empty or too short."""
    setting = "SYNCLEDGER_CONSOLE_TOKEN_FILE"
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read {setting} {path} ({type(exc).__name__}): point it at the file "
            "holding the console's operator token"
        ) from None
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigurationError(
            f"{setting} {path} holds a token shorter than {MIN_TOKEN_CHARS} characters: "
            "put a long random one in it (e.g. `openssl rand -hex 32`)"
        )
    return token


def operator_name(text: str) -> str | None:
    """``text`` as an operator name, or None when it is not one (1-64 characters:
    letters, digits, space and ``. _ @ -``)."""
    name = text.strip()
    return name if _OPERATOR.fullmatch(name) else None


@dataclass(frozen=True, slots=True)
class Session:
    operator: str
    csrf: str
    expires: datetime
    flash: str = ""

    @property
    def actor(self) -> str:
        return f"console:{self.operator}"


Clock = Callable[[], datetime]


class ConsoleAuth:
    """The token (None: read-only) and the open sessions of one serving process."""

    def __init__(self, token: str | None, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._token = token
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    @property
    def writable(self) -> bool:
        return self._token is not None

    def token_matches(self, given: str) -> bool:
        if self._token is None:
            return False
        return hmac.compare_digest(given.encode(), self._token.encode())

    def login(self, operator: str, token: str) -> tuple[str, Session] | None:
        """A new session (its id, itself) when ``token`` is the operator token."""
        if not self.token_matches(token):
            return None
        sid = secrets.token_urlsafe(32)
        session = Session(operator, secrets.token_urlsafe(32), self._clock() + SESSION_TTL)
        self._sessions[sid] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return sid, session

    def session(self, sid: str | None) -> Session | None:
        """The live session ``sid`` names (None: none, lapsed, or read-only console)."""
        if sid is None or not self.writable:
            return None
        session = self._sessions.get(sid)
        if session is None or session.expires <= self._clock():
            self._sessions.pop(sid, None)
            return None
        return session

    def csrf_ok(self, session: Session, given: str) -> bool:
        return hmac.compare_digest(given.encode(), session.csrf.encode())

    def set_flash(self, sid: str, message: str) -> None:
        session = self._sessions.get(sid)
        if session is not None:
            self._sessions[sid] = Session(session.operator, session.csrf, session.expires, message)

    def take_flash(self, sid: str) -> str:
        session = self._sessions.get(sid)
        if session is None or not session.flash:
            return ""
        self._sessions[sid] = Session(session.operator, session.csrf, session.expires)
        return session.flash

    def logout(self, sid: str) -> None:
        self._sessions.pop(sid, None)
