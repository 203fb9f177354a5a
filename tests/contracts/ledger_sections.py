"""Optional sections of the ledger contract, mixed into a platform's contract class
(``tests/unit/test_<platform>_contract.py``) when the platform has the feature.

- :class:`OAuthSection`: the adapter signs in with an OAuth2 refresh token kept on disk.
- :class:`ThrottleSection`: the sandbox enforces the platform's request limit with the
  platform's 429 answer (and the contract's burst test is meaningful only because of it).
- :class:`PagingSection`: listing and finding follow the platform's pages.
- :class:`PlatformSection`: the platform's registry entry (``adapters.platforms``) builds
  a working adapter for its sandbox, and refuses a live connection missing credentials.
- :class:`MoneySection`, :class:`ForeignCurrencySection`: amounts exact, rates the
  source's; :class:`DeltaSection`: changes since a time.
- :class:`ApplicationsSection`: what payments, credit notes and refunds are applied to,
  read back alike by get, list_all, changes and find; a credit note beyond what its
  invoice owes.
- :class:`TaxIdSection`: tax ids kept as written and matched whatever their punctuation.
- :class:`SendSection`: invoices e-mailed (``InvoiceSender``).

Each section asks the platform for one small factory (``oauth_ledger``,
``unlimited_ledger``, ``paged_ledger``) and a few class attributes; the tests are the same
for every platform, so a platform's own test files keep only what is truly its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import httpx
import pytest

from syncledger.adapters.http import RetryPolicy
from syncledger.adapters.oauth2 import FileTokenStore, MemoryTokenStore, TokenStore
from syncledger.adapters.platforms import Connection, platform
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.model import Customer, Invoice, InvoiceLine
from syncledger.core.ports import (
    CreditNoteWrite,
    CustomerWrite,
    InvoiceDelivery,
    InvoiceSender,
    InvoiceWrite,
    LedgerAdapter,
    PaymentWrite,
)
from tests.contracts.ledger_contract import BURST, LedgerContract, LedgerUnderTest, key
from tests.support.documents import invoice_to_email


@dataclass
class SectionLedger:
    """An adapter on its own sandbox, built for one section's test."""

    under_test: LedgerUnderTest
    close: Callable[[], Awaitable[None]]
    #: the sandbox's OAuth server: every access token it issued stops working
    expire_access_tokens: Callable[[], None] = lambda: None
    #: the grant the adapter holds is spent or revoked (someone else used it, or the user
    #: removed the app's access)
    revoke_grant: Callable[[], None] = lambda: None
    #: the sandbox's ASGI app, for its ``/_sandbox/*`` admin routes
    app: Any = None
    #: the sandbox's token server swaps this refresh token for tokens (None: no OAuth)
    redeem: Callable[[str], bool] | None = None
    #: the refresh token the adapter started with (spent by its first sign-in), if any
    initial_refresh_token: str | None = None
    #: the platform's in-process environment (``tests.support.<platform>``), whose
    #: recorder shows what the adapter sent
    platform: Any = None

    @property
    def adapter(self) -> LedgerAdapter:
        return self.under_test.adapter


class InProcess(Protocol):
    """What every ``tests.support.<platform>.in_process_<platform>`` returns."""

    @property
    def ledger(self) -> LedgerAdapter: ...

    @property
    def sandbox(self) -> Any: ...

    @property
    def retry(self) -> RetryPolicy: ...

    @property
    def app(self) -> Any: ...


def in_process(env: InProcess, *, spend: str | None = None) -> SectionLedger:
    """``env`` as a section's ledger; its sandbox's OAuth server (``sandbox.oauth``, when
    it has one) expires tokens, and ``spend`` is the refresh token a revocation spends."""
    oauth = getattr(env.sandbox, "oauth", None)

    async def close() -> None:
        await env.ledger.aclose()
        env.sandbox.close()

    def revoke() -> None:
        assert oauth is not None and spend is not None
        oauth.exchange(spend)  # someone else used it: the adapter's copy is spent

    return SectionLedger(
        LedgerUnderTest(env.ledger, env.sandbox, env.retry.attempts),
        close,
        expire_access_tokens=oauth.expire_access_tokens if oauth is not None else lambda: None,
        revoke_grant=revoke,
        app=env.app,
        redeem=None if oauth is None else lambda token: oauth.exchange(token) is not None,
        initial_refresh_token=spend,
        platform=env,
    )


@asynccontextmanager
async def opened(ledger: SectionLedger) -> AsyncIterator[SectionLedger]:
    try:
        yield ledger
    finally:
        await ledger.close()


Env = TypeVar("Env", bound=InProcess)


@asynccontextmanager
async def closed_after(env: Env) -> AsyncIterator[Env]:
    """``env`` for a test; its adapter and sandbox closed afterwards (also when it fails)."""
    try:
        yield env
    finally:
        await env.ledger.aclose()
        env.sandbox.close()


@asynccontextmanager
async def under_test(env: InProcess) -> AsyncIterator[LedgerUnderTest]:
    """``env``'s adapter as a contract's ``ledger`` fixture, closed with its sandbox."""
    async with opened(in_process(env)) as ledger:
        yield ledger.under_test


class OAuthSection(LedgerContract):
    #: False where the platform keeps one refresh token for good (Zoho)
    rotates_refresh_token: ClassVar[bool] = True
    #: the code the adapter's AuthExpiredError carries for a spent or revoked grant
    revoked_grant_code: ClassVar[str] = "invalid_grant"

    def oauth_ledger(self, store: TokenStore) -> SectionLedger:
        raise NotImplementedError  # the platform's contract class provides it

    async def test_an_expired_access_token_is_refreshed_and_kept_on_disk(
        self, tmp_path: Path
    ) -> None:
        store = FileTokenStore(tmp_path / "tokens" / "ledger.json")
        async with opened(self.oauth_ledger(store)) as env:
            customer_id = await self.push_customer(env.under_test)
            first = store.load()
            env.expire_access_tokens()
            assert await env.adapter.get("customer", customer_id) is not None  # after a 401
            second = store.load()
        assert first is not None and second is not None
        assert second.access_token != first.access_token
        assert (second.refresh_token != first.refresh_token) == self.rotates_refresh_token
        assert (store.path.stat().st_mode & 0o777) == 0o600

    async def test_a_revoked_grant_is_an_auth_error_that_names_no_secret(self) -> None:
        store = MemoryTokenStore()
        async with opened(self.oauth_ledger(store)) as env:
            env.revoke_grant()
            with pytest.raises(AuthExpiredError) as refused:
                await self.push_customer(env.under_test)
        assert refused.value.code == self.revoked_grant_code
        held = store.load()
        assert held is None or held.refresh_token not in str(refused.value)


class ThrottleSection(LedgerContract):
    #: the code of the TransientLedgerError a 429 of the sandbox's limit translates to
    throttle_code: ClassVar[str] = ""
    #: the wait the platform names in that answer (None where it names none)
    throttle_retry_after: ClassVar[float | None] = None

    def unlimited_ledger(self) -> SectionLedger:
        """The sandbox at the contract's ~25 requests/s; the adapter with no client-side
        limiter and no retries."""
        raise NotImplementedError

    async def test_without_the_client_side_limiter_the_sandbox_throttles(self) -> None:
        """The contract's burst test is meaningful: unlimited, the same burst earns 429s."""
        async with opened(self.unlimited_ledger()) as env:
            customer_id = await self.push_customer(env.under_test)
            results = await asyncio.gather(
                *(env.adapter.get("customer", customer_id) for _ in range(BURST)),
                return_exceptions=True,
            )
            throttled = env.under_test.sandbox.throttled
        throttles = [r for r in results if isinstance(r, TransientLedgerError)]
        assert throttles and throttled == len(throttles)
        assert {(t.code, t.retry_after) for t in throttles} == {
            (self.throttle_code, self.throttle_retry_after)
        }


class PagingSection(LedgerContract):
    def paged_ledger(self, page_size: int) -> SectionLedger:
        """The adapter reading ``page_size`` records a page."""
        raise NotImplementedError

    async def test_listing_and_find_page_through_everything(self) -> None:
        async with opened(self.paged_ledger(2)) as env:
            ids = [await self.push_customer(env.under_test, n) for n in range(1, 6)]
            listed = [r.ledger_id async for r in env.adapter.list_all("customer")]
            first = await env.adapter.find("customer", "csv/customer/C-1")
            last = await env.adapter.find("customer", "csv/customer/C-5")
            since = datetime(2000, 1, 1, tzinfo=UTC)
            changed = [
                r.ledger_id async for r in env.adapter.changes(since) if r.kind == "customer"
            ]
        assert sorted(listed) == sorted(ids) and len(listed) == len(ids)
        assert sorted(changed) == sorted(ids) and len(changed) == len(ids)
        assert first is not None and first.ledger_id == ids[0]
        assert last is not None and last.ledger_id == ids[4]


class PlatformSection(LedgerContract):
    #: the platform's id in ``adapters.platforms``
    platform_id: ClassVar[str] = ""
    #: a home currency other than the sandbox's default, to see it reach the book
    sandbox_home_currency: ClassVar[str] = "GBP"
    #: False where the ledger's customers carry no currency of their own
    customer_has_currency: ClassVar[bool] = True
    #: the client-side limit the adapter built for the sandbox runs at
    sandbox_requests_per_minute: ClassVar[int] = 0
    #: OAuth platforms keep their tokens in the connection's token file (mode 0600)
    keeps_a_token_file: ClassVar[bool] = True
    #: a live URL and credentials short of what a live connection needs
    live_url: ClassVar[str] = ""
    live_credentials: ClassVar[dict[str, str]] = {}

    async def test_the_platform_connects_to_its_sandbox(self, tmp_path: Path) -> None:
        plat = platform(self.platform_id)
        currency = self.sandbox_home_currency
        app = plat.sandbox_app(tmp_path / "book.sqlite3", home_currency=currency)
        token_file = tmp_path / "tokens" / f"{self.platform_id}.json"
        transport = httpx.ASGITransport(app=app)
        adapter = plat.connect(Connection(plat.sandbox_url, token_file, {}, transport))
        try:
            pushed = await adapter.create_customer(
                CustomerWrite(
                    self.customer(currency=currency),
                    external_ref="csv/customer/C-1",
                    idempotency_key=key("c", 1),
                )
            )
            record = await adapter.get("customer", pushed.ledger_id)
            count = plat.sandbox_handle(app).count("customer")
        finally:
            await adapter.aclose()
            plat.sandbox_handle(app).close()
        assert record is not None and record.ledger_id == pushed.ledger_id
        assert record.currency == (currency if self.customer_has_currency else None)
        assert count == 1
        assert adapter.capabilities.requests_per_minute == self.sandbox_requests_per_minute
        if self.keeps_a_token_file:
            assert FileTokenStore(token_file).load() is not None
            assert (token_file.stat().st_mode & 0o777) == 0o600

    def test_a_live_connection_short_of_credentials_is_refused(self, tmp_path: Path) -> None:
        live = Connection(self.live_url, tmp_path / "t.json", self.live_credentials)
        with pytest.raises(ConfigurationError) as refused:
            platform(self.platform_id).connect(live)
        assert "\n" not in str(refused.value)  # one line saying what is missing


class MoneySection(LedgerContract):
    """Amounts reach the book Decimal-exact, and an invoice the platform would total
    differently from the source is refused before anything is sent."""

    #: a discount taken off the 0.10 + 0.20 invoice, and the share of it the book holds on
    #: each line (Sage spreads a document discount over the lines); none elsewhere
    exact_discount: ClassVar[Decimal] = Decimal("0")
    #: fields of the stored invoice beyond ``booked_invoice``'s four, and what they hold
    booked_extras: ClassVar[dict[str, object]] = {}
    #: tax on the line of the mistotalled invoice (NetSuite's lines carry one)
    mistotal_tax: ClassVar[Decimal] = Decimal("0")

    def booked_invoice(self, stored: dict[str, Any]) -> dict[str, object]:
        """The stored invoice as ``total``, ``number``, ``id``, ``reference`` (the source
        reference read back the platform's way), plus the fields of ``booked_extras``."""
        raise NotImplementedError  # the platform's contract class provides it

    def cents_invoice(
        self, total: Decimal, *lines: InvoiceLine, discount: Decimal = Decimal("0")
    ) -> Invoice:
        return Invoice(
            id="INV-1",
            number="INV-1",
            customer_id="C-1",
            issue_date=date(2026, 4, 1),
            due_date=date(2026, 5, 1),
            currency=self.currency,
            lines=lines
            or (
                InvoiceLine(description="a", quantity="1", unit_price="0.10"),
                InvoiceLine(description="b", quantity="1", unit_price="0.20"),
            ),
            discount=discount,
            total=total,
        )

    async def push_document(self, ledger: LedgerUnderTest, document: Invoice) -> str:
        customer_id = await self.push_customer(ledger)
        pushed = await ledger.adapter.create_invoice(
            InvoiceWrite(
                document,
                customer_ledger_id=customer_id,
                external_ref="csv/invoice/INV-1",
                idempotency_key=key("i"),
            )
        )
        return pushed.ledger_id

    async def test_amounts_reach_the_book_decimal_exact(self, ledger: LedgerUnderTest) -> None:
        total = Decimal("0.30") - self.exact_discount  # in floats 0.1 + 0.2 - … is not
        document = self.cents_invoice(total, discount=self.exact_discount)
        invoice_id = await self.push_document(ledger, document)
        [stored] = ledger.sandbox.records("invoice")  # type: ignore[attr-defined]  # every sandbox has records; the protocol leaves it out
        booked = self.booked_invoice(stored)
        assert (
            booked
            == {
                "total": total,
                "number": "INV-1",
                "id": invoice_id,
                "reference": "csv/invoice/INV-1",
            }
            | self.booked_extras
        )
        assert isinstance(booked["total"], Decimal)

    async def test_an_invoice_the_platform_would_total_differently_is_refused_unsent(
        self, ledger: LedgerUnderTest
    ) -> None:
        tax = self.mistotal_tax
        line = InvoiceLine(description="x", quantity="3", unit_price="0.335", tax_amount=tax)
        # 1.005 rounds to 1.01: a source that truncated instead says 1.00
        odd = self.cents_invoice(Decimal("1.00") + tax, line)
        with pytest.raises(PermanentLedgerError) as refused:
            await self.push_document(ledger, odd)
        assert refused.value.code == "syncledger.total_mismatch"
        assert ledger.sandbox.count("invoice") == 0


class ForeignCurrencySection(LedgerContract):
    """A document in a currency other than the book's needs the source's rate, and the
    payments of a foreign invoice (applied, or applying nothing) take the invoice's rate,
    never one the platform would pick itself."""

    foreign_currency: ClassVar[str] = "EUR"
    #: the code of the refusal of a foreign invoice without a rate
    rateless_code: ClassVar[str] = "syncledger.exchange_rate_missing"
    #: True where the book keeps the rate the other way round (home per foreign unit)
    rate_inverted: ClassVar[bool] = False
    #: False where the customer may stay in the home currency (Odoo's partners have none)
    customer_in_foreign_currency: ClassVar[bool] = True
    #: what the book holds of each payment beside its rate, by the payment's amount
    booked_payment_extras: ClassVar[dict[str, dict[str, object]]] = {}

    #: the status the adapter reads for a payment applying nothing (None: not checked)
    on_account_status: ClassVar[str | None] = None
    #: words the one-line refusal of a rateless invoice says
    rateless_says: ClassVar[str] = "rate"
    #: False where the platform takes no rate per invoice (Odoo 17: its own test file)
    takes_a_rate_per_invoice: ClassVar[bool] = True
    #: False where a payment keeps no rate of its own (Odoo converts at its invoice's)
    payments_keep_a_rate: ClassVar[bool] = True

    #: the field the book's invoices and payments hold their rate in (the platform
    #: overrides the two readers below where that is not the whole story)
    rate_field: ClassVar[str] = ""

    def booked_invoice_rate(self, sandbox: Any) -> Decimal:
        """The rate the book holds for its one invoice, in the book's own terms."""
        [stored] = sandbox.records("invoice")
        return Decimal(stored[self.rate_field])

    def booked_payments(self, sandbox: Any) -> list[dict[str, object]]:
        """The book's payments in the order made: ``rate`` and the extras' fields."""
        return [{"rate": p[self.rate_field]} for p in sandbox.records("payment")]

    def booked_invoices(self, ledger: LedgerUnderTest) -> int:
        """Invoices that reached the book (Odoo counts posted ones: a draft books nothing)."""
        return ledger.sandbox.count("invoice")

    def as_booked(self, rate: Decimal) -> Decimal:
        return 1 / rate if self.rate_inverted else rate

    async def push_foreign_invoice(
        self, ledger: LedgerUnderTest, customer_id: str, rate: Decimal | None, n: int = 1
    ) -> str:
        document = self.invoice(n).model_copy(
            update={"currency": self.foreign_currency, "exchange_rate": rate}
        )
        pushed = await ledger.adapter.create_invoice(
            InvoiceWrite(
                document,
                customer_ledger_id=customer_id,
                external_ref=f"csv/invoice/INV-{n}",
                idempotency_key=key("i", n),
            )
        )
        return pushed.ledger_id

    async def push_foreign_customer(self, ledger: LedgerUnderTest) -> str:
        currency = self.foreign_currency if self.customer_in_foreign_currency else self.currency
        return await self.push_customer(ledger, customer=self.customer(currency=currency))

    async def test_a_foreign_invoice_without_a_rate_is_refused_and_books_nothing(
        self, ledger: LedgerUnderTest
    ) -> None:
        if not self.takes_a_rate_per_invoice:
            pytest.skip("the platform takes no rate per invoice")
        customer_id = await self.push_foreign_customer(ledger)
        with pytest.raises(PermanentLedgerError) as refused:
            await self.push_foreign_invoice(ledger, customer_id, None)
        assert refused.value.code == self.rateless_code
        assert "\n" not in str(refused.value) and self.rateless_says in str(refused.value).lower()
        assert self.booked_invoices(ledger) == 0

    async def test_a_foreign_invoice_and_its_payments_carry_its_rate(
        self, ledger: LedgerUnderTest
    ) -> None:
        if not self.takes_a_rate_per_invoice:
            pytest.skip("the platform takes no rate per invoice")
        rate = Decimal("1.25")
        customer_id = await self.push_foreign_customer(ledger)
        invoice_id = await self.push_foreign_invoice(ledger, customer_id, rate)
        ids: dict[str, str] = {}
        for n, (amount, applied) in enumerate((("10.00", None), ("40.00", "0")), 1):
            paid = await ledger.adapter.apply_payment(
                PaymentWrite(
                    self.payment(amount, n).model_copy(update={"currency": self.foreign_currency}),
                    customer_ledger_id=customer_id,
                    invoice_ledger_id=invoice_id,
                    external_ref=f"csv/payment/PAY-{n}",
                    idempotency_key=key("p", n),
                    applied=None if applied is None else Decimal(applied),
                )
            )
            ids[amount] = paid.ledger_id
        invoice = await self.fetch(ledger, "invoice", invoice_id)
        on_account = await self.fetch(ledger, "payment", ids["40.00"])
        assert (invoice.currency, invoice.total) == (self.foreign_currency, Decimal("225.45"))
        assert invoice.balance == Decimal("215.45")  # the payment applying nothing left it
        assert (on_account.total, on_account.balance) == (Decimal("40.00"), Decimal("40.00"))
        assert self.on_account_status in (None, on_account.status)
        assert self.booked_invoice_rate(ledger.sandbox) == self.as_booked(rate)
        if not self.payments_keep_a_rate:
            return
        booked = {"rate": self.as_booked(rate)}
        extras = self.booked_payment_extras
        assert self.booked_payments(ledger.sandbox) == [
            booked | extras.get(amount, {}) for amount in ids
        ]


class DeltaSection(LedgerContract):
    """Changes since a time include every kind once, and a payment made after it brings
    the invoice it touched along (its balance changed) and nothing older."""

    #: the statuses the adapter reads for a partly paid invoice and an applied payment
    partly_paid_status: ClassVar[str] = "partially_paid"
    applied_payment_status: ClassVar[str] = "applied"

    async def test_changes_include_every_kind_once_and_what_a_payment_touched(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        credit_id = await self.push_open_credit_note(ledger, customer_id)
        await asyncio.sleep(self.changes_resolution)
        since = datetime.now(UTC)
        await asyncio.sleep(self.changes_resolution)
        payment_id = await self.push_payment(ledger, customer_id, invoice_id, "100.00")
        everything = [
            (r.kind, r.ledger_id)
            async for r in ledger.adapter.changes(datetime(2000, 1, 1, tzinfo=UTC))
        ]
        recent = [(r.kind, r.ledger_id, r.status) async for r in ledger.adapter.changes(since)]
        assert sorted(everything) == sorted(
            [
                ("customer", customer_id),
                ("invoice", invoice_id),
                ("credit_note", credit_id),
                ("payment", payment_id),
            ]
        )
        assert sorted(recent) == [
            ("invoice", invoice_id, self.partly_paid_status),
            ("payment", payment_id, self.applied_payment_status),
        ]


class ApplicationsSection(LedgerContract):
    """Payments, credit notes and refunds read back what they are applied to, the same
    through get, list_all, changes and find."""

    #: False where the platform takes no refunds (FreshBooks: the adapter refuses them)
    takes_refunds: ClassVar[bool] = True
    #: False where ``changes`` reads no refunds (Zoho's refund lists carry no time)
    changes_read_refunds: ClassVar[bool] = True

    async def push_applications(
        self, ledger: LedgerUnderTest, customer_id: str
    ) -> dict[tuple[str, str], tuple[tuple[str, Decimal], ...]]:
        """A credit note on INV-1, an overpayment of INV-2, a payment of INV-3 in full, one
        applying nothing, an open credit note, the three invoices (applied to nothing), and
        (where refunds are taken) a refund out of each credit: what each is applied to, in
        that order."""
        invoices = [await self.push_invoice(ledger, customer_id, n) for n in (1, 2, 3)]
        note = await ledger.adapter.create_credit_note(
            CreditNoteWrite(
                self.credit_note(),
                customer_ledger_id=customer_id,
                invoice_ledger_id=invoices[0],
                external_ref="csv/credit_note/CN-1",
                idempotency_key=key("cn", 1),
            )
        )
        over = await self.push_payment(ledger, customer_id, invoices[1], "250.00", applied="225.45")
        full = await self.push_payment(ledger, customer_id, invoices[2], "225.45", n=2)
        unused = await self.push_payment(
            ledger, customer_id, invoices[2], "60.00", applied="0", n=3
        )
        open_note = await ledger.adapter.create_credit_note(
            CreditNoteWrite(
                self.credit_note(2, invoice_id=None),
                customer_ledger_id=customer_id,
                invoice_ledger_id=None,
                external_ref="csv/credit_note/CN-2",
                idempotency_key=key("cn", 2),
            )
        )
        applied = {
            ("credit_note", note.ledger_id): ((invoices[0], Decimal("40.00")),),
            ("payment", over): ((invoices[1], Decimal("225.45")),),
            ("payment", full): ((invoices[2], Decimal("225.45")),),
            ("payment", unused): (),
            ("credit_note", open_note.ledger_id): (),
            **{("invoice", i): () for i in invoices},
        }
        if self.takes_refunds:
            out_of_over = self.refund("24.55", payment_id="PAY-1")
            out_of_note = self.refund("15.00", 2, credit_note_id="CN-2")
            refunds = [
                await self.push_refund(ledger, customer_id, out_of_over, over),
                await self.push_refund(ledger, customer_id, out_of_note, open_note.ledger_id, 2),
            ]
            applied[("refund", refunds[0])] = ((over, Decimal("24.55")),)
            applied[("refund", refunds[1])] = ((open_note.ledger_id, Decimal("15.00")),)
        return applied

    async def test_reads_say_what_payments_credit_notes_and_refunds_are_applied_to(
        self, ledger: LedgerUnderTest
    ) -> None:
        customer_id = await self.push_customer(ledger)
        expected = await self.push_applications(ledger, customer_id)
        got = {k: (await self.fetch(ledger, *k)).applied_to for k in expected}
        kinds = {kind for kind, _ in expected}
        adapter = ledger.adapter
        listed = {
            (r.kind, r.ledger_id): r.applied_to for k in kinds async for r in adapter.list_all(k)
        }
        since = datetime(2000, 1, 1, tzinfo=UTC)
        changed = {(r.kind, r.ledger_id): r.applied_to async for r in adapter.changes(since)}
        references = [("credit_note", "csv/credit_note/CN-1"), ("payment", "csv/payment/PAY-1")]
        if self.takes_refunds:
            references.append(("refund", "csv/refund/REF-2"))
        found = [await adapter.find(kind, ref) for kind, ref in references]
        overpayment = await self.fetch(ledger, *[*expected][1])
        assert got == expected
        assert listed == expected
        changes = {
            k: v for k, v in expected.items() if self.changes_read_refunds or k[0] != "refund"
        }
        assert {k: changed[k] for k in changes} == changes
        by_reference = [*expected][:2] + [*expected][-1:] * self.takes_refunds  # CN-1, PAY-1, REF-2
        assert [(r.kind, r.ledger_id, r.applied_to) for r in found if r] == [
            (*k, expected[k]) for k in by_reference
        ]
        assert overpayment.balance == (0 if self.takes_refunds else Decimal("24.55"))

    async def test_a_credit_note_beyond_what_the_invoice_owes_applies_only_that(
        self, ledger: LedgerUnderTest
    ) -> None:
        """The rest stays the customer's credit, and (where refunds are taken) can be
        refunded."""
        customer_id = await self.push_customer(ledger)
        invoice_id = await self.push_invoice(ledger, customer_id)
        await self.push_payment(ledger, customer_id, invoice_id, "200.00")  # 25.45 owed
        note = await ledger.adapter.create_credit_note(
            CreditNoteWrite(
                self.credit_note(),  # 40.00
                customer_ledger_id=customer_id,
                invoice_ledger_id=invoice_id,
                external_ref="csv/credit_note/CN-1",
                idempotency_key=key("cn", 1),
            )
        )
        invoice = await self.fetch(ledger, "invoice", invoice_id)
        credit = await self.fetch(ledger, "credit_note", note.ledger_id)
        assert (invoice.status, invoice.balance) == ("paid", Decimal(0))
        assert (credit.total, credit.balance) == (Decimal("40.00"), Decimal("14.55"))
        assert credit.applied_to == ((invoice_id, Decimal("25.45")),)
        if not self.takes_refunds:
            return
        rest = self.refund("14.55", credit_note_id="CN-1")
        refund_id = await self.push_refund(ledger, customer_id, rest, note.ledger_id)
        refund = await self.fetch(ledger, "refund", refund_id)
        spent = await self.fetch(ledger, "credit_note", note.ledger_id)
        assert refund.applied_to == ((note.ledger_id, Decimal("14.55")),)
        assert (spent.balance, spent.applied_to) == (Decimal(0), credit.applied_to)


class TaxIdSection(LedgerContract):
    """A customer's tax id is kept as the source writes it and matched whatever its case
    and punctuation (spaces, dots, dashes)."""

    #: the field of the sandbox's customer record holding the tax id as written
    tax_id_field: ClassVar[str] = ""
    #: False where a number stored with punctuation cannot be found (Xero's ``where``
    #: cannot normalise: the number is stored compact and asked for with punctuation)
    finds_punctuation_stored: ClassVar[bool] = True

    def someone(self, tax_id: str) -> Customer:
        return self.customer(9, name="Someone Else GmbH", email=None, tax_id=tax_id)

    async def test_a_tax_id_written_another_way_matches_and_another_number_does_not(
        self, ledger: LedgerUnderTest
    ) -> None:
        punctuated, compact = "DE 136.695-976", "de136695976"
        stored_punctuated = self.finds_punctuation_stored
        written, asked = (punctuated, compact) if stored_punctuated else (compact, punctuated)
        customer = self.customer(1, tax_id=written)
        ledger_id = await self.push_customer(ledger, customer=customer)
        await self.push_customer(ledger, 2)  # no tax id
        held = [r.get(self.tax_id_field) for r in ledger.sandbox.records("customer")]  # type: ignore[attr-defined]  # every sandbox has records; the protocol leaves it out
        matches = await ledger.adapter.match_customer(self.someone(asked))
        others = [
            await ledger.adapter.match_customer(self.someone(t)) for t in ("DE136695977", " .- ")
        ]
        assert written in held
        assert [(m.ledger_id, m.external_ref) for m in matches] == [(ledger_id, "csv/customer/C-1")]
        assert others == [[], []]


class SendSection(LedgerContract):
    """The ledger e-mails an invoice (``core.ports.InvoiceSender``): once per send, to the
    customer's address on file, and reads the delivery back; with no address on file it
    refuses and nothing goes out."""

    #: what ``delivery`` says of an invoice never sent (None: the ledger cannot tell)
    unsent: ClassVar[InvoiceDelivery | None] = InvoiceDelivery(sent=False)
    #: the codes of the refusals with no address on file and of an unknown invoice
    no_address_code: ClassVar[str] = ""
    unknown_invoice_code: ClassVar[str] = ""
    #: an invoice id the ledger does not hold, in the platform's form
    unknown_invoice_id: ClassVar[str] = ""

    def recipients(self, ledger: LedgerUnderTest, invoice_id: str) -> list[str]:
        """The addresses each e-mail the sandbox sent of the invoice went to, in order."""
        raise NotImplementedError  # the platform's contract class provides it

    def sender(self, ledger: LedgerUnderTest) -> InvoiceSender:
        assert isinstance(ledger.adapter, InvoiceSender)
        return ledger.adapter

    async def test_a_fresh_invoice_is_not_said_to_be_sent(self, ledger: LedgerUnderTest) -> None:
        invoice_id = await invoice_to_email(ledger.adapter)
        assert await self.sender(ledger).delivery(invoice_id) == self.unsent
        assert self.recipients(ledger, invoice_id) == []

    async def test_each_send_emails_the_address_on_file_once_and_reads_back_as_sent(
        self, ledger: LedgerUnderTest
    ) -> None:
        invoice_id = await invoice_to_email(ledger.adapter)
        first = await self.sender(ledger).send_invoice(invoice_id)
        once = self.recipients(ledger, invoice_id)
        again = await self.sender(ledger).send_invoice(invoice_id)
        assert once == ["billing@acme.example"]
        assert self.recipients(ledger, invoice_id) == ["billing@acme.example"] * 2
        assert first.sent and again.sent
        assert await self.sender(ledger).delivery(invoice_id) == again

    async def test_no_address_on_file_is_refused_and_nothing_sent(
        self, ledger: LedgerUnderTest
    ) -> None:
        invoice_id = await invoice_to_email(ledger.adapter, email=None)
        with pytest.raises(PermanentLedgerError) as refused:
            await self.sender(ledger).send_invoice(invoice_id)
        assert refused.value.code == self.no_address_code
        assert self.recipients(ledger, invoice_id) == []
        assert await self.sender(ledger).delivery(invoice_id) == self.unsent

    async def test_an_unknown_invoice_is_refused_with_the_platform_s_code(
        self, ledger: LedgerUnderTest
    ) -> None:
        with pytest.raises(PermanentLedgerError) as refused:
            await self.sender(ledger).send_invoice(self.unknown_invoice_id)
        assert refused.value.code == self.unknown_invoice_code
