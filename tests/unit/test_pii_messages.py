"""Messages name a personal field, never show its value (issue 18, erasure)."""

from __future__ import annotations

from syncledger.core import validation as v
from syncledger.core.events import RejectionReason
from syncledger.core.ingest import split_personal
from syncledger.core.pii_text import MALFORMED_KEY, echoable, strip, strip_reasons
from syncledger.core.ports import SourceItem
from syncledger.core.validation import DEFAULT_RULES, MALFORMED_FIELD, Rejected, validate

EMAIL = "leaky.zqx@@pii-marker.example.com"
PHONE = "555-ZQX-LEAKPHONE"


def _customer(**fields: object) -> SourceItem:
    base: dict[str, object] = {"id": "c1", "name": "Zqx Person", "currency": "USD"}
    return SourceItem("csv", "customer", "c1", "v1", {**base, **fields})


def _messages(item: SourceItem) -> str:
    result = validate(item, DEFAULT_RULES)
    assert isinstance(result, Rejected)
    return "\n".join(r.message for r in result.reasons)


def test_the_malformed_key_is_validations() -> None:
    assert MALFORMED_KEY == MALFORMED_FIELD


def test_invalid_email_phone_and_tax_id_are_named_not_shown() -> None:
    text = _messages(_customer(email=EMAIL, phone=PHONE, tax_id="DE000ZQX1"))
    assert "email: the e-mail address is not an address (check its @ and domain)" in text
    assert "phone is not a phone number: " in text
    assert "tax_id is not a valid DE VAT number" in text
    for value in (EMAIL, "pii-marker", "ZQX-LEAK", "DE000ZQX1"):
        assert value.lower() not in text.lower()


def test_a_non_text_personal_value_is_not_shown() -> None:
    text = _messages(_customer(contact_name=["Zqx", "Secret Person"]))
    assert "contact_name holds a list; expected text" in text
    assert "Secret" not in text


def test_every_value_of_a_malformed_record_is_kept_out_of_its_reasons() -> None:
    item = _customer(currency="Zqxshiftcity", **{MALFORMED_FIELD: ["line 3 has 10 cells"]})
    text = _messages(item)
    assert "malformed" in text or "could not read" in text
    assert "zqxshiftcity" not in text.lower()
    assert "<currency>" in text


def test_strip_covers_repr_lines_and_the_shortened_repr() -> None:
    address = "1 Zqxbadlane Which Is A Rather Long Street Name\nZqxbadcity"
    values = echoable("customer", {"billing_address": address, "name": "Jane Doe", "id": "c1"})
    assert set(values.values()) == {"billing_address", "name"}
    shown = repr(address)[:37] + "..."
    text = strip(f"a {shown} b; c {address!r}; Zqxbadcity; Duplicate name 'JANE DOE'", values)
    assert "zqxbad" not in text.lower() and "jane" not in text.lower()
    assert "<name>" in text and "<billing_address>" in text


def test_strip_reasons_keeps_codes_and_fields() -> None:
    [reason] = strip_reasons(
        [RejectionReason(code="x", message="Duplicate name 'Jane Doe'", field="name")],
        {"Jane Doe": "name"},
    )
    assert (reason.code, reason.field, reason.message) == ("x", "name", "Duplicate name <name>")


def test_a_malformed_record_is_sealed_whole() -> None:
    item = _customer(email="a@b.example", **{MALFORMED_FIELD: ["shifted"]})
    public, personal = split_personal(item)
    assert public == {}
    assert personal["name"] == "Zqx Person" and personal[MALFORMED_FIELD] == ["shifted"]
    clean_public, clean_personal = split_personal(_customer(email="a@b.example"))
    assert "name" not in clean_public  # a customer's name is personal (sealed) too
    assert clean_personal == {"name": "Zqx Person", "email": "a@b.example"}


def test_check_email_never_quotes_the_library() -> None:
    [reason] = v.check_email("customer.email", "someone@localhost")
    assert "localhost" not in reason.message
