"""Identifiers: UUIDv7 event ids, subject tokens, canonical JSON, digests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7) as text."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def subject_token(raw_id: str) -> str:
    """A NATS-subject-safe token for an id: the id itself when safe, else a digest."""
    if _TOKEN.match(raw_id):
        return raw_id
    return "h" + hashlib.sha256(raw_id.encode()).hexdigest()[:40]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, Decimal as string: the bytes we hash and store."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
