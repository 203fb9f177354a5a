"""FreshBooksLedger against the FreshBooks sandbox in-process: what FreshBooks-specific
behaviour adds to the ledger contract (tests/unit/test_freshbooks_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from syncledger.adapters.freshbooks.errors import FreshBooksNotFoundError, translate_freshbooks
from syncledger.adapters.freshbooks.ledger import FreshBooksOAuthClient
from syncledger.adapters.freshbooks.mapping import load_mapping, tax_key, version_of
from syncledger.adapters.freshbooks.platform import PLATFORM
from syncledger.adapters.freshbooks.sandbox.server import (
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEFAULT_REFRESH_TOKEN,
)
from syncledger.adapters.freshbooks.sandbox.service import resource
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.oauth2 import FileTokenStore
from syncledger.adapters.platforms import Connection
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.model import CreditNote, Customer, Invoice, InvoiceLine, Payment, Refund
from syncledger.core.ports import (
    InvoiceWrite,
    ItemWrite,
    PaymentWrite,
    RefundWrite,
    VoidWrite,
)
from tests.contracts.error_tables import Translated, answer, translated
from tests.contracts.ledger_contract import key
from tests.contracts.ledger_sections import closed_after
from tests.support import documents
from tests.support.freshbooks import InProcessFreshBooks, in_process_freshbooks, seed_item
from tests.support.writes import pay_invoice, write_credit_note, write_customer


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def fb() -> AsyncIterator[InProcessFreshBooks]:
    async with closed_after(in_process_freshbooks()) as env:
        yield env


def customer(n: int = 1, **changes: object) -> Customer:
    """documents.customer, with an e-mail address."""
    return documents.customer(n, **({"email": f"c{n}@example.test"} | changes))


def invoice(total: str = "0.30", number: str = "INV-1", **changes: object) -> Invoice:
    """documents.invoice, due 1 May 2026."""
    fields: dict[str, object] = {"id": number, "number": number, "due_date": date(2026, 5, 1)}
    return documents.invoice(total, **(fields | changes))


async def push_customer(env: InProcessFreshBooks, n: int = 1, **changes: object) -> str:
    pushed = await write_customer(env.ledger, customer(n, **changes), n)
    return pushed.ledger_id


async def push_invoice(env: InProcessFreshBooks, customer_id: str, doc: Invoice) -> str:
    pushed = await env.ledger.create_invoice(
        InvoiceWrite(
            doc,
            customer_ledger_id=customer_id,
            external_ref=f"csv/invoice/{doc.id}",
            idempotency_key=key("i", doc.id),
        )
    )
    return pushed.ledger_id


def posts(env: InProcessFreshBooks, path_end: str) -> list[Any]:
    """The bodies of the POSTs the adapter sends from now on to a path ending with
    ``path_end``, decoded (JSON, or a token grant's form fields)."""
    bodies: list[Any] = []

    def keep(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith(path_end):
            bodies.append(decoded(request))

    env.transport.before = keep
    return bodies


def decoded(request: httpx.Request) -> Any:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(request.content.decode()))
    return decode_json(request.content)


# ------------------------------------------------------------------- money


async def test_a_tax_that_is_no_three_decimal_percentage_is_refused(
    fb: InProcessFreshBooks,
) -> None:
    customer_id = await push_customer(fb)
    lines = (InvoiceLine(description="x", quantity="1", unit_price="100000", tax_amount="0.01"),)
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(fb, customer_id, invoice(total="100000.01", lines=lines))
    assert refused.value.code == "syncledger.tax_not_expressible"
    assert fb.sandbox.count("invoice") == 0


async def test_a_payment_keeps_its_human_reference_next_to_ours(fb: InProcessFreshBooks) -> None:
    invoice_id = await push_invoice(fb, await push_customer(fb), invoice())
    wired = payment("0.10", 9, method="Bank transfer", reference="WIRE-77")
    await pay_invoice(fb.ledger, "ignored", invoice_id, wired, n=9)
    found = await fb.ledger.find("payment", "csv/payment/PAY-9")
    assert found is not None
    assert (found.name, found.total, found.raw["type"]) == (
        "WIRE-77",
        Decimal("0.10"),
        "Bank Transfer",
    )


async def test_reads_give_the_tax_freshbooks_computed(fb: InProcessFreshBooks) -> None:
    """``tax`` is what FreshBooks holds: its total less its lines, before and after a
    person changes a line's tax percentage in FreshBooks."""
    taxed = invoice(
        total="11.64",
        lines=(
            InvoiceLine(description="a", quantity="3", unit_price="3.33", tax_amount="1.65"),
            InvoiceLine(description="b", quantity="1", unit_price="0.01"),
        ),
        discount=Decimal("0.01"),
    )
    invoice_id = await push_invoice(fb, await push_customer(fb), taxed)
    [listed] = [r async for r in fb.ledger.list_all("invoice")]
    held = await fb.ledger.get("invoice", invoice_id)
    assert held is not None and (held.total, held.tax) == (Decimal("11.64"), Decimal("1.65"))
    assert listed.tax == Decimal("1.65")
    [stored] = fb.sandbox.records("invoice")
    lines = [ln | {"taxAmount1": "10"} if ln["name"] == "a" else ln for ln in stored["lines"]]
    fb.sandbox.update(resource("invoices/invoices"), invoice_id, {"invoice": {"lines": lines}}, ())
    edited = await fb.ledger.get("invoice", invoice_id)
    assert edited is not None and (edited.total, edited.tax) == (Decimal("10.99"), Decimal("1.00"))


# ------------------------------------------------- overpayments and refunds


def payment(amount: str, n: int = 1, **changes: object) -> Payment:
    return documents.payment(amount, id=f"PAY-{n}", **changes)


def refund(amount: str, n: int = 1, **credit: str) -> Refund:
    dated = {"refunded_on": date(2026, 4, 9), "reference": f"RF-{n}"}
    return documents.refund(amount, id=f"REF-{n}", **(dated | credit))


async def pay(
    env: InProcessFreshBooks, invoice_id: str, amount: str, applied: str | None, n: int = 1
) -> str:
    return await pay_invoice(env.ledger, "C-1", invoice_id, payment(amount, n), applied, n=n)


async def test_an_overpayment_is_sent_whole_and_freshbooks_keeps_the_excess_as_credit(
    fb: InProcessFreshBooks,
) -> None:
    customer_id = await push_customer(fb)
    invoice_id = await push_invoice(fb, customer_id, invoice())
    payment_id = await pay(fb, invoice_id, "0.50", applied="0.30")
    [sent] = fb.sandbox.records("payment")
    [credit] = fb.sandbox.records("credit_note")
    record = await fb.ledger.get("payment", payment_id)
    assert (sent["amount"]["amount"], sent["overpaymentid"]) == ("0.50", credit["id"])
    assert (credit["credit_type"], credit["amount"]["amount"]) == ("overpayment", "0.20")
    assert record is not None and (record.total, record.balance) == (
        Decimal("0.50"),
        Decimal("0.20"),
    )
    assert [r.ledger_id async for r in fb.ledger.list_all("payment")] == [payment_id]


@pytest.mark.parametrize("credit", [{"payment_id": "PAY-1"}, {"credit_note_id": "CN-1"}])
async def test_a_refund_is_refused_before_anything_is_sent(
    fb: InProcessFreshBooks, credit: dict[str, str]
) -> None:
    """FreshBooks documents no API refund of a client credit: nothing goes out (the old
    payment of type Refund included), and the reason says what to do."""
    customer_id = await push_customer(fb)
    payment_id = await pay(fb, await push_invoice(fb, customer_id, invoice()), "0.50", "0.30")
    before = len(fb.transport.sent)
    with pytest.raises(PermanentLedgerError) as refused:
        await fb.ledger.create_refund(
            RefundWrite(
                refund("0.20", **credit),
                customer_ledger_id=customer_id,
                credit_kind="payment" if "payment_id" in credit else "credit_note",
                credit_ledger_id=payment_id,
                external_ref="csv/refund/REF-1",
                idempotency_key=key("r", 1),
            )
        )
    assert refused.value.code == "syncledger.refund_not_supported"
    assert "by hand" in str(refused.value) and "REF-1" in str(refused.value)
    assert fb.transport.sent[before:] == []
    assert fb.sandbox.count("payment") == 1
    assert await fb.ledger.get("refund", payment_id) is None
    assert [r async for r in fb.ledger.list_all("refund")] == []


# -------------------------------------------------------------------- items


def booked(total: str, *codes: str | None) -> Invoice:
    """An invoice of one 10.00 line per code, booked to that item (None: to none)."""
    lines = tuple(
        InvoiceLine(description=f"work {n}", quantity="1", unit_price="10.00", item_code=code)
        for n, code in enumerate(codes, start=1)
    )
    return invoice(total=total, lines=lines)


async def test_a_line_booked_to_an_item_is_named_as_the_item(fb: InProcessFreshBooks) -> None:
    seed_item(fb.sandbox, "Consulting")
    parts_id = seed_item(fb.sandbox, "Parts")
    posted: list[dict[str, Any]] = []

    def keep_invoice_posts(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/invoices/invoices"):
            posted.append(decode_json(request.content))

    fb.transport.before = keep_invoice_posts
    customer_id = await push_customer(fb)
    invoice_id = await push_invoice(fb, customer_id, booked("30.00", "Consulting", parts_id, None))
    [body] = posted
    wire = [(ln["name"], ln.get("description")) for ln in body["invoice"]["lines"]]
    assert wire == [("Consulting", "work 1"), ("Parts", "work 2"), ("work 3", None)]
    [stored] = fb.sandbox.records("invoice")
    assert [ln["name"] for ln in stored["lines"]] == ["Consulting", "Parts", "work 3"]
    record = await fb.ledger.get("invoice", invoice_id)
    assert record is not None
    assert record.line_items == ("Consulting", "Parts", None)


async def test_an_item_someone_adds_later_is_found_by_the_next_miss(
    fb: InProcessFreshBooks,
) -> None:
    assert await fb.ledger.find_item("Consulting") is None
    made = seed_item(fb.sandbox, "Consulting")
    found = await fb.ledger.find_item("Consulting")
    assert found is not None
    assert (found.ledger_id, found.code) == (made, "Consulting")
    assert fb.sent("GET", "/items/items") == 2
    by_id = await fb.ledger.find_item(made)
    assert by_id == found
    assert fb.sent("GET", "/items/items") == 2


async def test_a_lost_item_create_is_not_sent_again() -> None:
    env = in_process_freshbooks(timeout=0.3)
    try:
        env.sandbox.commit_then_timeout_next(1)
        with pytest.raises(TransientLedgerError):
            await env.ledger.create_item(ItemWrite("Consulting", idempotency_key=key("item", 1)))
        assert env.sent("POST", "/items/items") == 1
        made = await env.ledger.create_item(ItemWrite("Consulting", idempotency_key=key("item", 1)))
        assert env.sent("POST", "/items/items") == 1
        assert env.sandbox.count("item") == 1
        assert made.code == "Consulting"
    finally:
        await env.ledger.aclose()
        env.sandbox.close()


async def test_a_renamed_or_deleted_item_is_followed(fb: InProcessFreshBooks) -> None:
    ident = seed_item(fb.sandbox, "Consulting")
    assert await fb.ledger.find_item("Consulting") is not None
    items = resource("items/items")
    fb.sandbox.update(items, ident, {"item": {"name": "Advice"}}, ())
    assert await fb.ledger.find_item("Advice") is not None
    assert await fb.ledger.find_item("Consulting") is None
    fb.sandbox.update(items, ident, {"item": {"vis_state": 1}}, ())
    assert await fb.ledger.find_item("Gone") is None  # a miss lists what changed
    assert await fb.ledger.find_item("Advice") is None
    assert await fb.ledger.find_item(ident) is None


# ------------------------------------------------------------------ tax ids


@given(
    st.text(alphabet="ABCdef0123456789", min_size=1, max_size=12),
    st.lists(st.sampled_from([" ", ".", "-"]), max_size=4),
)
def test_a_tax_key_ignores_case_spaces_dots_and_dashes(tax_id: str, marks: list[str]) -> None:
    written = "".join(marks) + tax_id.lower() + "".join(marks)
    assert tax_key(written) == tax_key(tax_id) == tax_id.upper()


# ------------------------------------------------------------- idempotency


async def test_someone_elses_invoice_with_our_number_surfaces_as_a_refusal(
    fb: InProcessFreshBooks,
) -> None:
    customer_id = await push_customer(fb)
    await push_invoice(fb, customer_id, invoice())
    theirs = invoice().model_copy(update={"id": "OTHER"})  # same number, another source record
    with pytest.raises(PermanentLedgerError) as refused:
        await push_invoice(fb, customer_id, theirs)
    assert refused.value.code == "2003"
    assert fb.sandbox.count("invoice") == 1


async def test_a_payment_whose_answer_was_lost_is_found_not_resent() -> None:
    env = in_process_freshbooks(timeout=0.3)
    invoice_id = await push_invoice(env, await push_customer(env), invoice())
    env.sandbox.commit_then_timeout_next(1)
    pushed = await env.ledger.apply_payment(
        PaymentWrite(
            payment("0.05"),
            customer_ledger_id="C-1",
            invoice_ledger_id=invoice_id,
            external_ref="csv/payment/PAY-1",
            idempotency_key=key("p", 1),
        )
    )
    refreshed = await env.ledger.get("invoice", invoice_id)
    payments = env.sandbox.count("payment")
    await env.ledger.aclose()
    env.sandbox.close()
    assert pushed.recovered
    assert payments == 1
    assert refreshed is not None and refreshed.balance == Decimal("0.25")


async def test_a_credit_note_is_applied_once_however_often_it_is_pushed(
    fb: InProcessFreshBooks,
) -> None:
    customer_id = await push_customer(fb)
    invoice_id = await push_invoice(fb, customer_id, invoice())
    note = credit_note()
    for _ in range(3):
        await write_credit_note(fb.ledger, customer_id, invoice_id, note)
    assert (fb.sandbox.count("credit_note"), fb.sandbox.count("payment")) == (1, 1)
    credit = await fb.ledger.find("credit_note", "csv/credit_note/CN-1")
    assert credit is not None and (credit.balance, credit.status) == (Decimal("0.00"), "paid")


def credit_note(total: str = "0.10", invoice_id: str | None = "INV-1") -> CreditNote:
    return documents.credit_note(total, invoice_id=invoice_id)


async def test_a_credit_note_is_applied_by_a_payment_of_type_credit_naming_no_credit(
    fb: InProcessFreshBooks,
) -> None:
    """The application carries only payment fields FreshBooks' official SDK writes (no
    ``creditid``); FreshBooks says which credit it drew on, and that is what reads show."""
    customer_id = await push_customer(fb)
    invoice_id = await push_invoice(fb, customer_id, invoice())
    sent = posts(fb, "/payments/payments")
    note = await write_credit_note(fb.ledger, customer_id, invoice_id, credit_note("0.10"))
    application = {
        "invoiceid": int(invoice_id),
        "amount": {"amount": "0.10", "code": "USD"},
        "date": "2026-04-03",
        "type": "Credit",
        "note": "syncledger-ref: csv/credit_note/CN-1",
    }
    assert sent == [{"payment": application}]
    held = await fb.ledger.get("credit_note", note.ledger_id)
    assert held is not None and held.applied_to == ((invoice_id, Decimal("0.10")),)
    owed = await fb.ledger.get("invoice", invoice_id)
    assert owed is not None and owed.balance == Decimal("0.20")


async def test_a_credit_note_is_not_applied_while_the_client_holds_other_credit(
    fb: InProcessFreshBooks,
) -> None:
    """A payment of type Credit cannot say which credit it draws on: with another open
    credit (here an overpayment's) the application is refused before it is sent."""
    customer_id = await push_customer(fb)
    overpaid = await push_invoice(fb, customer_id, invoice())
    await pay(fb, overpaid, "0.40", applied="0.30")  # leaves 0.10 of credit
    invoice_id = await push_invoice(fb, customer_id, invoice(number="INV-2"))
    sent = posts(fb, "/payments/payments")
    with pytest.raises(PermanentLedgerError) as refused:
        await write_credit_note(
            fb.ledger, customer_id, invoice_id, credit_note("0.10", invoice_id="INV-2")
        )
    assert refused.value.code == "syncledger.credit_not_selectable"
    assert sent == []
    note = await fb.ledger.find("credit_note", "csv/credit_note/CN-1")
    assert note is not None and (note.balance, note.applied_to) == (Decimal("0.10"), ())
    owed = await fb.ledger.get("invoice", invoice_id)
    assert owed is not None and owed.balance == Decimal("0.30")


async def test_voiding_twice_answers_the_same(fb: InProcessFreshBooks) -> None:
    invoice_id = await push_invoice(fb, await push_customer(fb), invoice())
    current = await fb.ledger.get("invoice", invoice_id)
    assert current is not None
    first = await fb.ledger.void_invoice(
        VoidWrite(invoice_id, version=current.version, idempotency_key="v")
    )
    again = await fb.ledger.void_invoice(
        VoidWrite(invoice_id, version=current.version, idempotency_key="v")
    )
    assert (first.recovered, again.recovered) == (False, True)
    assert again.version == first.version


def test_a_version_moves_with_the_content_within_one_second() -> None:
    raw = {"id": 1, "updated": "2026-03-02 10:00:00", "organization": "A"}
    assert version_of("customer", raw) != version_of("customer", raw | {"organization": "B"})
    assert version_of("customer", raw) == version_of("customer", raw | {"last_login": "now"})
    assert version_of("customer", {"id": 1}) is None


# ------------------------------------------------------------------ reads


async def test_match_ignores_case_and_deleted_clients(fb: InProcessFreshBooks) -> None:
    kept = await push_customer(fb, 1, name="Acme Plumbing")
    gone = await push_customer(fb, 2, name="ACME plumbing", email="other@example.test")
    await fb.ledger._http.json(  # delete the way FreshBooks does
        "PUT",
        f"/accounting/account/sandbox-account/users/clients/{gone}",
        body={"client": {"vis_state": 1}},
        idempotent=True,
    )
    same = customer(3, name="acme PLUMBING", email=None)
    assert [r.ledger_id for r in await fb.ledger.match_customer(same)] == [kept]


async def test_changes_are_cut_at_the_second_across_the_eastern_day() -> None:
    clock = Clock()
    env = in_process_freshbooks(clock=clock)
    clock.now = datetime(2026, 3, 4, 23, 0, tzinfo=UTC)  # 18:00 in New York
    await push_customer(env, 1)
    clock.now = datetime(2026, 3, 5, 3, 0, 10, tzinfo=UTC)  # 22:00:10 on the 4th in New York
    later = await push_customer(env, 2)
    since = datetime(2026, 3, 5, 3, 0, 10, 500000, tzinfo=UTC)
    changed = [(r.kind, r.ledger_id) async for r in env.ledger.changes(since)]
    await env.ledger.aclose()
    env.sandbox.close()
    assert changed == [("customer", later)]  # same second: kept, never missed


async def test_get_of_a_missing_customer_is_none(fb: InProcessFreshBooks) -> None:
    assert await fb.ledger.get("customer", "424242") is None


# --------------------------------------------------------------------- auth


async def test_the_rotated_refresh_token_is_persisted_before_use(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens" / "freshbooks.json")
    env = in_process_freshbooks(store=store)
    await push_customer(env)
    saved = store.load()
    assert saved is not None and saved.refresh_token != DEFAULT_REFRESH_TOKEN
    assert (store.path.stat().st_mode & 0o777) == 0o600
    env.sandbox.oauth.expire_access_tokens()
    assert await env.ledger.get("customer", "424242") is None  # refreshed on the 401
    rotated = store.load()
    assert rotated is not None and rotated.refresh_token != saved.refresh_token
    await env.ledger.aclose()
    env.sandbox.close()


async def test_every_token_grant_sends_the_apps_redirect_uri(fb: InProcessFreshBooks) -> None:
    grants = posts(fb, "/auth/oauth/token")
    await push_customer(fb)
    fb.sandbox.oauth.expire_access_tokens()
    assert await fb.ledger.get("customer", "424242") is None  # refreshed on the 401
    assert [(g["grant_type"], g["redirect_uri"]) for g in grants] == [
        ("refresh_token", DEFAULT_REDIRECT_URI)
    ] * 2
    assert all(g["client_secret"] == DEFAULT_CLIENT_SECRET for g in grants)


async def test_no_grant_goes_out_without_a_redirect_uri(tmp_path: Path) -> None:
    """FreshBooks' SDKs refuse to refresh without the app's redirect URI; so does the
    adapter, and live settings without it are refused before anything is sent."""
    client = FreshBooksOAuthClient(
        token_url="https://api.freshbooks.com/auth/oauth/token",
        client_id="app",
        client_secret=SecretStr("secret"),
    )
    with pytest.raises(ConfigurationError, match="SYNCLEDGER_FRESHBOOKS_REDIRECT_URI"):
        client.request("a-refresh-token")
    live = {n: "x" for n in ("client_id", "client_secret", "refresh_token", "account_id")}
    with pytest.raises(ConfigurationError, match="SYNCLEDGER_FRESHBOOKS_REDIRECT_URI"):
        PLATFORM.connect(Connection("https://api.freshbooks.com", tmp_path / "t.json", live))
    adapter = PLATFORM.connect(
        Connection(
            "https://api.freshbooks.com",
            tmp_path / "t.json",
            live | {"redirect_uri": "https://app.example/cb"},
        )
    )
    await adapter.aclose()


# ------------------------------------------------------------- error mapping


ACCOUNTING_REFUSAL = {
    "errno": 2003,
    "field": "email",
    "message": "A client with this email already exists.",
    "object": "client",
    "value": "someone@example.test",
}
MISSING = {"response": {"errors": [{"errno": 1012, "message": "Client not found."}]}}
GATEWAY_DETAIL = {"reason": "1012", "metadata": {"message": "Client not found.", "field": "userid"}}
ERRORS = [
    (  # errno and field kept, the value sent left out
        answer(422, {"response": {"errors": [ACCOUNTING_REFUSAL]}}),
        Translated(PermanentLedgerError, "2003", says=("email",), hides=("someone@example.test",)),
    ),
    (answer(404, MISSING), Translated(FreshBooksNotFoundError, "1012")),
    (
        answer(429, {"errno": 429, "message": "slow"}, **{"Retry-After": "7"}),
        Translated(TransientLedgerError, "429", 7),
    ),
    (
        answer(401, {"error": "unauthenticated", "error_description": "x"}),
        Translated(AuthExpiredError, "unauthenticated"),
    ),
    (answer(503, "down"), Translated(TransientLedgerError, "503")),
    (
        answer(404, {"code": 5, "message": "failed", "details": [GATEWAY_DETAIL]}),
        Translated(FreshBooksNotFoundError, "1012"),
    ),
    (answer(502, b"<html>"), Translated(TransientLedgerError, "502")),  # not JSON: by status
]


@pytest.mark.parametrize(("answer", "expected"), ERRORS)
def test_answers_map_to_the_error_tree(answer: httpx.Response, expected: Translated) -> None:
    assert translated(translate_freshbooks(answer), expected) == expected


# ------------------------------------------------------------------ platform


def test_the_default_mapping_loads() -> None:
    mapping = load_mapping()
    assert mapping.ref_field == {
        "customer": "note",
        "invoice": "notes",
        "payment": "note",
        "credit_note": "notes",
    }
    assert mapping.percent_places == 3


async def test_the_rate_is_configurable_and_checked(tmp_path: Path) -> None:
    async def per_minute(**creds: str) -> int:
        conn = Connection("http://freshbooks.sandbox.local", tmp_path / "t.json", creds)
        adapter = PLATFORM.connect(conn)
        await adapter.aclose()
        return adapter.capabilities.requests_per_minute

    assert await per_minute() == 100
    assert await per_minute(requests_per_minute="40") == 40
    with pytest.raises(ConfigurationError):
        await per_minute(requests_per_minute="lots")
    with pytest.raises(ConfigurationError):
        PLATFORM.connect(Connection("https://api.freshbooks.com", tmp_path / "t.json", {}))
