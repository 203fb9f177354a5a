"""Standard Webhooks signature verification (inbound).

Facts, all from the Standard Webhooks spec v1.0.0
(standard-webhooks/standard-webhooks:spec/standard-webhooks.md, summarised in
/work/shared/SOURCES.md §4.1) and its Python reference library
(standard-webhooks/standard-webhooks:libraries/python/standardwebhooks/webhooks.py):

* headers ``webhook-id``, ``webhook-timestamp`` (integer Unix seconds of this attempt)
  and ``webhook-signature``, a space-delimited list of ``<version>,<base64 signature>``;
  any one valid signature passes (zero-downtime key rotation);
* the signed content is ``{msg_id}.{timestamp}.{payload}`` over the raw body; the id and
  the timestamp must not contain ``.``;
* ``v1``: HMAC-SHA256 with a ``whsec_<base64>`` secret whose key is the base64-*decoded*
  bytes (the reference library decodes it), compared in constant time;
* ``v1a``: ed25519 with ``whpk_<base64>`` public keys from a trust list, never from the
  request; unknown versions are ignored (as the reference library does);
* the timestamp must be within a tolerance of now (the reference library: 5 minutes,
  "too old" and "too new").

Not documented, safe path taken: the spec says only "base64 encoded" for ``whpk_`` keys;
we take the 32 raw ed25519 public-key bytes and refuse any other length at configuration
time. Secrets are decoded strictly (standard alphabet, padding optional); a secret that
is not base64 or shorter than the spec's 24 bytes is a configuration error.

A refusal's message names what to check and never holds a secret or a signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import WebhookRefused, WebhookRequest

ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"
TOLERANCE: Final = timedelta(minutes=5)
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 -- the spec's prefix, not a secret
PUBLIC_KEY_PREFIX: Final = "whpk_"
PRIVATE_KEY_PREFIX: Final = "whsk_"
MIN_SECRET_BYTES: Final = 24
MAX_SECRET_BYTES: Final = 64
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


# --------------------------------------------------------------------------- keys


def decode_b64(text: str) -> bytes:
    """Standard base64, padding optional; ValueError when it is not."""
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret: its base64-decoded bytes."""
    body = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = decode_b64(body)
    except ValueError:
        key = b""
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ConfigurationError(
            f"a webhook secret is not a {SECRET_PREFIX}<base64> value of "
            f"{MIN_SECRET_BYTES}-{MAX_SECRET_BYTES} bytes: copy it again from the sender "
            "(or make one with syncledger.adapters.webhooks.sign.new_secret)"
        )
    return key


def public_key(text: str) -> Ed25519PublicKey:
    """An ed25519 public key from ``whpk_<base64 of its 32 raw bytes>``."""
    if not text.strip().startswith(PUBLIC_KEY_PREFIX):
        raise ConfigurationError(f"a webhook public key must start with {PUBLIC_KEY_PREFIX}")
    try:
        raw = decode_b64(text.strip().removeprefix(PUBLIC_KEY_PREFIX))
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"a webhook public key is not {PUBLIC_KEY_PREFIX}<base64 of 32 ed25519 bytes>: "
            "copy it again from the sender"
        ) from exc


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """What a delivery may be signed with: HMAC keys (``v1``) and public keys (``v1a``)."""

    secrets: tuple[bytes, ...] = ()
    public_keys: tuple[Ed25519PublicKey, ...] = ()

    @classmethod
    def parse(cls, secrets: Sequence[str], public_keys: Sequence[str] = ()) -> TrustedKeys:
        keys = cls(tuple(map(secret_key, secrets)), tuple(map(public_key, public_keys)))
        if not keys.secrets and not keys.public_keys:
            raise ConfigurationError("a webhook source needs at least one secret or public key")
        return keys

    def __repr__(self) -> str:  # never the keys themselves
        return f"TrustedKeys({len(self.secrets)} secrets, {len(self.public_keys)} public keys)"


# --------------------------------------------------------------------------- signing


def signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    """``{msg_id}.{timestamp}.{body}``: what every signature covers."""
    return f"{msg_id}.{timestamp}.".encode() + body


def hmac_signature(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True, slots=True)
class Envelope:
    """The three signature headers of one delivery, checked for shape."""

    msg_id: str
    timestamp: str
    signatures: str


def envelope(headers: Mapping[str, str]) -> Envelope:
    found = {k.lower(): v.strip() for k, v in headers.items()}
    names = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
    missing = [n for n in names if not found.get(n)]
    if missing:
        raise WebhookRefused(
            "unsigned",
            f"missing header(s) {', '.join(missing)}: sign each delivery as Standard "
            "Webhooks describes (docs/sources/webhooks.md)",
        )
    msg_id, timestamp = found[ID_HEADER], found[TIMESTAMP_HEADER]
    if "." in msg_id or "." in timestamp:
        raise WebhookRefused("malformed", "webhook-id and webhook-timestamp must not contain '.'")
    if not _TIMESTAMP.match(timestamp):
        raise WebhookRefused(
            "malformed", "webhook-timestamp is not an integer number of Unix seconds"
        )
    return Envelope(msg_id, timestamp, found[SIGNATURE_HEADER])


def check_fresh(timestamp: str, received_at: datetime, tolerance: timedelta = TOLERANCE) -> None:
    sent = datetime.fromtimestamp(int(timestamp), UTC)
    if sent < received_at - tolerance:
        raise WebhookRefused(
            "stale",
            f"webhook-timestamp is more than {tolerance} before it arrived: a replay, or the "
            "sender's clock is wrong (send each retry with its own timestamp)",
        )
    if sent > received_at + tolerance:
        raise WebhookRefused(
            "stale",
            f"webhook-timestamp is more than {tolerance} after it arrived: check the "
            "sender's clock",
        )


def _entries(header: str) -> list[tuple[str, bytes]]:
    """``(version, signature bytes)`` of each well-formed entry; others are skipped."""
    entries = []
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if not comma:
            continue
        try:
            entries.append((version, decode_b64(encoded)))
        except ValueError:
            continue
    return entries


def _ed25519_holds(key: Ed25519PublicKey, signature: bytes, content: bytes) -> bool:
    try:
        key.verify(signature, content)
    except InvalidSignature:
        return False
    return True


def _any_valid(keys: TrustedKeys, entries: list[tuple[str, bytes]], content: bytes) -> bool:
    expected = [hmac_signature(k, content) for k in keys.secrets]
    for version, signature in entries:
        if version == "v1" and any(hmac.compare_digest(e, signature) for e in expected):
            return True
        if version == "v1a" and any(
            _ed25519_holds(k, signature, content) for k in keys.public_keys
        ):
            return True
    return False


def verify_signature(
    keys: TrustedKeys, request: WebhookRequest, tolerance: timedelta = TOLERANCE
) -> str:
    """The delivery's ``webhook-id`` when one of its signatures holds for one of ``keys``
    and it is fresh; :class:`WebhookRefused` otherwise."""
    env = envelope(request.headers)
    check_fresh(env.timestamp, request.received_at, tolerance)
    content = signed_content(env.msg_id, env.timestamp, request.body)
    if not _any_valid(keys, _entries(env.signatures), content):
        raise WebhookRefused(
            "bad_signature",
            "no signature in webhook-signature matches a configured key: check the sender "
            "signs the raw body with the current secret (docs/sources/webhooks.md)",
        )
    return env.msg_id
