"""Webhook bodies become the same source items the CSV source makes of the same records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.adapters.webhooks.payload import items_of
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import WebhookRefused

# docs/csv.md's examples, one CSV file each
CSV = {
    "customers.csv": (
        "id,name,currency,contact_name,email,phone,tax_id,billing_address,updated_at\n"
        "CUST-0001,Maple Pest Control & Sons,USD,Jamal Garcia,jamal@maple.example.com,"
        '+1 555 758 5553,12-3456789,"8172 Elm St\nBoise, ID 83702",2024-01-01T08:01:00Z\n'
    ),
    "invoices.csv": (
        "id,number,customer_id,issue_date,due_date,currency,exchange_rate,discount,total,"
        "status,updated_at,description,quantity,unit_price,tax_amount,item_code,line_type\n"
        "INV-1003,1003,CUST-0001,2024-04-25,2024-05-25,USD,,,774.32,open,2024-04-25T14:43:00Z,"
        '"Labour, per hour",4.5,108.60,30.54,SVC-LABOR,service\n'
        "INV-1003,1003,CUST-0001,2024-04-25,2024-05-25,USD,,,774.32,open,2024-04-25T14:43:00Z,"
        "Disposal fee,6,38.77,19.19,FEE-DISPOSAL,fee\n"
    ),
    "credit_notes.csv": (
        "id,number,customer_id,invoice_id,issue_date,currency,exchange_rate,discount,total,"
        "updated_at,description,quantity,unit_price,tax_amount,item_code,line_type\n"
        "CN-1,CN-1,CUST-0001,INV-1003,2024-05-02,USD,,,41.96,2024-05-02T09:00:00Z,"
        "Disposal fee (refund),1,38.77,3.19,FEE-DISPOSAL,fee\n"
    ),
    "payments.csv": (
        "id,customer_id,invoice_id,amount,currency,paid_on,method,reference,updated_at\n"
        "PAY-5002,CUST-0001,INV-1003,774.32,USD,2024-05-17,check,REF-5002,2024-05-17T11:22:00Z\n"
    ),
    "refunds.csv": (
        "id,customer_id,amount,currency,refunded_on,payment_id,credit_note_id,method,"
        "reference,updated_at\n"
        "RF-1,CUST-0001,41.96,USD,2024-05-20,,CN-1,check,R-1,2024-05-20T10:00:00Z\n"
    ),
}

LINE_A = {"description": "Labour, per hour", "quantity": 4.5, "unit_price": "108.60",
          "tax_amount": "30.54", "item_code": "SVC-LABOR", "line_type": "service"}  # fmt: skip
LINE_B = {"description": "Disposal fee", "quantity": 6, "unit_price": "38.77",
          "tax_amount": 19.19, "item_code": "FEE-DISPOSAL", "line_type": "fee"}  # fmt: skip

# the same records as webhook bodies (numbers as JSON numbers where it shows they are kept)
HOOKS: dict[str, dict[str, Any]] = {
    "customer": {
        "id": "CUST-0001", "name": "Maple Pest Control & Sons", "currency": "USD",
        "contact_name": "Jamal Garcia", "email": "jamal@maple.example.com",
        "phone": "+1 555 758 5553", "tax_id": "12-3456789",
        "billing_address": "8172 Elm St\nBoise, ID 83702", "updated_at": "2024-01-01T08:01:00Z",
    },
    "invoice": {
        "id": "INV-1003", "number": 1003, "customer_id": "CUST-0001",
        "issue_date": "2024-04-25", "due_date": "2024-05-25", "currency": "USD",
        "exchange_rate": None, "discount": "", "total": 774.32, "status": "open",
        "updated_at": "2024-04-25T14:43:00Z", "lines": [LINE_A, LINE_B],
    },
    "credit_note": {
        "id": "CN-1", "number": "CN-1", "customer_id": "CUST-0001", "invoice_id": "INV-1003",
        "issue_date": "2024-05-02", "currency": "USD", "exchange_rate": "", "discount": "",
        "total": "41.96", "updated_at": "2024-05-02T09:00:00Z",
        "lines": [{"description": "Disposal fee (refund)", "quantity": 1, "unit_price": 38.77,
                   "tax_amount": "3.19", "item_code": "FEE-DISPOSAL", "line_type": "fee"}],
    },
    "payment": {
        "id": "PAY-5002", "customer_id": "CUST-0001", "invoice_id": "INV-1003",
        "amount": 774.32, "currency": "USD", "paid_on": "2024-05-17", "method": "check",
        "reference": "REF-5002", "updated_at": "2024-05-17T11:22:00Z",
    },
    "refund": {
        "id": "RF-1", "customer_id": "CUST-0001", "amount": "41.96", "currency": "USD",
        "refunded_on": "2024-05-20", "payment_id": None, "credit_note_id": "CN-1",
        "method": "check", "reference": "R-1", "updated_at": "2024-05-20T10:00:00Z",
    },
}  # fmt: skip


def as_json(record: dict[str, Any], kind: str) -> bytes:
    envelope = {"type": f"{kind}.updated", "timestamp": "2026-03-01T12:00:00Z", "data": record}
    return json.dumps(envelope).encode()


def comparable(item: SourceItem) -> tuple[Any, ...]:
    return (item.kind, item.id, item.version, item.fields, item.deleted)


@pytest.fixture
def csv_items(tmp_path: Path) -> dict[str, SourceItem]:
    for name, text in CSV.items():
        (tmp_path / name).write_text(text)
    return {item.kind: item for item in CsvSource(tmp_path, system="pos").read()}


@pytest.mark.parametrize("kind", list(HOOKS))
def test_a_record_via_webhook_equals_the_same_record_via_csv(
    kind: str, csv_items: dict[str, SourceItem]
) -> None:
    [item] = items_of(as_json(HOOKS[kind], kind), "pos")
    assert item.system == "pos"
    assert comparable(item) == comparable(csv_items[kind])


def test_json_numbers_become_decimal_text_never_float() -> None:
    raw = b'{"type":"payment.created","timestamp":"x","data":{"id":"p","customer_id":"c",'
    raw += b'"invoice_id":"i","amount":0.1000000000000000055511151231257827,"currency":"USD",'
    raw += b'"paid_on":"2024-01-01","updated_at":"2024-01-01T00:00:00Z"}}'
    [item] = items_of(raw, "pos")
    assert item.fields["amount"] == "0.1000000000000000055511151231257827"
    big = raw.replace(b"0.1000000000000000055511151231257827", b"12345678901234567890.10")
    assert items_of(big, "pos")[0].fields["amount"] == "12345678901234567890.10"


def test_a_batch_gives_one_item_per_record_in_order() -> None:
    second = {**HOOKS["customer"], "id": "CUST-0002", "name": "Thames Roofing Ltd"}
    items = items_of(as_json([HOOKS["customer"], second], "customer"), "pos")  # type: ignore[arg-type]
    assert [i.id for i in items] == ["CUST-0001", "CUST-0002"]


def test_a_deletion_needs_only_the_id_and_its_time() -> None:
    raw = json.dumps(
        {"type": "invoice.deleted", "data": {"id": "INV-9", "updated_at": "2024-06-01T00:00:00Z"}}
    ).encode()
    [item] = items_of(raw, "pos")
    assert (item.kind, item.id, item.deleted) == ("invoice", "INV-9", True)
    assert item.version == "2024-06-01T00:00:00+00:00"


def test_an_empty_line_is_dropped_as_the_csv_source_drops_it() -> None:
    record = {**HOOKS["invoice"], "lines": [LINE_A, {"description": "", "quantity": None,
                                                      "unit_price": ""}]}  # fmt: skip
    [item] = items_of(as_json(record, "invoice"), "pos")
    assert [line["description"] for line in item.fields["lines"]] == ["Labour, per hour"]


CUSTOMER = HOOKS["customer"]
MALFORMED = [
    (b"not json", "not UTF-8 JSON"),
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (json.dumps({"data": CUSTOMER}).encode(), "type None"),
    (json.dumps({"type": "vendor.created", "data": CUSTOMER}).encode(), "'vendor.created'"),
    (json.dumps({"type": "customer.paid", "data": CUSTOMER}).encode(), "'customer.paid'"),
    (json.dumps({"type": "customer.created"}).encode(), "data must be"),
    (json.dumps({"type": "customer.created", "data": []}).encode(), "data must be"),
    (json.dumps({"type": "customer.created", "data": [1]}).encode(), "must be an object"),
    (as_json({**CUSTOMER, "emial": "x"}, "customer"), "unknown field(s) emial"),
    (as_json({**CUSTOMER, "name": ""}, "customer"), "missing name"),
    (as_json({**CUSTOMER, "name": True}, "customer"), "name must be a string or a number"),
    (as_json({**CUSTOMER, "name": {"a": 1}}, "customer"), "name must be a string"),
    (as_json({**CUSTOMER, "id": "a/b"}, "customer"), "id must be"),
    (as_json({**CUSTOMER, "updated_at": "soon"}, "customer"), "updated_at is not"),
    (as_json({**HOOKS["invoice"], "lines": []}, "invoice"), "lines must be a non-empty list"),
    (as_json({**HOOKS["invoice"], "lines": ["x"]}, "invoice"), "line 1: each of lines"),
    (as_json({**HOOKS["invoice"], "lines": [{"description": "d"}]}, "invoice"), "missing"),
    (as_json({**HOOKS["invoice"], "quantity": 1}, "invoice"), "unknown field(s) quantity"),
]


@pytest.mark.parametrize(("raw", "says"), MALFORMED)
def test_a_body_of_another_shape_is_malformed_with_a_specific_line(raw: bytes, says: str) -> None:
    with pytest.raises(WebhookRefused) as refused:
        items_of(raw, "pos")
    assert refused.value.reason == "malformed"
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
