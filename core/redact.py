"""Secrets out of messages: URLs shown without their passwords, wherever they are shown.

A NATS URL may carry ``user:password@`` or a bare token (``nats://s3cr3t@host``), a ledger
or database URL ``user:password@`` and, now and then, a key in its query string. Every
message, log record and exception text that names a URL passes it through
:func:`mask_url`; text that may contain URLs written by someone else (a library's
exception, a log record) passes through :func:`mask_text`. A username stays readable next
to its password, since it helps to know which account was refused; a bare userinfo is
masked whole, since NATS takes it as a token.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

#: query keys whose values are secrets (matched as substrings, case-insensitively)
SECRET_PARAMS = ("pass", "pwd", "secret", "token", "key", "auth", "sig", "cred")

_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s,'\"]*)@",
)
_QUERY_PAIR = re.compile(r"(?P<sep>[?&;])(?P<key>[^=&#\s;'\"]+)=(?P<value>[^&#\s;,'\"]*)")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _secret = match["userinfo"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{match['scheme']}{shown}@"


def _query_pair(match: re.Match[str]) -> str:
    key = match["key"]
    if not any(word in key.lower() for word in SECRET_PARAMS):
        return match.group(0)
    return f"{match['sep']}{key}={MASK}"


def mask_url(url: str) -> str:
    """``url`` with its password (or token) and secret query values replaced by ``***``.

    >>> mask_url("nats://app:s3cr3t@127.0.0.1:4222")
    'nats://app:***@127.0.0.1:4222'
    """
    masked = _USERINFO.sub(_userinfo, url)
    return _QUERY_PAIR.sub(_query_pair, masked)


def mask_text(text: str) -> str:
    """``text`` with every URL in it masked as :func:`mask_url` does."""
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks URLs in a record's message and its traceback text,
    so no handler it is attached to ever writes a password."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None  # the masked text above replaces the raw traceback
        return True


def install_masking(logger: logging.Logger | None = None) -> None:
    """Attach :class:`MaskingFilter` to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
