"""Standard Webhooks signing (outbound): the headers a sender puts on a delivery.

Facts (Standard Webhooks spec v1.0.0, standard-webhooks/standard-webhooks:
spec/standard-webhooks.md; SOURCES.md §4.1): ``webhook-id`` (the same on every retry),
``webhook-timestamp`` (integer Unix seconds of this attempt), ``webhook-signature`` a
space-delimited list of ``v1,<base64 HMAC-SHA256>`` (``whsec_`` secrets, keyed with the
decoded bytes) and ``v1a,<base64 ed25519>`` (``whsk_`` private keys); a symmetric secret
is random, 24 to 64 bytes, serialised as base64 prefixed ``whsec_``.

Not documented, safe path taken: the spec says only "base64 encoded" for ``whsk_`` and
``whpk_``; we use the 32 raw ed25519 private-seed and public-key bytes.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from syncledger.adapters.webhooks.verify import (
    ID_HEADER,
    MAX_SECRET_BYTES,
    MIN_SECRET_BYTES,
    PRIVATE_KEY_PREFIX,
    PUBLIC_KEY_PREFIX,
    SECRET_PREFIX,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    decode_b64,
    hmac_signature,
    secret_key,
    signed_content,
)
from syncledger.core.errors import ConfigurationError


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _private_key(text: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(
            decode_b64(text.strip().removeprefix(PRIVATE_KEY_PREFIX))
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"a webhook signing key is not {PRIVATE_KEY_PREFIX}<base64 of 32 ed25519 bytes>"
        ) from exc


def signature(key: str, content: bytes) -> str:
    """One ``webhook-signature`` entry: ``v1a`` for a ``whsk_`` key, else ``v1``."""
    if key.strip().startswith(PRIVATE_KEY_PREFIX):
        return "v1a," + _b64(_private_key(key).sign(content))
    return "v1," + _b64(hmac_signature(secret_key(key), content))


def unix_seconds(timestamp: int | datetime) -> str:
    return str(timestamp if isinstance(timestamp, int) else int(timestamp.timestamp()))


def sign(
    secret: str | Sequence[str], msg_id: str, timestamp: int | datetime, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``; several keys (a rotation) give
    one signature each, space-delimited. ``timestamp``: Unix seconds or an aware time."""
    if "." in msg_id:
        raise ConfigurationError("a webhook id must not contain '.'")
    stamp = unix_seconds(timestamp)
    keys = [secret] if isinstance(secret, str) else list(secret)
    content = signed_content(msg_id, stamp, body)
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: " ".join(signature(k, content) for k in keys),
    }


def new_secret(size: int = 32) -> str:
    """A fresh ``whsec_`` secret of ``size`` random bytes (24-64)."""
    if not MIN_SECRET_BYTES <= size <= MAX_SECRET_BYTES:
        raise ConfigurationError(
            f"a webhook secret has {MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes, not {size}"
        )
    return SECRET_PREFIX + _b64(secrets.token_bytes(size))


def new_key_pair() -> tuple[str, str]:
    """A fresh ed25519 pair: (``whsk_`` private key for the sender, ``whpk_`` public key
    for the receiver's trust list)."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PRIVATE_KEY_PREFIX + _b64(seed), PUBLIC_KEY_PREFIX + _b64(public)
