"""Sections of the ledger contract that count what the adapter sends, mixed into a
platform's contract class (``tests/unit/test_<platform>_contract.py``):

- :class:`ItemLookupSection`: a line naming an item the ledger does not hold is refused
  before anything is written, and the items lines name are looked up once per adapter.
- :class:`PrefetchSection`: a batch of updates reads its records in one bulk read, each
  update then sends only its write, the copy serves one update only, and a change the
  bulk read shows is refused as stale without a write.
- :class:`MisappliedSection`: a payment applying what the platform would not is refused
  before anything is sent.
- :class:`RefundRefusalSection`: a refund beyond the credit, or out of another customer's,
  is refused and books nothing.
- :class:`LostCredentialSection`: a lost credential is an auth error after one request.

Each asks the platform for ``calls(env)``: every request the adapter sent so far, as
``(kind, label)`` where kind is ``"read"`` or ``"write"`` (what can change the book) and
the label is the platform's name of the request, record ids left out (``"GET /Items"``,
``"product.product search_read"``). Token requests are left out. A class attribute names
the label the section counts (``item_lookup``, ``customer_bulk_read``, …).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any, ClassVar, Literal

import pytest

from syncledger.adapters.oauth2 import MemoryTokenStore
from syncledger.core.errors import AuthExpiredError, PermanentLedgerError, StaleVersionError
from syncledger.core.model import CreditNote, Invoice, InvoiceLine
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerUpdate,
    CustomerWrite,
    InvoiceUpdate,
    InvoiceWrite,
    ItemWrite,
    PushResult,
)
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import SectionLedger, opened
from tests.contracts.sandbox_sections import BookLedger

Call = tuple[Literal["read", "write"], str]


def rest_call(method: str, path: str) -> Call:
    """A REST request by method and path (after the API's prefix), each segment holding a
    digit (a record's id) as ``{id}``; a GET reads, anything else may write."""
    parts = ("{id}" if any(c.isdigit() for c in part) else part for part in path.split("/"))
    return ("read" if method == "GET" else "write", f"{method} {'/'.join(parts)}")


class WireLedger(BookLedger):
    def calls(self, env: SectionLedger) -> list[Call]:
        """Every request the adapter of ``env`` sent so far (token requests left out)."""
        raise NotImplementedError  # the platform's contract class provides it

    def wire_ledger(self) -> SectionLedger:
        """The adapter on a fresh in-memory sandbox whose limits a section never meets."""
        return self.book_ledger(None, MemoryTokenStore())

    def calls_since(self, env: SectionLedger, start: int) -> list[Call]:
        return self.calls(env)[start:]

    async def refused(self, write: Awaitable[object]) -> PermanentLedgerError:
        """The refusal ``write`` ends in."""
        with pytest.raises(PermanentLedgerError) as refused:
            await write
        return refused.value


class ItemLookupSection(WireLedger):
    #: the label of the request looking an item up by its code
    item_lookup: ClassVar[str] = ""
    #: lookups of the default item a line naming none is booked to (Zoho sends an item
    #: on every line)
    default_item_lookups: ClassVar[int] = 0
    #: False where ``create_item`` right after ``find_item`` found nothing looks the code
    #: up again before creating it
    creates_without_a_second_lookup: ClassVar[bool] = True
    #: False where the ledger lets two items share a code (Odoo's default_code)
    refuses_a_taken_code: ClassVar[bool] = True
    #: the code someone else gives the item we are about to create: another case where
    #: the ledger's codes ignore case
    raced_code: ClassVar[str] = "SVC-RACE"

    def make_item_by_hand(self, env: SectionLedger, code: str) -> str:
        """Someone makes a sold service item ``code`` in the ledger, not the adapter: its id."""
        raise NotImplementedError  # the platform's contract class provides it

    def booked(self, document: Invoice, *codes: str | None) -> Invoice:
        """``document`` with its lines booked to ``codes`` in order (None: to none)."""
        lines = tuple(
            line.model_copy(update={"item_code": code})
            for line, code in zip(document.lines, codes, strict=False)
        )
        return document.model_copy(update={"lines": lines + document.lines[len(lines) :]})

    async def push_booked(self, env: SectionLedger, customer_id: str, n: int, code: str) -> str:
        pushed = await env.adapter.create_invoice(
            InvoiceWrite(
                self.booked(self.invoice(n), code, code),
                customer_ledger_id=customer_id,
                external_ref=f"csv/invoice/INV-{n}",
                idempotency_key=key("i", n),
            )
        )
        return pushed.ledger_id

    def unknown_item_credit_note(self) -> CreditNote:
        line = InvoiceLine(description="x", quantity="1", unit_price="0.10", item_code="NOPE-1")
        return self.credit_note(invoice_id=None).model_copy(
            update={"lines": (line,), "total": Decimal("0.10")}
        )

    async def test_a_line_naming_no_item_is_refused_before_anything_is_sent(self) -> None:
        """A create of an invoice or a credit note, or an update of an invoice, naming an
        item the ledger does not hold is refused, naming the line, and writes nothing."""
        async with opened(self.wire_ledger()) as env:
            customer_id = await self.push_customer(env.under_test)
            invoice_id = await self.push_invoice(env.under_test, customer_id)
            version = (await self.fetch(env.under_test, "invoice", invoice_id)).version
            items = env.under_test.sandbox.count("item")
            start = len(self.calls(env))
            refusals = [
                await self.refused(
                    env.adapter.create_invoice(
                        InvoiceWrite(**self.unknown_item_invoice(2, customer_id))
                    )
                ),
                await self.refused(
                    env.adapter.update_invoice(
                        InvoiceUpdate(
                            **self.unknown_item_invoice(1, customer_id),
                            ledger_id=invoice_id,
                            version=version,
                        )
                    )
                ),
                await self.refused(
                    env.adapter.create_credit_note(
                        CreditNoteWrite(
                            self.unknown_item_credit_note(),
                            customer_ledger_id=customer_id,
                            invoice_ledger_id=None,
                            external_ref="csv/credit_note/CN-1",
                            idempotency_key=key("cn"),
                        )
                    )
                ),
            ]
            sent = self.calls_since(env, start)
            held = env.under_test.sandbox.count("item")
            kept = await self.fetch(env.under_test, "invoice", invoice_id)
            documents = tuple(env.under_test.sandbox.count(k) for k in ("invoice", "credit_note"))
        on = ("invoice INV-2 line 2", "invoice INV-1 line 2", "credit note CN-1 line 1")
        assert [(r.code, str(r).split(":")[0]) for r in refusals] == [
            ("unknown_item", where) for where in on
        ]
        assert all("'NOPE-1'" in str(r) for r in refusals)
        assert [label for kind, label in sent if kind == "write"] == []
        assert held == items  # nothing made up behind our back
        assert kept.version == version  # the invoice is as it was
        assert documents == (1, 0)

    def unknown_item_invoice(self, n: int, customer_id: str) -> dict[str, Any]:
        """The arguments of a write of invoice ``n`` whose second line names no item."""
        return {
            "invoice": self.booked(self.invoice(n), None, "NOPE-1"),
            "customer_ledger_id": customer_id,
            "external_ref": f"csv/invoice/INV-{n}",
            "idempotency_key": key("i", n, "nope"),
        }

    async def test_item_lookups_are_cached_across_documents(self) -> None:
        """The first invoice naming an item on two lines looks it up once; two more
        invoices naming it, and reading the three back, look nothing up."""
        async with opened(self.wire_ledger()) as env:
            self.make_item_by_hand(env, "SVC-1")
            customer_id = await self.push_customer(env.under_test)
            start = len(self.calls(env))
            ids = [await self.push_booked(env, customer_id, 1, "SVC-1")]
            first = self.calls_since(env, start)
            ids += [await self.push_booked(env, customer_id, n, "SVC-1") for n in (2, 3)]
            records = [await self.fetch(env.under_test, "invoice", i) for i in ids]
            sent = self.calls_since(env, start + len(first))
        assert self.lookups(first) == 1 + self.default_item_lookups
        assert self.lookups(sent) == 0
        assert [r.line_items[:2] for r in records] == [("SVC-1", "SVC-1")] * 3

    def lookups(self, calls: list[Call]) -> int:
        return sum(label == self.item_lookup for _, label in calls)

    async def test_an_item_looked_up_in_vain_is_created_without_a_second_lookup(self) -> None:
        if not self.creates_without_a_second_lookup:
            pytest.skip("the adapter looks the code up again before it creates the item")
        async with opened(self.wire_ledger()) as env:
            items = env.under_test.sandbox.count("item")
            missing = await env.adapter.find_item("SVC-NEW")
            start = len(self.calls(env))
            made = await env.adapter.create_item(ItemWrite("SVC-NEW", idempotency_key=key("item")))
            sent = self.calls_since(env, start)
            found = await env.adapter.find_item("SVC-NEW")
            held = env.under_test.sandbox.count("item")
        assert missing is None
        assert [kind for kind, _ in sent] == ["write"]
        assert made.code == "SVC-NEW" and found == made
        assert held == items + 1

    async def test_an_item_made_after_our_lookup_is_returned_not_made_twice(self) -> None:
        """Someone makes the item between our lookup and our create: the adapter answers
        with theirs (the ledger refusing ours as taken, or a second lookup finding it) and
        makes none."""
        if not self.refuses_a_taken_code:
            pytest.skip("the ledger lets two items share a code")
        async with opened(self.wire_ledger()) as env:
            assert await env.adapter.find_item("SVC-RACE") is None
            theirs = self.make_item_by_hand(env, self.raced_code)
            items = env.under_test.sandbox.count("item")
            made = await env.adapter.create_item(ItemWrite("SVC-RACE", idempotency_key=key("item")))
            held = env.under_test.sandbox.count("item")
        assert (made.ledger_id, made.code) == (theirs, self.raced_code)
        assert held == items


class PrefetchSection(WireLedger):
    #: the labels of the bulk read of customers, of the read of one, and of a write of one
    customer_bulk_read: ClassVar[str] = ""
    customer_read: ClassVar[str] = ""
    customer_write: ClassVar[str] = ""
    #: reads each update sends beside its write (Odoo reads back what a write left)
    reads_per_write: ClassVar[int] = 0
    #: True where the ledger checks the version on the write itself (QBO's SyncToken): a
    #: stale update is sent, and refused by the ledger
    ledger_checks_the_version: ClassVar[bool] = False
    #: True where a record the bulk read shows changed is read again before the refusal
    rereads_a_changed_copy: ClassVar[bool] = False

    async def name(self, env: SectionLedger, pushed: PushResult) -> str | None:
        return (await self.fetch(env.under_test, "customer", pushed.ledger_id)).name

    def expected(self, *, bulk_reads: int = 0, reads: int = 0, writes: int = 0) -> Counter[Call]:
        """The requests of ``bulk_reads`` bulk reads, ``reads`` single ones and ``writes``
        writes of customers (with the reads each write brings along)."""
        calls: Counter[Call] = Counter()
        calls[("read", self.customer_bulk_read)] += bulk_reads
        calls[("read", self.customer_read)] += reads + writes * self.reads_per_write
        calls[("write", self.customer_write)] += writes
        return +calls  # no zero counts

    async def pushed(self, env: SectionLedger, count: int) -> list[PushResult]:
        return [
            await env.adapter.create_customer(
                CustomerWrite(
                    self.customer(n),
                    external_ref=f"csv/customer/C-{n}",
                    idempotency_key=key("c", n),
                )
            )
            for n in range(1, count + 1)
        ]

    async def rename(self, env: SectionLedger, n: int, pushed: PushResult, name: str) -> PushResult:
        return await env.adapter.update_customer(
            CustomerUpdate(
                self.customer(n, name=f"{name} {n}"),
                ledger_id=pushed.ledger_id,
                version=pushed.version,
                external_ref=f"csv/customer/C-{n}",
                idempotency_key=key("cu", n, name),
            )
        )

    async def prefetch(self, env: SectionLedger, pushed: list[PushResult]) -> None:
        await env.adapter.prefetch("customer", [p.ledger_id for p in pushed])  # type: ignore[attr-defined]  # a Prefetcher: the platforms of this section are

    async def test_a_batch_of_updates_is_one_bulk_read_and_one_write_each(self) -> None:
        async with opened(self.wire_ledger()) as env:
            pushed = await self.pushed(env, 3)
            start = len(self.calls(env))
            await self.prefetch(env, pushed)
            for n, p in enumerate(pushed, start=1):
                await self.rename(env, n, p, "Renamed")
            sent = Counter(self.calls_since(env, start))
            names = [
                (await self.fetch(env.under_test, "customer", p.ledger_id)).name for p in pushed
            ]
        assert sent == self.expected(bulk_reads=1, writes=3)
        assert names == [f"Renamed {n}" for n in (1, 2, 3)]

    async def test_a_prefetched_copy_serves_one_update_only(self) -> None:
        async with opened(self.wire_ledger()) as env:
            pushed = await self.pushed(env, 2)
            await self.prefetch(env, pushed)
            first = await self.rename(env, 1, pushed[0], "Once")
            start = len(self.calls(env))
            await self.rename(env, 1, first, "Twice")  # its version is read, not served
            sent = Counter(self.calls_since(env, start))
            with pytest.raises(StaleVersionError):  # the first version is gone
                await self.rename(env, 1, pushed[0], "Stale")
            name = (await self.fetch(env.under_test, "customer", first.ledger_id)).name
        assert sent == self.expected(reads=1, writes=1)
        assert name == "Twice 1"

    def refusal(self, *, bulk_read: bool) -> list[Call]:
        """What a stale update sends before it is refused: nothing after a bulk read, one
        read without; and its write where the ledger checks the version itself."""
        read: Call = ("read", self.customer_read)
        write: Call = ("write", self.customer_write)
        reads = not bulk_read or self.rereads_a_changed_copy
        return [read] * reads + [write] * self.ledger_checks_the_version

    @pytest.mark.parametrize("bulk_read", [True, False])
    async def test_a_change_made_since_our_version_is_refused_as_stale(
        self, bulk_read: bool
    ) -> None:
        async with opened(self.wire_ledger()) as env:
            pushed = await self.pushed(env, 2)
            await self.rename(env, 1, pushed[0], "Theirs")  # someone else's edit
            if bulk_read:
                await self.prefetch(env, pushed)
            start = len(self.calls(env))
            with pytest.raises(StaleVersionError):
                await self.rename(env, 1, pushed[0], "Ours")
            refused = self.calls_since(env, start)
            await self.rename(env, 2, pushed[1], "Ours")
            served = Counter(self.calls_since(env, start + len(refused)))
            names = [
                (await self.fetch(env.under_test, "customer", p.ledger_id)).name for p in pushed
            ]
        assert refused == self.refusal(bulk_read=bulk_read)
        assert served == self.expected(reads=0 if bulk_read else 1, writes=1)
        assert names == ["Theirs 1", "Ours 2"]


class MisappliedSection(WireLedger):
    """A payment applying what the platform would not (a negative part, more than was
    received, or what the platform would apply otherwise) is refused before anything is
    sent."""

    #: the payments of the contract's 225.45 invoice the adapter refuses, as (amount,
    #: part applied; None: all of it), and the code each refusal carries
    misapplied: ClassVar[dict[tuple[str, str | None], str]] = {}

    async def test_a_payment_applying_what_it_cannot_is_refused_before_sending(self) -> None:
        async with opened(self.wire_ledger()) as env:
            customer_id = await self.push_customer(env.under_test)
            invoice_id = await self.push_invoice(env.under_test, customer_id)
            start = len(self.calls(env))
            codes = {}
            for n, (amount, applied) in enumerate(self.misapplied, start=1):
                refusal = await self.refused(
                    self.push_payment(
                        env.under_test, customer_id, invoice_id, amount, applied=applied, n=n
                    )
                )
                codes[(amount, applied)] = refusal.code
            sent = self.calls_since(env, start)
            invoice = await self.fetch(env.under_test, "invoice", invoice_id)
            payments = env.under_test.sandbox.count("payment")
        assert codes == self.misapplied
        assert [label for kind, label in sent if kind == "write"] == []
        assert (payments, invoice.balance) == (0, Decimal("225.45"))


class RefundRefusalSection(WireLedger):
    """A refund beyond the credit left, or out of another customer's credit, is refused
    and books nothing."""

    #: the code of each refusal the platform makes: ``beyond`` (40.01 out of a 40.00
    #: credit note), ``another_customer`` (out of someone else's credit note)
    refund_refusals: ClassVar[dict[str, str]] = {}
    #: the refusals the ledger makes itself, after the adapter sent the refund
    refused_by_the_ledger: ClassVar[frozenset[str]] = frozenset()

    async def test_a_refund_beyond_the_credit_or_of_another_customer_is_refused(self) -> None:
        async with opened(self.wire_ledger()) as env:
            owner = await self.push_customer(env.under_test)
            stranger = await self.push_customer(env.under_test, 2)
            credit_id = await self.push_open_credit_note(env.under_test, owner)
            tries = {"beyond": (owner, "40.01"), "another_customer": (stranger, "1.00")}
            codes, writes = {}, {}
            for case in self.refund_refusals:
                customer_id, amount = tries[case]
                start = len(self.calls(env))
                refund = self.refund(amount, credit_note_id="CN-1")
                refusal = await self.refused(
                    self.push_refund(env.under_test, customer_id, refund, credit_id)
                )
                codes[case] = refusal.code
                writes[case] = any(kind == "write" for kind, _ in self.calls_since(env, start))
            refunds = env.under_test.sandbox.count("refund")
            credit = await self.fetch(env.under_test, "credit_note", credit_id)
        assert codes == self.refund_refusals
        assert {case for case, wrote in writes.items() if wrote} == self.refused_by_the_ledger
        assert (refunds, credit.balance) == (0, Decimal("40.00"))


class LostCredentialSection(WireLedger):
    """A credential lost while the adapter runs (a spent grant and an expired token, a
    revoked token, an expired key) is an auth error after one request: not retried."""

    #: the code the AuthExpiredError carries
    lost_credential_code: ClassVar[str] = ""

    async def test_a_lost_credential_is_an_auth_error_after_one_request(self) -> None:
        store = MemoryTokenStore()
        async with opened(self.secret_ledger(store)) as env:
            customer_id = await self.push_customer(env.under_test)
            self.lose_credentials(env, store)
            start = len(self.calls(env))
            with pytest.raises(AuthExpiredError) as refused:
                await env.adapter.get("customer", customer_id)
            sent = self.calls_since(env, start)
        assert refused.value.code == self.lost_credential_code
        assert len(sent) == 1
