"""Checkpoints published to WORM storage: a local S3-compatible server (moto's server
mode, a real process on a real port) with an Object Lock bucket. The object is there,
locked in COMPLIANCE mode until the retention date; deleting its version is refused by the
server, and an overwrite only adds a version beside it (the locked bytes stay); the secret
key never reaches an error. (moto does not refuse shortening a COMPLIANCE retention, which
S3 does, so that is not asserted here.)"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from syncledger.audit.checkpoints import checkpoint_now
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.witness_publish import CheckpointPublisher, WitnessedStore
from syncledger.audit.worm import WormError, WormTarget, WormWriter
from syncledger.core.embedded import free_port

pytestmark = pytest.mark.integration
SECRET = "wormsecret-zqx-never-shown"
BUCKET = "audit-checkpoints"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def s3_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    with open(tmp_path / "moto.log", "wb") as log:
        proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        from tests.support.processes import wait_for

        wait_for(lambda: _listening(port), "moto_server to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def s3(url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="worm-writer",
        aws_secret_access_key=SECRET,
    )


def target(url: str, bucket: str = BUCKET) -> WormTarget:
    return WormTarget(url, bucket, "us-east-1", "worm-writer", SecretStr(SECRET), 30)


def test_each_checkpoint_is_written_once_and_locked(s3_url: str, tmp_path: Path) -> None:
    client = s3(s3_url)
    client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    ctx = memory_context(tmp_path / "data")
    start = datetime(2023, 1, 1, tzinfo=UTC)
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, start=start))
    publisher = CheckpointPublisher([], WitnessedStore(ctx.audit_dir), WormWriter(target(s3_url)))
    logged = asyncio.run(checkpoint_now(ctx, publisher=publisher))
    assert logged.published is not None and logged.published.worm is not None
    key = logged.published.worm

    stored = client.get_object(Bucket=BUCKET, Key=key)
    assert logged.published.note is not None
    assert stored["Body"].read() == logged.published.note.render()
    assert stored["ObjectLockMode"] == "COMPLIANCE"
    until = stored["ObjectLockRetainUntilDate"]
    assert until > datetime.now(UTC) + timedelta(days=29)
    version = stored["VersionId"]

    with pytest.raises(ClientError) as deleted:
        client.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert deleted.value.response["Error"]["Code"] == "AccessDenied"
    client.put_object(Bucket=BUCKET, Key=key, Body=b"rewritten history")  # a new version
    with pytest.raises(ClientError) as deleted_again:
        client.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert deleted_again.value.response["Error"]["Code"] == "AccessDenied"
    again = client.get_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert again["Body"].read() == logged.published.note.render()


def test_a_refused_write_names_the_bucket_never_the_secret(s3_url: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from syncledger.audit.note import SignedNote, sign_note
    from syncledger.audit.note_checkpoint import note_text

    text = note_text("log.example/a", 1, bytes(32))
    note = SignedNote(
        text, (sign_note(text, "log.example/a", ed25519.Ed25519PrivateKey.generate()),)
    )
    with pytest.raises(WormError) as refused:
        asyncio.run(WormWriter(target(s3_url, "no-such-bucket"))(note))
    assert "no-such-bucket" in str(refused.value)
    assert SECRET not in str(refused.value) and SECRET not in repr(target(s3_url))
