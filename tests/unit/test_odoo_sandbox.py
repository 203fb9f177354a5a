"""The Odoo sandbox on its own: what Odoo's documented contract says it answers."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.odoo.sandbox.refusals import EXAMPLES
from syncledger.adapters.odoo.sandbox.server import DEFAULT_API_KEY, create_app, sandbox_of
from syncledger.adapters.odoo.sandbox.service import OdooSandbox
from syncledger.adapters.odoo.wire import decode, encode_call
from syncledger.adapters.sandbox.examples import Example
from syncledger.adapters.sandbox.refusals import Refusal
from tests.contracts.raw_sections import RequestWindowSection, Wait, Window
from tests.contracts.refusal_examples_section import RefusalExamplesSection, Request

KEY = {"Authorization": f"bearer {DEFAULT_API_KEY}", "Content-Type": "application/json"}


class Odoo:
    def __init__(self, client: httpx.AsyncClient, sandbox: OdooSandbox) -> None:
        self.client = client
        self.sandbox = sandbox

    async def raw(
        self, model: str, method: str, headers: dict[str, str] = KEY, **body: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/json/2/{model}/{method}", content=encode_json(body), headers=headers
        )

    async def call(self, model: str, method: str, **body: Any) -> Any:
        response = await self.raw(model, method, **body)
        assert response.status_code == 200, response.text
        return decode_json(response.content)

    async def xml(self, service: str, method: str, *params: Any) -> Any:
        response = await self.client.post(
            f"/xmlrpc/2/{service}", content=encode_call(method, params)
        )
        assert response.status_code == 200, response.text
        return decode(response.content)[0][0]

    async def partner(self, name: str = "Acme", **vals: Any) -> int:
        [ident] = await self.call(
            "res.partner", "create", vals_list=[{"name": name, "customer_rank": 1, **vals}]
        )
        return int(ident)

    async def invoice(self, partner: int, *lines: dict[str, Any], **vals: Any) -> int:
        commands = [[0, 0, line] for line in lines]
        values = {"move_type": "out_invoice", "partner_id": partner, "invoice_date": "2026-03-01"}
        [ident] = await self.call(
            "account.move", "create", vals_list=[values | vals | {"invoice_line_ids": commands}]
        )
        return int(ident)

    async def read(self, model: str, ident: int, *fields: str) -> dict[str, Any]:
        [row] = await self.call(model, "read", ids=[ident], fields=list(fields))
        return dict(row)


@pytest.fixture
async def odoo() -> AsyncIterator[Odoo]:
    app = create_app(per_second=200, per_minute=5000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://odoo"
    ) as client:
        yield Odoo(client, sandbox_of(app))
    sandbox_of(app).close()


def line(
    qty: str = "1", price: str = "10.00", taxes: list[int] | None = None, **vals: Any
) -> dict[str, Any]:
    return {
        "name": "x",
        "quantity": Decimal(qty),
        "price_unit": Decimal(price),
        "tax_ids": [[6, 0, taxes or []]],
        **vals,
    }


async def tax_id(odoo: Odoo, rate: str) -> int:
    [row] = await odoo.call(
        "account.tax", "search_read", domain=[["name", "=", f"{rate}%"]], fields=["amount"]
    )
    return int(row["id"])


# ------------------------------------------------------------------ JSON-2 shape


async def test_a_bad_api_key_gets_the_documented_401_body(odoo: Odoo) -> None:
    response = await odoo.raw(
        "res.partner",
        "search_read",
        headers={"Authorization": "bearer nope", "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    body = decode_json(response.content)
    assert set(body) == {"name", "message", "arguments", "context", "debug"}
    assert body["name"] == "werkzeug.exceptions.Unauthorized"
    assert body["message"] == "Invalid apikey"
    assert body["arguments"] == ["Invalid apikey", 401]


# -------------------------------------------------------------------- invoices


async def test_taxes_round_per_line_and_a_negative_line_discounts(odoo: Odoo) -> None:
    eight = await tax_id(odoo, "8")
    partner = await odoo.partner()
    ident = await odoo.invoice(
        partner, line("2", "75.50", [eight]), line("3", "9.99", [eight]), line("1", "-10.00")
    )
    await odoo.call("account.move", "action_post", ids=[ident])
    move = await odoo.read(
        "account.move",
        ident,
        "name",
        "state",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "payment_state",
    )
    assert move["amount_tax"] == Decimal("14.48")  # 12.08 + 2.3976 rounded to 2.40
    assert move["amount_untaxed"] == Decimal("170.97")
    assert move["amount_total"] == move["amount_residual"] == Decimal("185.45")
    assert (move["state"], move["payment_state"]) == ("posted", "not_paid")
    assert move["name"] == "INV/2026/00001"


async def test_a_posted_invoice_reset_to_draft_takes_new_lines(odoo: Odoo) -> None:
    ident = await odoo.invoice(await odoo.partner(), line())
    await odoo.call("account.move", "action_post", ids=[ident])
    await odoo.call("account.move", "button_draft", ids=[ident])
    await odoo.call(
        "account.move",
        "write",
        ids=[ident],
        vals={"invoice_line_ids": [[5, 0, 0], [0, 0, line("2")]]},
    )
    await odoo.call("account.move", "action_post", ids=[ident])
    move = await odoo.read("account.move", ident, "name", "amount_total")
    assert move == {"id": ident, "name": "INV/2026/00001", "amount_total": Decimal("20.00")}


async def test_payment_wizard_reconciles_and_cancel_unreconciles(odoo: Odoo) -> None:
    partner = await odoo.partner()
    ident = await odoo.invoice(partner, line("1", "100.00"))
    await odoo.call("account.move", "action_post", ids=[ident])
    context = {"active_model": "account.move", "active_ids": [ident]}
    [wizard] = await odoo.call(
        "account.payment.register",
        "create",
        vals_list=[{"amount": Decimal("40.00"), "communication": "ours"}],
        context=context,
    )
    action = await odoo.call("account.payment.register", "action_create_payments", ids=[wizard])
    payment = await odoo.read(
        "account.payment", action["res_id"], "memo", "amount", "reconciled_invoice_ids"
    )
    assert payment["memo"] == "ours"
    assert payment["reconciled_invoice_ids"] == [ident]
    assert (await odoo.read("account.move", ident, "amount_residual", "payment_state")) == {
        "id": ident,
        "amount_residual": Decimal("60.00"),
        "payment_state": "partial",
    }
    await odoo.call("account.move", "button_cancel", ids=[ident])
    assert (await odoo.read("account.move", ident, "state", "amount_residual")) == {
        "id": ident,
        "state": "cancel",
        "amount_residual": 0,
    }
    assert (await odoo.read("account.payment", action["res_id"], "reconciled_invoice_ids"))[
        "reconciled_invoice_ids"
    ] == []


async def test_a_credit_note_is_applied_as_an_outstanding_line(odoo: Odoo) -> None:
    partner = await odoo.partner()
    invoice = await odoo.invoice(partner, line("1", "100.00"))
    refund = await odoo.invoice(
        partner, line("1", "30.00"), move_type="out_refund", reversed_entry_id=invoice
    )
    for ident in (invoice, refund):
        await odoo.call("account.move", "action_post", ids=[ident])
    [receivable] = await odoo.call(
        "account.move.line",
        "search_read",
        domain=[["move_id", "=", refund], ["account_type", "=", "asset_receivable"]],
        fields=["amount_residual"],
    )
    assert receivable["amount_residual"] == Decimal("-30.00")
    await odoo.call(
        "account.move", "js_assign_outstanding_line", ids=[invoice], line_id=receivable["id"]
    )
    assert (await odoo.read("account.move", invoice, "amount_residual"))[
        "amount_residual"
    ] == Decimal("70.00")
    assert (await odoo.read("account.move", refund, "name", "payment_state")) == {
        "id": refund,
        "name": "RINV/2026/00001",
        "payment_state": "paid",
    }


async def receivable(odoo: Odoo, owner: str, ident: int) -> dict[str, Any]:
    [row] = await odoo.call(
        "account.move.line",
        "search_read",
        domain=[[owner, "=", ident], ["account_type", "=", "asset_receivable"]],
        fields=["amount_residual", "partner_id"],
    )
    return dict(row)


async def register(odoo: Odoo, model: str, ident: int, **vals: Any) -> int:
    context = {"active_model": model, "active_ids": [ident]}
    [wizard] = await odoo.call(
        "account.payment.register", "create", vals_list=[vals], context=context
    )
    action = await odoo.call("account.payment.register", "action_create_payments", ids=[wizard])
    return int(action["res_id"])


async def test_an_overpayment_keeps_its_rest_open_on_the_payments_receivable_item(
    odoo: Odoo,
) -> None:
    invoice = await odoo.invoice(await odoo.partner(), line("1", "100.00"))
    await odoo.call("account.move", "action_post", ids=[invoice])
    payment = await register(
        odoo, "account.move", invoice, amount=Decimal("130.00"), payment_difference_handling="open"
    )
    assert (await odoo.read("account.move", invoice, "amount_residual", "payment_state")) == {
        "id": invoice,
        "amount_residual": 0,
        "payment_state": "paid",
    }
    assert (await receivable(odoo, "payment_id", payment))["amount_residual"] == Decimal("-30.00")
    stored = await odoo.read("account.payment", payment, "amount", "payment_type")
    assert (stored["amount"], stored["payment_type"]) == (Decimal("130.00"), "inbound")


async def test_the_wizard_on_a_credit_item_pays_it_back_with_an_outbound_payment(
    odoo: Odoo,
) -> None:
    invoice = await odoo.invoice(await odoo.partner(), line("1", "100.00"))
    await odoo.call("account.move", "action_post", ids=[invoice])
    payment = await register(odoo, "account.move", invoice, amount=Decimal("130.00"))
    credit = await receivable(odoo, "payment_id", payment)
    refund = await register(odoo, "account.move.line", credit["id"], amount=Decimal("30.00"))
    stored = await odoo.read("account.payment", refund, "payment_type", "partner_type", "state")
    assert (stored["payment_type"], stored["partner_type"]) == ("outbound", "customer")
    assert (await receivable(odoo, "payment_id", payment))["amount_residual"] == 0


async def test_odoo_pays_out_more_than_a_credit_note_holds_leaving_a_debit(odoo: Odoo) -> None:
    partner = await odoo.partner()
    note = await odoo.invoice(partner, line("1", "40.00"), move_type="out_refund")
    await odoo.call("account.move", "action_post", ids=[note])
    await register(odoo, "account.move", note, amount=Decimal("50.00"))
    assert (await odoo.read("account.move", note, "amount_residual"))["amount_residual"] == 0
    [refund] = await odoo.call(
        "account.payment", "search", domain=[["payment_type", "=", "outbound"]]
    )
    assert (await receivable(odoo, "payment_id", refund))["amount_residual"] == Decimal("10.00")


async def test_a_payment_is_created_in_draft_and_posted(odoo: Odoo) -> None:
    partner = await odoo.partner()
    [payment] = await odoo.call(
        "account.payment",
        "create",
        vals_list=[{"partner_id": partner, "amount": Decimal("25.00"), "memo": "ours"}],
    )
    assert (await odoo.read("account.payment", payment, "state", "move_id")) == {
        "id": payment,
        "state": "draft",
        "move_id": False,
    }
    assert await odoo.call("account.payment", "action_post", ids=[payment]) is None
    assert (await odoo.read("account.payment", payment, "state"))["state"] == "paid"
    assert (await receivable(odoo, "payment_id", payment))["amount_residual"] == Decimal("-25.00")


async def test_over_xmlrpc_a_none_result_is_a_fault_after_the_commit(odoo: Odoo) -> None:
    partner = await odoo.partner()
    [payment] = await odoo.call(
        "account.payment", "create", vals_list=[{"partner_id": partner, "amount": 5}]
    )
    call: tuple[Any, ...] = (
        "sandbox",
        2,
        DEFAULT_API_KEY,
        "account.payment",
        "action_post",
        [[payment]],
        {},
    )
    response = await odoo.client.post("/xmlrpc/2/object", content=encode_call("execute_kw", call))
    assert response.status_code == 200
    with pytest.raises(xmlrpc.client.Fault) as fault:
        decode(response.content)
    assert fault.value.faultCode == 1
    assert "cannot marshal None" in fault.value.faultString
    assert (await odoo.read("account.payment", payment, "state"))["state"] == "paid"


# -------------------------------------------------------------------- products

MISSING_PRODUCT = (
    "Record does not exist or has been deleted.\n(Record: product.product(999,), User: 2)"
)


async def product(odoo: Odoo, code: str, **vals: Any) -> int:
    [ident] = await odoo.call(
        "product.product",
        "create",
        vals_list=[{"name": code, "default_code": code, "type": "service", **vals}],
    )
    return int(ident)


async def test_over_xmlrpc_a_line_naming_no_product_is_odoos_missing_error(odoo: Odoo) -> None:
    """Over JSON-2: the refusal examples' record.missing."""
    partner = await odoo.partner()
    commands = [[0, 0, line(product_id=999)]]
    values = {"move_type": "out_invoice", "partner_id": partner, "invoice_line_ids": commands}
    call = ("sandbox", 2, DEFAULT_API_KEY, "account.move", "create", [[values]], {})
    answer = await odoo.client.post("/xmlrpc/2/object", content=encode_call("execute_kw", call))
    with pytest.raises(xmlrpc.client.Fault) as fault:
        decode(answer.content)
    assert (fault.value.faultCode, fault.value.faultString) == (2, MISSING_PRODUCT)
    assert odoo.sandbox.count("invoice") == 0  # the whole call rolled back
    assert odoo.sandbox.records("account.move.line") == []


async def test_a_product_line_reads_as_its_product_and_books_to_its_income_account(
    odoo: Odoo,
) -> None:
    [journal] = await odoo.call(
        "account.journal",
        "search_read",
        domain=[["type", "=", "sale"]],
        fields=["default_account_id"],
    )
    sales = journal["default_account_id"]
    assert sales[1] == "400000 Product Sales"
    with odoo.sandbox.book.transaction():  # a second income account, set up by hand
        other = odoo.sandbox.book.add(
            "account.account", {"code": "400100", "name": "Audits", "account_type": "income"}
        )
    audit = await product(odoo, "SVC-1", property_account_income_id=other["id"])
    invoice = await odoo.invoice(await odoo.partner(), line(product_id=audit), line())
    lines = await odoo.call(
        "account.move.line",
        "search_read",
        domain=[["move_id", "=", invoice], ["account_type", "=", "income"]],
        fields=["product_id", "account_id", "price_subtotal"],
    )
    assert [(ln["product_id"], ln["account_id"][0]) for ln in lines] == [
        ([audit, "[SVC-1] SVC-1"], other["id"]),
        (False, sales[0]),  # no product: the sale journal's default account
    ]
    assert lines[0]["price_subtotal"] == Decimal("10.00")  # our price, not the product's


async def test_default_codes_are_not_unique_as_in_odoo(odoo: Odoo) -> None:
    first, second = await product(odoo, "SVC-1"), await product(odoo, "SVC-1")
    assert first != second
    assert odoo.sandbox.count("item") == 2
    found = await odoo.call(
        "product.product",
        "search_read",
        domain=[["default_code", "=", "svc-1"]],  # `=` is exact: case counts
        fields=["default_code"],
    )
    assert found == []


async def test_product_creates_go_through_the_write_faults(odoo: Odoo) -> None:
    odoo.sandbox.fail_next_writes(1)
    failed = await odoo.raw("product.product", "create", vals_list=[{"name": "X"}])
    assert failed.status_code == 500
    assert odoo.sandbox.count("item") == 0
    await product(odoo, "X")
    assert odoo.sandbox.count("item") == 1


# ------------------------------------------------------- search, paging, delta


async def test_search_read_pages_with_offset_limit_and_order(odoo: Odoo) -> None:
    ids = [await odoo.partner(f"P{n}") for n in range(5)]
    domain = [["customer_rank", ">", 0]]
    pages = [
        await odoo.call(
            "res.partner",
            "search_read",
            domain=domain,
            fields=["name"],
            offset=o,
            limit=2,
            order="id desc",
        )
        for o in (0, 2, 4)
    ]
    assert [r["id"] for page in pages for r in page] == ids[::-1]
    either = ["|", ["name", "ilike", "p1"], ["name", "=ilike", "p3"]]
    assert await odoo.call("res.partner", "search", domain=either) == [ids[1], ids[3]]


async def test_write_date_reads_to_the_second_and_filters_deltas(odoo: Odoo) -> None:
    first = await odoo.partner("First")
    [row] = await odoo.call("res.partner", "read", ids=[first], fields=["write_date"])
    stamp = row["write_date"]
    assert len(stamp) == 19 and stamp[10] == " "
    later = await odoo.call(
        "res.partner", "search", domain=[["write_date", ">", "2999-01-01 00:00:00"]]
    )
    assert later == []
    assert first in await odoo.call("res.partner", "search", domain=[["write_date", ">=", stamp]])


async def test_archived_records_hide_unless_active_test_is_off(odoo: Odoo) -> None:
    ident = await odoo.partner("Old", active=False)
    assert await odoo.call("res.partner", "search", domain=[["id", "=", ident]]) == []
    assert await odoo.call(
        "res.partner", "search", domain=[["id", "=", ident]], context={"active_test": False}
    ) == [ident]


# ------------------------------------------------------------ limits and keys


class TestOdooRequestWindow(RequestWindowSection):
    """The per-second limit: werkzeug's TooManyRequests, Retry-After 1."""

    window_code = "werkzeug.exceptions.TooManyRequests"
    retry_after = Wait(1, 1)

    @asynccontextmanager
    async def windowed(self, limit: int) -> AsyncIterator[Window]:
        app = create_app(per_second=limit, per_minute=100)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://odoo") as client:
            odoo = Odoo(client, sandbox_of(app))
            yield Window(lambda: odoo.raw("res.partner", "search_count", domain=[]), odoo.sandbox)

    def error_code(self, answer: httpx.Response) -> str:
        return str(decode_json(answer.content)["name"])


async def test_api_keys_are_generated_and_revoked(odoo: Odoo) -> None:
    soon = (date.today() + timedelta(days=30)).isoformat()
    new = await odoo.call(
        "res.users.apikeys",
        "generate",
        key=DEFAULT_API_KEY,
        scope="rpc",
        name="rotated",
        expiration_date=soon,
    )
    assert isinstance(new, str) and len(new) == 40
    headers = {"Authorization": f"bearer {new}", "Content-Type": "application/json"}
    assert (
        await odoo.raw("res.users.apikeys", "revoke", headers=headers, key=DEFAULT_API_KEY)
    ).status_code == 200
    assert (await odoo.raw("res.partner", "search_count", domain=[])).status_code == 401


# ---------------------------------------------------------------- XML-RPC


async def test_xmlrpc_authenticates_and_answers_faults(odoo: Odoo) -> None:
    assert (await odoo.xml("common", "version"))["server_version"] == "19.0"
    uid = await odoo.xml("common", "authenticate", "sandbox", "admin", DEFAULT_API_KEY, {})
    assert uid == 2
    assert await odoo.xml("common", "authenticate", "sandbox", "admin", "wrong", {}) is False
    [ident] = await odoo.xml(
        "object",
        "execute_kw",
        "sandbox",
        uid,
        DEFAULT_API_KEY,
        "res.partner",
        "create",
        [[{"name": "Via XML"}]],
        {},
    )
    rows = await odoo.xml(
        "object",
        "execute_kw",
        "sandbox",
        uid,
        DEFAULT_API_KEY,
        "res.partner",
        "read",
        [[ident]],
        {"fields": ["name", "email"]},
    )
    assert rows == [{"id": ident, "name": "Via XML", "email": False}]
    for key, model, code in ((DEFAULT_API_KEY, "account.move", 2), ("wrong", "res.partner", 3)):
        response = await odoo.client.post(
            "/xmlrpc/2/object",
            content=encode_call("execute_kw", ("sandbox", uid, key, model, "read", [[999]], {})),
        )
        assert response.status_code == 200
        with pytest.raises(xmlrpc.client.Fault) as fault:
            decode(response.content)
        assert fault.value.faultCode == code


# ------------------------------------------------------------------ releases


class Rpc:
    """``execute_kw`` as the admin of a sandbox playing some release."""

    def __init__(self, odoo: Odoo) -> None:
        self.odoo = odoo

    async def __call__(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self.odoo.xml(
            "object", "execute_kw", "sandbox", 2, DEFAULT_API_KEY, model, method, list(args), kwargs
        )

    async def fault(self, model: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, str]:
        params = ("sandbox", 2, DEFAULT_API_KEY, model, method, list(args), kwargs)
        response = await self.odoo.client.post(
            "/xmlrpc/2/object", content=encode_call("execute_kw", params)
        )
        with pytest.raises(xmlrpc.client.Fault) as fault:
            decode(response.content)
        return fault.value.faultCode, str(fault.value.faultString)


@pytest.fixture
async def odoo_17() -> AsyncIterator[Odoo]:
    app = create_app(per_second=200, per_minute=5000, version=17)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://odoo"
    ) as client:
        yield Odoo(client, sandbox_of(app))
    sandbox_of(app).close()


async def test_a_sandbox_told_it_is_17_answers_and_refuses_as_17(odoo_17: Odoo) -> None:
    """17 has no ``account.payment.memo`` nor ``account.move.invoice_currency_rate`` (new in
    18: OpenUpgrade 18.0.1.3 account analysis): Odoo's ORM refuses an unknown field with
    ``ValueError: Invalid field``, fault 1. A 17 payment's memo is its move's ``ref``."""
    rpc = Rpc(odoo_17)
    info = await odoo_17.xml("common", "version")
    assert (info["server_version"], info["server_version_info"][:2]) == ("17.0", [17, 0])
    partner = await odoo_17.xml(
        "object", "execute_kw", "sandbox", 2, DEFAULT_API_KEY, "res.partner", "create",
        [[{"name": "Acme", "customer_rank": 1}]], {},
    )  # fmt: skip
    wrong = {"partner_id": partner[0], "amount": Decimal("25.00"), "memo": "ours"}
    code, text = await rpc.fault("account.payment", "create", [wrong])
    assert code == 1 and "Invalid field 'memo' on model 'account.payment'" in text
    move = {
        "move_type": "out_invoice",
        "partner_id": partner[0],
        "currency_id": 2,
        "invoice_currency_rate": Decimal("0.8"),
    }
    code, text = await rpc.fault("account.move", "create", [move])
    assert code == 1 and "Invalid field 'invoice_currency_rate' on model 'account.move'" in text
    code, _ = await rpc.fault("account.payment", "search_read", [], fields=["memo"])
    assert code == 1
    right = {k: v for k, v in wrong.items() if k != "memo"} | {"ref": "ours"}
    [payment] = await rpc("account.payment", "create", [right])
    code, text = await rpc.fault("account.payment", "action_post", [payment])  # None: fault
    assert code == 1 and "cannot marshal None" in text
    [row] = await rpc(
        "account.payment", "search_read", [["ref", "=", "ours"]], fields=["ref", "state"]
    )
    assert row == {"id": payment, "ref": "ours", "state": "posted"}  # 17: the move's state
    assert odoo_17.sandbox.count("payment") == 1


async def test_json2_is_a_19_route(odoo_17: Odoo) -> None:
    response = await odoo_17.raw("res.partner", "search_read")
    assert response.status_code == 404
    app18 = create_app(version=18)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app18), base_url="http://odoo"
    ) as client:
        assert (
            await Odoo(client, sandbox_of(app18)).raw("res.partner", "search_read")
        ).status_code == 404
        version = decode_json((await client.get("/web/version")).content)
        assert version["version"] == "18.0"
    sandbox_of(app18).close()


async def test_currency_rates_come_from_the_table_for_the_contexts_date(odoo: Odoo) -> None:
    """``res.currency.rate`` for the context's ``date``: the latest row on or before it, 1.0
    without one; the company currency 1 (``res.currency._compute_current_rate``)."""
    [euro] = await odoo.call(
        "res.currency", "search_read", domain=[["name", "=", "EUR"]], fields=["name"]
    )
    odoo.sandbox.set_currency_rate("EUR", "2026-03-01", Decimal("0.9"))
    odoo.sandbox.set_currency_rate("EUR", "2026-04-01", Decimal("0.8"))
    for day, rate in (("2026-02-28", 1), ("2026-03-15", "0.9"), ("2026-04-02", "0.8")):
        [row] = await odoo.call(
            "res.currency", "read", ids=[euro["id"]], fields=["rate"], context={"date": day}
        )
        assert row["rate"] == Decimal(rate)


# ---------------------------------------------------------------- refusals


class TestOdooRefusalExamples(RefusalExamplesSection):
    """Every row of adapters/odoo/sandbox/refusals.py refused over JSON-2 as its example
    shows, in Odoo's error body."""

    examples = EXAMPLES

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Odoo]:
        app = create_app(per_second=200, per_minute=5000)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://odoo") as client:
            yield Odoo(client, sandbox_of(app))
        sandbox_of(app).close()

    async def send(self, client: Odoo, request: Request) -> httpx.Response:
        return await client.client.post(
            request.path, content=request.content(), headers=KEY | request.headers
        )

    def error_code(self, answer: httpx.Response) -> str:
        return str(decode_json(answer.content)["name"])

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        """Odoo's documented body: its five keys, the message its first argument."""
        body = decode_json(answer.content)
        assert set(body) == {"name", "message", "arguments", "context", "debug"}
        assert body["arguments"][0] == body["message"]

    async def given_partner(self, odoo: Odoo) -> dict[str, Any]:
        return {"partner": await odoo.partner()}

    async def draft(self, odoo: Odoo, *lines: dict[str, Any], **vals: Any) -> dict[str, Any]:
        partner = await odoo.partner()
        return {"partner": partner, "move": await odoo.invoice(partner, *lines, **vals)}

    async def posted(self, odoo: Odoo, *lines: dict[str, Any]) -> dict[str, Any]:
        given = await self.draft(odoo, *(lines or (line("1", "100.00"),)))
        await odoo.call("account.move", "action_post", ids=[given["move"]])
        return given

    async def given_draft(self, odoo: Odoo) -> dict[str, Any]:
        return await self.draft(odoo, line())

    async def given_no_lines(self, odoo: Odoo) -> dict[str, Any]:
        return await self.draft(odoo)

    async def given_negative(self, odoo: Odoo) -> dict[str, Any]:
        return await self.draft(odoo, line("1", "-5.00"))

    async def given_foreign(self, odoo: Odoo) -> dict[str, Any]:
        return await self.draft(odoo, line(), currency_id=2)

    async def given_no_partner(self, odoo: Odoo) -> dict[str, Any]:
        values = {"move_type": "out_invoice", "invoice_line_ids": [[0, 0, line()]]}
        [ident] = await odoo.call("account.move", "create", vals_list=[values])
        return {"move": ident}

    async def given_posted(self, odoo: Odoo) -> dict[str, Any]:
        return await self.posted(odoo)

    async def given_cancelled(self, odoo: Odoo) -> dict[str, Any]:
        given = await self.draft(odoo, line())
        await odoo.call("account.move", "button_cancel", ids=[given["move"]])
        return given

    async def given_two_posted(self, odoo: Odoo) -> dict[str, Any]:
        given = await self.posted(odoo)
        return given | {"other": (await self.posted(odoo))["move"]}

    async def credit_of(self, odoo: Odoo, partner: int) -> int:
        """A posted credit note of 30.00's receivable line."""
        note = await odoo.invoice(partner, line("1", "30.00"), move_type="out_refund")
        await odoo.call("account.move", "action_post", ids=[note])
        return int((await receivable(odoo, "move_id", note))["id"])

    async def given_draft_with_credit(self, odoo: Odoo) -> dict[str, Any]:
        given = await self.draft(odoo, line())
        return given | {"credit": await self.credit_of(odoo, given["partner"])}

    async def given_posted_with_credit(self, odoo: Odoo) -> dict[str, Any]:
        """``own``: the posted invoice's own receivable line (nothing to reconcile with it);
        ``others``: another customer's credit."""
        given = await self.posted(odoo)
        await self.credit_of(odoo, given["partner"])
        own = (await receivable(odoo, "move_id", given["move"]))["id"]
        return given | {"own": own, "others": await self.credit_of(odoo, await odoo.partner("B"))}

    async def given_refunded_credit(self, odoo: Odoo) -> dict[str, Any]:
        """An overpayment's 30.00 of credit, paid back."""
        given = await self.posted(odoo)
        payment = await register(odoo, "account.move", given["move"], amount=Decimal("130.00"))
        credit = (await receivable(odoo, "payment_id", payment))["id"]
        await register(odoo, "account.move.line", credit, amount=Decimal("30.00"))
        return given | {"credit": credit}

    async def given_posted_payment(self, odoo: Odoo) -> dict[str, Any]:
        partner = await odoo.partner()
        vals = {"partner_id": partner, "amount": Decimal("25.00")}
        [payment] = await odoo.call("account.payment", "create", vals_list=[vals])
        await odoo.call("account.payment", "action_post", ids=[payment])
        return {"payment": payment}

    async def given_many_keys(self, odoo: Odoo) -> dict[str, Any]:
        """As many programmatic keys as a user may have."""
        soon = (date.today() + timedelta(days=30)).isoformat()
        keys = {"key": DEFAULT_API_KEY, "scope": "rpc", "name": "k", "expiration_date": soon}
        while (await odoo.raw("res.users.apikeys", "generate", **keys)).status_code == 200:
            pass
        return {"soon": soon}
