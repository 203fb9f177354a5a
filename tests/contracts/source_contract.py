"""One contract for every source adapter, run against that source's sandbox.

A subclass provides a ``source`` fixture yielding a :class:`SourceUnderTest`: the reader
(:class:`~syncledger.core.source_ports.SourceReader`, maybe also a webhook receiver, a
record fetcher and a status writer), an :class:`SourceEditor` that changes records the
way a person using the source would (through the sandbox, not the adapter), and
``reopen`` for a new reader as after a restart. Class attributes say what the source
offers; a section the source does not offer is skipped with the reason.

Everything asserted is an outcome: what the reader returned, what the source holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

import pytest

from syncledger.core.source_ports import (
    RecordFetcher,
    RecordHint,
    SourceItem,
    SourceReader,
    StatusUpdate,
    StatusWriter,
    WebhookReceiver,
    WebhookRefused,
    WebhookRequest,
)

#: more pages than one read returns, so paging is exercised where the source pages
MANY = 7


class SourceEditor(Protocol):
    """A person at the source's own screens (or its API used by someone else)."""

    async def put_customer(self, source_id: str | None, name: str) -> str:
        """Create (``source_id`` None) or rename a customer; return its source id."""
        ...

    async def delete_customer(self, source_id: str) -> None: ...

    async def make_invoice(self) -> str:
        """A document that takes write-back (an invoice, a closed deal); its source ref
        (``<system>/invoice/<id>``)."""
        ...

    async def payment_status(self, source_ref: str) -> Mapping[str, str]:
        """What write-back left on that record, by the source's own field names (empty:
        nothing written)."""
        ...

    def signed(self, hints: Sequence[RecordHint]) -> WebhookRequest | None:
        """The delivery the source's sender makes about ``hints``, signed with the secret
        the reader was configured with; None when the source sends no webhooks."""
        ...


@dataclass
class SourceUnderTest:
    reader: SourceReader
    editor: SourceEditor
    reopen: Callable[[], Awaitable[SourceReader]]


async def read_all(reader: SourceReader, cursor: str | None) -> tuple[list[SourceItem], str | None]:
    """Every change after ``cursor``, following ``more``; and the cursor after them."""
    items: list[SourceItem] = []
    for _ in range(1000):
        page = await reader.read_changes(cursor)
        items.extend(page.items)
        cursor = page.cursor if page.cursor is not None else cursor
        if not page.more:
            return items, cursor
    raise AssertionError("the reader said `more` a thousand times")


def customers(items: Sequence[SourceItem]) -> dict[str, SourceItem]:
    return {i.id: i for i in items if i.kind == "customer"}


class SourceContract:
    #: the source can be read at all (False: records only arrive by webhook)
    reads = True
    #: the source returns only what changed after a cursor (False: it reads everything
    #: each time and ingest skips what did not change, e.g. a CSV folder)
    delta = True
    #: a deletion shows up in delta reads
    deletions_in_delta = True
    #: the webhook signature covers a time, so a delivery older than the sender's
    #: tolerance is refused
    signed_time = True
    #: the (lower-case) headers that carry the delivery's signature
    signature_headers: tuple[str, ...] = ()
    #: the field of a customer item holding its name (after the source mapping)
    name_field = "name"

    # ------------------------------------------------------------------ delta reads

    async def test_a_backfill_reads_every_record_across_pages(
        self, source: SourceUnderTest
    ) -> None:
        if not self.reads:
            pytest.skip("records only arrive by webhook")
        made = {await source.editor.put_customer(None, f"Backfill {n} Ltd") for n in range(MANY)}
        found = customers((await read_all(source.reader, None))[0])
        assert made <= set(found)
        assert {found[i].fields[self.name_field] for i in made} == {
            f"Backfill {n} Ltd" for n in range(MANY)
        }

    async def test_a_delta_read_returns_only_what_changed_after_the_cursor(
        self, source: SourceUnderTest
    ) -> None:
        if not self.delta:
            pytest.skip("the source is read whole each time (ingest skips unchanged content)")
        kept = await source.editor.put_customer(None, "Kept Ltd")
        edited = await source.editor.put_customer(None, "Before Ltd")
        _, cursor = await read_all(source.reader, None)
        await source.editor.put_customer(edited, "After Ltd")
        found = customers((await read_all(source.reader, cursor))[0])
        assert kept not in found
        assert found[edited].fields[self.name_field] == "After Ltd"

    async def test_the_cursor_carries_over_a_restart(self, source: SourceUnderTest) -> None:
        if not self.delta:
            pytest.skip("the source is read whole each time (ingest skips unchanged content)")
        await source.editor.put_customer(None, "Old Ltd")
        _, cursor = await read_all(source.reader, None)
        reopened = await source.reopen()
        try:
            assert customers((await read_all(reopened, cursor))[0]) == {}
            new = await source.editor.put_customer(None, "New Ltd")
            assert set(customers((await read_all(reopened, cursor))[0])) == {new}
        finally:
            await reopened.aclose()

    async def test_a_deletion_flows_as_a_deleted_item(self, source: SourceUnderTest) -> None:
        if not self.deletions_in_delta:
            pytest.skip("deletions arrive by webhook only")
        gone = await source.editor.put_customer(None, "Gone Ltd")
        _, cursor = await read_all(source.reader, None)
        await source.editor.delete_customer(gone)
        found = customers((await read_all(source.reader, cursor if self.delta else None))[0])
        assert found[gone].deleted

    # ------------------------------------------------------------------ webhooks

    def _delivery(
        self, source: SourceUnderTest, hint: RecordHint
    ) -> tuple[WebhookReceiver, WebhookRequest]:
        request = source.editor.signed([hint])
        if request is None or not isinstance(source.reader, WebhookReceiver):
            pytest.skip("the source sends no webhooks")
        return source.reader, request

    async def test_a_signed_webhook_names_the_record_and_a_reread_returns_it(
        self, source: SourceUnderTest
    ) -> None:
        sid = await source.editor.put_customer(None, "Hooked Ltd")
        receiver, request = self._delivery(source, RecordHint("customer", sid))
        delivery = receiver.verify(request)
        assert delivery.delivery_id
        named = {h.id for h in delivery.hints} | {i.id for i in delivery.items}
        assert sid in named
        if delivery.hints:
            assert isinstance(source.reader, RecordFetcher)
            [item] = [i for i in await source.reader.fetch(delivery.hints) if i.id == sid]
            assert item.fields[self.name_field] == "Hooked Ltd"

    async def test_a_retried_delivery_keeps_its_delivery_id(self, source: SourceUnderTest) -> None:
        sid = await source.editor.put_customer(None, "Twice Ltd")
        receiver, request = self._delivery(source, RecordHint("customer", sid))
        assert receiver.verify(request).delivery_id == receiver.verify(request).delivery_id

    async def test_a_forged_webhook_is_refused(self, source: SourceUnderTest) -> None:
        sid = await source.editor.put_customer(None, "Forged Ltd")
        receiver, request = self._delivery(source, RecordHint("customer", sid))
        tampered = replace(request, body=request.body.replace(sid.encode(), b"999999"))
        assert tampered.body != request.body
        with pytest.raises(WebhookRefused) as refused:
            receiver.verify(tampered)
        assert refused.value.reason == "bad_signature"

    async def test_an_unsigned_webhook_is_refused(self, source: SourceUnderTest) -> None:
        sid = await source.editor.put_customer(None, "Unsigned Ltd")
        receiver, request = self._delivery(source, RecordHint("customer", sid))
        signed_by = self.signature_headers or tuple(k for k in request.headers if "signature" in k)
        bare = {k: v for k, v in request.headers.items() if k not in signed_by}
        assert bare != dict(request.headers)
        with pytest.raises(WebhookRefused) as refused:
            receiver.verify(replace(request, headers=bare))
        assert refused.value.reason == "unsigned"

    async def test_a_stale_webhook_is_refused(self, source: SourceUnderTest) -> None:
        sid = await source.editor.put_customer(None, "Stale Ltd")
        receiver, request = self._delivery(source, RecordHint("customer", sid))
        if not self.signed_time:
            pytest.skip("the sender signs no time: a replayed delivery is deduped by its id")
        late = replace(request, received_at=request.received_at + timedelta(minutes=6))
        with pytest.raises(WebhookRefused) as refused:
            receiver.verify(late)
        assert refused.value.reason == "stale"

    async def test_a_refusal_never_shows_the_secret(self, source: SourceUnderTest) -> None:
        sid = await source.editor.put_customer(None, "Secret Ltd")
        receiver, request = self._delivery(source, RecordHint("customer", sid))
        tampered = replace(request, body=request.body + b" ")
        with pytest.raises(WebhookRefused) as refused:
            receiver.verify(tampered)
        for value in request.headers.values():
            if len(value) > 20:
                assert value not in str(refused.value)

    # ------------------------------------------------------------------ write-back

    async def test_writing_the_same_status_twice_leaves_it_as_once(
        self, source: SourceUnderTest
    ) -> None:
        if not isinstance(source.reader, StatusWriter):
            pytest.skip("the source takes no write-back")
        ref = await source.editor.make_invoice()
        update = StatusUpdate(
            source_ref=ref,
            ledger="qbo",
            status="partially_paid",
            currency="USD",
            total=Decimal("100.00"),
            balance=Decimal("40.00"),
            ledger_number="1042",
            ledger_id="77",
            link=None,
            at=None,
        )
        assert [o.result for o in await source.reader.write_back([update])] == ["written"] * 1
        once = dict(await source.editor.payment_status(ref))
        assert [o.result for o in await source.reader.write_back([update])] == ["written"] * 1
        assert dict(await source.editor.payment_status(ref)) == once
        assert "60" in " ".join(once.values())  # the amount paid is there
        assert "1042" in " ".join(once.values())  # and the ledger's number
        paid = replace(update, status="paid", balance=Decimal("0.00"))
        assert [o.result for o in await source.reader.write_back([paid])] == ["written"] * 1
        assert dict(await source.editor.payment_status(ref)) != once
