"""Publishing each checkpoint to WORM object storage: S3 with Object Lock.

Each cosigned checkpoint note is written once with ``PUT <endpoint>/<bucket>/<prefix>
<origin hash>/<tree size>.note`` carrying the Object Lock headers of the S3 PutObject API
(``x-amz-object-lock-mode: COMPLIANCE``, ``x-amz-object-lock-retain-until-date``, an
ISO 8601 time) and ``Content-MD5`` (S3 requires an integrity header on a PUT with Object
Lock parameters). In COMPLIANCE mode nobody, the account root included, can delete the
locked version or shorten its retention until the date passes; the bucket must have been
created with Object Lock enabled (which turns versioning on): a write there may add a
version but never removes the locked one.

Requests are signed with AWS Signature Version 4 by ``botocore``'s ``S3SigV4Auth`` (the
signer only; it came with ``moto``, which the tests run as a local S3 server) and sent
with httpx. The secret access key is held as a ``SecretStr`` and never reaches a log, an
event or an error message: errors name the bucket, the object key and the HTTP status.

Configuration (``SYNCLEDGER_WORM_*`` or syncledger.toml): ``worm_url`` (endpoint),
``worm_bucket``, ``worm_region``, ``worm_prefix``, ``worm_retain_days``,
``worm_access_key_id``, ``worm_secret_access_key``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from syncledger.audit.errors import AuditError
from syncledger.audit.note import SignedNote
from syncledger.audit.note_checkpoint import parse_note_text


class WormError(AuditError):
    """A checkpoint could not be written to WORM storage."""


@dataclass(frozen=True)
class WormTarget:
    endpoint: str
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: SecretStr
    retain_days: int
    prefix: str = "checkpoints/"

    def key_for(self, note: SignedNote) -> str:
        body = parse_note_text(note.text)
        origin = hashlib.sha256(body.origin.encode()).hexdigest()
        return f"{self.prefix}{origin}/{body.tree_size}.note"

    def url_for(self, key: str) -> str:
        return f"{self.endpoint.rstrip('/')}/{self.bucket}/{quote(key)}"


def lock_headers(data: bytes, retain_until: datetime) -> dict[str, str]:
    until = retain_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324 - S3's integrity header
        "x-amz-object-lock-mode": "COMPLIANCE",
        "x-amz-object-lock-retain-until-date": until,
    }


def signed_headers(
    target: WormTarget, method: str, url: str, data: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """``headers`` plus the SigV4 ``Authorization``, ``X-Amz-Date`` and payload hash."""
    # botocore ships no type hints: only its SigV4 signer is used, on plain strings
    from botocore.auth import S3SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    credentials = Credentials(target.access_key_id, target.secret_access_key.get_secret_value())
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    S3SigV4Auth(credentials, "s3", target.region).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


async def put_locked(
    client: httpx.AsyncClient, target: WormTarget, note: SignedNote, now: datetime
) -> str:
    """Write ``note`` under COMPLIANCE lock until ``now`` + retention; return its key."""
    key = target.key_for(note)
    data, url = note.render(), target.url_for(key)
    headers = lock_headers(data, now + timedelta(days=target.retain_days))
    try:
        answer = await client.put(
            url, content=data, headers=signed_headers(target, "PUT", url, data, headers)
        )
    except httpx.HTTPError as exc:
        raise WormError(f"WORM bucket {target.bucket} unreachable ({type(exc).__name__})") from exc
    if answer.status_code != 200:
        raise WormError(
            f"WORM bucket {target.bucket} refused {key} (HTTP {answer.status_code}); check "
            "that the bucket has Object Lock enabled and the credentials may write to it"
        )
    return key


@dataclass(frozen=True)
class WormWriter:
    """The publisher's WORM step (:class:`~syncledger.audit.witness_publish.WormWrite`)."""

    target: WormTarget
    timeout: float = 10.0

    async def __call__(self, note: SignedNote) -> str:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await put_locked(client, self.target, note, datetime.now(UTC))
