"""An audit package carries the data map in force for its scope: the entity's
``DataMapPublished`` events up to the package's last event (where personal data goes and
the approved transfer rules), proved like any event; a later map is not in it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit.context import AuditContext
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.verify import verify_package
from syncledger.core.events import DataMapPublished, make_envelope, subject_for
from tests.unit.test_audit_package import C0, EVENTS, START, auditor, export, signers

__all__ = ["auditor"]  # the fixture this module uses
MAP = {"entity": "acme", "transfer": "allowed", "personal_fields": [{"field": "email"}]}


async def publish(ctx: AuditContext, digest: str) -> None:
    payload = DataMapPublished(ledger="qbo", sha256=digest, data_map=MAP)
    subject = subject_for("acme", "audit", "syncledger", "datamap", f"qbo-{digest[:16]}")
    await ctx.store.append([make_envelope(payload, entity="acme", subject=subject, actor="t")])


def digests(data: bytes, ctx: AuditContext, who: x25519.X25519PrivateKey) -> list[str]:
    pkg = verify_package(data, who, signers(ctx))  # every event's proof checks out
    events = [json.loads(line) for line in pkg.files[EVENTS].split(b"\n")]
    return [e["data"]["sha256"] for e in events if e["type"] == "DataMapPublished"]


def test_a_customer_package_carries_the_map_in_force_not_a_later_one(
    tmp_path: Path, auditor: x25519.X25519PrivateKey
) -> None:
    ctx = memory_context(tmp_path / "data")
    asyncio.run(publish(ctx, "a" * 64))  # in force when the customer's events happen
    asyncio.run(
        write_sample_log(ctx.store, ctx.keystore, customers=2, invoices_per_customer=1, start=START)
    )
    asyncio.run(publish(ctx, "b" * 64))  # after the customer's last event
    first = export(ctx, f"customer:{C0}", auditor, name="first")
    assert digests(first, ctx, auditor) == ["a" * 64]
    whole = export(ctx, "entity:acme", auditor, name="whole")
    assert digests(whole, ctx, auditor) == ["a" * 64, "b" * 64]
