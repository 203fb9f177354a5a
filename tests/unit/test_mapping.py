"""source-field transforms and the item policy of a ledger's mapping file."""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncledger.adapters.platforms import mapping_file, platform_ids
from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.core import validation as v
from syncledger.core.errors import ConfigurationError
from syncledger.core.mapping import Mapping, load_mapping, split_by_shares
from syncledger.core.model import Customer, Invoice
from syncledger.core.ports import SourceItem
from syncledger.core.sample_data import sample_data_dir
from syncledger.core.validation import Rejected, Validated, validate
from tests.support.rules import rules_of

LEDGER_FILES = platform_ids()
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

DEAL = (
    "[transforms.invoice]\n"
    'lines = { split_total = "deal_amount", description = "deal_name", tax = "deal_tax", '
    'parts = "deal_parts", item_code = "deal_product" }\n'
)
NAMES = """
[transforms.customer]
name = { concat = ["first_name", "last_name"], separator = " " }
"""


def mapping(text: str) -> Mapping:
    return Mapping.from_text("test", text, source="test.toml")


def customer(**fields: Any) -> dict[str, Any]:
    return {"id": "C1", "currency": "USD", **fields}


def deal(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "D1",
        "number": "D-1",
        "customer_id": "C1",
        "issue_date": "2024-05-01",
        "currency": "USD",
    }
    return {**base, **fields}


def invoice_line(code: str | None = None) -> dict[str, Any]:
    return {"description": "Work", "quantity": "1", "unit_price": "10.00", "item_code": code}


def checked(kind: str, fields: dict[str, Any], ledger: str = "qbo") -> Validated | Rejected:
    return validate(SourceItem("crm", kind, str(fields["id"]), "v1", fields), rules_of(ledger))


def applied(m: Mapping, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    out, reasons = m.apply(kind, fields)
    assert reasons == ()
    return out


# --------------------------------------------------------------------------- concat


def test_concat_combines_first_and_last_name_and_drops_the_parts() -> None:
    out = applied(mapping(NAMES), "customer", customer(first_name="Ada", last_name="Lovelace"))
    assert out == customer(name="Ada Lovelace")
    result = checked("customer", out)
    assert isinstance(result, Validated)
    assert isinstance(result.record, Customer)
    assert result.record.name == "Ada Lovelace"


def test_concat_skips_missing_parts_and_normalises_whitespace() -> None:
    m = mapping(NAMES)
    assert applied(m, "customer", customer(first_name="  Ada \t  Maria ", last_name=None)) == (
        customer(name="Ada Maria")
    )
    assert applied(m, "customer", customer(last_name=" Lovelace")) == customer(name="Lovelace")


def test_concat_all_parts_blank_leaves_the_target_missing_for_validation() -> None:
    out = applied(mapping(NAMES), "customer", customer(first_name=" ", last_name=""))
    assert out == customer()
    result = checked("customer", out)
    assert isinstance(result, Rejected)
    assert [r.code for r in result.reasons] == [v.REQUIRED_FIELD_MISSING]


def test_concat_keeps_a_filled_target_unless_override() -> None:
    fields = customer(name="Acme Ltd", first_name="Ada", last_name="Lovelace")
    assert applied(mapping(NAMES), "customer", fields) == customer(name="Acme Ltd")
    forced = mapping(NAMES.replace('separator = " "', 'separator = ", ", override = true'))
    assert applied(forced, "customer", fields) == customer(name="Ada, Lovelace")


def test_concat_passes_a_non_text_part_on_for_validation_to_refuse() -> None:
    out = applied(mapping(NAMES), "customer", customer(first_name=["Ada"], last_name="L"))
    result = checked("customer", out)
    assert isinstance(result, Rejected)
    assert [(r.code, r.field) for r in result.reasons] == [(v.WRONG_TYPE, "name")]


# --------------------------------------------------------------------------- rename, default, …


def test_rename_moves_a_source_field_to_its_canonical_name() -> None:
    m = mapping('[transforms.customer]\nemail = { rename = "email_address" }')
    out = applied(m, "customer", customer(name="A", email_address="a@example.com"))
    assert out == customer(name="A", email="a@example.com")


def test_rename_keeps_a_filled_target_unless_override() -> None:
    fields = customer(name="A", email="old@example.com", email_address="new@example.com")
    plain = mapping('[transforms.customer]\nemail = { rename = "email_address" }')
    assert applied(plain, "customer", fields)["email"] == "old@example.com"
    forced = mapping('[transforms.customer]\nemail = { rename = "email_address", override = true }')
    assert applied(forced, "customer", fields)["email"] == "new@example.com"


def test_rename_of_a_canonical_field_copies_it() -> None:
    m = mapping('[transforms.customer]\ncontact_name = { rename = "name" }')
    assert applied(m, "customer", customer(name="Ada")) == customer(name="Ada", contact_name="Ada")


def test_default_fills_only_a_missing_or_blank_field() -> None:
    m = mapping('[transforms.payment]\nmethod = { default = "check" }')
    assert applied(m, "payment", {"id": "P1"})["method"] == "check"
    assert applied(m, "payment", {"id": "P1", "method": "  "})["method"] == "check"
    assert applied(m, "payment", {"id": "P1", "method": "cash"})["method"] == "cash"


def test_constant_always_wins_and_an_integer_becomes_text() -> None:
    m = mapping('[transforms.payment]\nmethod = { constant = "ach" }\nreference = { constant = 7 }')
    out = applied(m, "payment", {"id": "P1", "method": "cash"})
    assert out == {"id": "P1", "method": "ach", "reference": "7"}


def test_transforms_run_in_file_order() -> None:
    m = mapping(
        "[transforms.customer]\n"
        'name = { concat = ["first_name", "last_name"] }\n'
        'contact_name = { rename = "name" }\n'
    )
    out = applied(m, "customer", customer(first_name="Ada", last_name="Lovelace"))
    assert out == customer(name="Ada Lovelace", contact_name="Ada Lovelace")


def test_apply_never_changes_its_input() -> None:
    fields = deal(deal_amount="10.00", deal_name="Job", deal_parts=[{"name": "a", "share": "1"}])
    before = copy.deepcopy(fields)
    mapping(DEAL).apply("invoice", fields)
    assert fields == before


# --------------------------------------------------------------------------- split_total


def test_split_total_turns_a_deal_into_one_line_and_sets_the_total() -> None:
    fields = deal(deal_amount="1200.00", deal_name="Website redesign", deal_tax="96.00")
    out = applied(mapping(DEAL), "invoice", fields)
    assert out == deal(
        lines=[
            {
                "description": "Website redesign",
                "quantity": "1",
                "unit_price": "1200.00",
                "tax_amount": "96.00",
            }
        ],
        total="1296.00",
    )
    result = checked("invoice", out)
    assert isinstance(result, Validated)
    assert isinstance(result.record, Invoice)
    assert result.record.total == Decimal("1296.00")


def test_split_total_by_shares_puts_the_rounding_remainder_on_the_last_line() -> None:
    parts = [{"name": n, "share": "1"} for n in ("Design", "Build", "Launch")]
    fields = deal(deal_amount="100.00", deal_name="Site", deal_tax="10.00", deal_parts=parts)
    out = applied(mapping(DEAL), "invoice", fields)
    lines = out["lines"]
    assert [ln["description"] for ln in lines] == ["Design", "Build", "Launch"]
    assert [ln["unit_price"] for ln in lines] == ["33.33", "33.33", "33.34"]
    assert [ln["tax_amount"] for ln in lines] == ["3.33", "3.33", "3.34"]
    assert out["total"] == "110.00"
    result = checked("invoice", out)
    assert isinstance(result, Validated)
    assert isinstance(result.record, Invoice)
    assert sum((ln.unit_price for ln in result.record.lines), Decimal(0)) == Decimal("100.00")


def test_split_total_uses_the_currency_minor_unit_and_weighted_shares() -> None:
    parts = [{"name": "a", "share": "50"}, {"name": "b", "share": "30"}, {"name": "c", "share": 20}]
    fields = deal(currency="JPY", deal_amount="1001", deal_name="x", deal_parts=parts)
    out = applied(mapping(DEAL), "invoice", fields)
    assert [ln["unit_price"] for ln in out["lines"]] == ["500", "300", "201"]
    assert out["total"] == "1001"


def test_split_total_takes_the_discount_into_the_total_and_item_codes_onto_lines() -> None:
    parts = [{"name": "a", "share": "1", "item_code": "SKU-A"}, {"name": "b", "share": "1"}]
    fields = deal(
        deal_amount="50.00", deal_name="x", deal_product="SKU-X", deal_parts=parts, discount="5"
    )
    out = applied(mapping(DEAL), "invoice", fields)
    assert [ln["item_code"] for ln in out["lines"]] == ["SKU-A", "SKU-X"]
    assert out["total"] == "45.00"
    assert isinstance(checked("invoice", out), Validated)


def test_split_total_keeps_stated_lines_and_total() -> None:
    stated = deal(lines=[invoice_line()], total="10.00", deal_amount="99.00", deal_name="x")
    out = applied(mapping(DEAL), "invoice", stated)
    assert out == deal(lines=[invoice_line()], total="10.00")
    forced = mapping(DEAL.replace('item_code = "deal_product"', "override = true"))
    out = applied(forced, "invoice", stated)
    assert out["lines"] == [{"description": "x", "quantity": "1", "unit_price": "99.00"}]
    assert out["total"] == "10.00"


def test_split_total_passes_a_garbage_amount_on_for_validation_to_refuse() -> None:
    out = applied(mapping(DEAL), "invoice", deal(deal_amount="12,00", deal_name="x"))
    result = checked("invoice", out)
    assert isinstance(result, Rejected)
    assert {(r.code, r.field) for r in result.reasons} == {
        (v.NOT_A_DECIMAL, "lines[0].unit_price"),
        (v.NOT_A_DECIMAL, "total"),
    }


def test_split_total_without_an_amount_leaves_no_lines() -> None:
    out = applied(mapping(DEAL), "invoice", deal(deal_name="x", total="5.00"))
    result = checked("invoice", out)
    assert isinstance(result, Rejected)
    assert [r.code for r in result.reasons] == [v.NO_LINES]


@pytest.mark.parametrize(
    "parts",
    [
        "Design:1,Build:1",
        [{"name": "a", "share": "-1"}, {"name": "b", "share": "2"}],
        [{"name": "a", "share": "0"}],
        [{"name": "a", "share": 0.5}],
        [{"name": "a"}],
        ["a"],
    ],
)
def test_unusable_parts_are_an_invalid_split(parts: object) -> None:
    out, reasons = mapping(DEAL).apply("invoice", deal(deal_amount="10.00", deal_parts=parts))
    assert reasons
    assert {r.code for r in reasons} == {v.INVALID_SPLIT}
    assert all(r.field is not None and r.field.startswith("deal_parts") for r in reasons)
    assert "deal_parts" not in out


def test_split_by_shares_small_cases() -> None:
    assert split_by_shares(Decimal("0.01"), [Decimal(1)] * 3, 2) == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.01"),
    ]
    assert split_by_shares(Decimal("10"), [Decimal(1), Decimal(0)], 2) == [
        Decimal("10.00"),
        Decimal("0.00"),
    ]


_AMOUNTS = st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2)
_SHARES = st.lists(
    st.decimals(min_value=0, max_value=Decimal("1000000"), places=6), min_size=1, max_size=30
).filter(lambda shares: any(s > 0 for s in shares))


@FAST
@given(amount=_AMOUNTS, shares=_SHARES, places=st.integers(min_value=0, max_value=4))
def test_split_by_shares_always_adds_up_exactly(
    amount: Decimal, shares: list[Decimal], places: int
) -> None:
    lines = split_by_shares(amount, shares, places)
    assert len(lines) == len(shares)
    assert sum(lines, Decimal(0)) == amount
    assert all(line >= 0 for line in lines)
    whole = sum(shares, Decimal(0))
    unit = Decimal(1).scaleb(-places)
    for line, share in zip(lines[:-1], shares[:-1], strict=True):
        assert abs(line - amount * share / whole) < unit  # each head line is its share


@FAST
@given(amount=_AMOUNTS, shares=_SHARES)
def test_split_deals_validate_and_their_lines_sum_to_the_total(
    amount: Decimal, shares: list[Decimal]
) -> None:
    parts = [{"name": f"part {i}", "share": str(s)} for i, s in enumerate(shares)]
    out = applied(mapping(DEAL), "invoice", deal(deal_amount=str(amount), deal_parts=parts))
    result = checked("invoice", out)
    assert isinstance(result, Validated), result
    record = result.record
    assert isinstance(record, Invoice)
    assert record.total == amount
    assert sum((ln.unit_price for ln in record.lines), Decimal(0)) == amount


_VALUES = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.decimals(allow_nan=True),
    st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5)), max_size=3),
)
_FIELD_NAMES = st.sampled_from(
    ["deal_amount", "deal_tax", "deal_parts", "deal_name", "lines", "total", "currency",
     "discount", "first_name", "last_name", "name", "item_code"]
)  # fmt: skip
EVERYTHING = mapping(
    DEAL
    + NAMES
    + '[items]\nunmatched = "review"\n[items.map]\n"A" = "Ledger A"\n'
    + '[transforms.credit_note]\nlines = { split_total = "deal_amount", parts = "deal_parts" }'
)


@FAST
@given(
    kind=st.sampled_from(["customer", "invoice", "credit_note", "payment", "other"]),
    fields=st.dictionaries(_FIELD_NAMES, _VALUES),
    parts=st.lists(
        st.dictionaries(st.sampled_from(["name", "share", "item_code"]), _VALUES), max_size=4
    ),
)
def test_apply_never_raises_on_garbage(
    kind: str, fields: dict[str, Any], parts: list[dict[str, Any]]
) -> None:
    fields.setdefault("deal_parts", parts)
    out, reasons = EVERYTHING.apply(kind, fields)
    assert isinstance(out, dict)
    assert all(r.code in v.REASON_CODES and r.code != v.INVALID_RECORD for r in reasons)


# --------------------------------------------------------------------------- item policy

ITEMS = """
[items]
unmatched = "{policy}"

[items.map]
"SKU-1" = "Consulting"
"""


def test_mapped_item_codes_are_rewritten_to_the_ledger_item() -> None:
    m = mapping(ITEMS.format(policy="review"))
    fields = deal(lines=[invoice_line(" SKU-1 "), invoice_line(None)], total="20.00")
    out = applied(m, "invoice", fields)
    assert [ln["item_code"] for ln in out["lines"]] == ["Consulting", None]
    assert fields["lines"][0]["item_code"] == " SKU-1 "


def test_review_rejects_an_unmatched_item_saying_what_to_do() -> None:
    m = mapping(ITEMS.format(policy="review"))
    fields = deal(lines=[invoice_line("SKU-1"), invoice_line("SKU-9")], total="20.00")
    _, reasons = m.apply("credit_note", fields)
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason.code == v.UNMATCHED_ITEM == "unmatched_item"
    assert reason.field == "lines[1].item_code"
    for words in ("SKU-9", "[items.map]", "test.toml", 'unmatched = "create"'):
        assert words in reason.message
    assert "[items.map]" in v.reason_help(v.UNMATCHED_ITEM)


def test_create_passes_unmatched_items_through_unchanged() -> None:
    m = mapping(ITEMS.format(policy="create"))
    fields = deal(lines=[invoice_line("SKU-9"), invoice_line("SKU-1")], total="20.00")
    out = applied(m, "invoice", fields)
    assert [ln["item_code"] for ln in out["lines"]] == ["SKU-9", "Consulting"]


def test_the_item_policy_applies_to_split_deal_lines() -> None:
    m = mapping(DEAL + ITEMS.format(policy="review"))
    fields = deal(deal_amount="5.00", deal_name="x", deal_product="SKU-2")
    _, reasons = m.apply("invoice", fields)
    assert [r.code for r in reasons] == [v.UNMATCHED_ITEM]


def test_no_items_section_means_create() -> None:
    fields = deal(lines=[invoice_line("SKU-9")], total="10.00")
    assert applied(mapping(""), "invoice", fields) == fields


# --------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            '[transforms.invoice]\nlines = { splt_total = "amount" }',
            "[transforms.invoice] lines",
            "unknown transform 'splt_total'",
        ),
        ('[transforms.invoice]\nlines = "amount"', "[transforms.invoice] lines", "expected"),
        ("[transforms]\ninvoice = 3", "[transforms] invoice", "expected a table"),
        ("transforms = 3", "[transforms] transforms", "expected a table"),
        ('[transforms.deal]\nname = { rename = "x" }', "[transforms] deal", "record kind"),
        ('[transforms.customer]\nnmae = { rename = "x" }', "[transforms.customer] nmae", "field"),
        (
            '[transforms.customer]\nname = { rename = "x", default = "y" }',
            "[transforms.customer] name",
            "combines",
        ),
        (
            '[transforms.customer]\nname = { rename = "x", separator = " " }',
            "[transforms.customer] name",
            "no option 'separator'",
        ),
        ("[transforms.customer]\nname = { concat = [] }", "[transforms.customer] name", "list"),
        ('[transforms.customer]\nname = { concat = "a" }', "[transforms.customer] name", "list"),
        (
            '[transforms.customer]\nname = { rename = "x", override = "yes" }',
            "[transforms.customer] name",
            "true or false",
        ),
        (
            "[transforms.payment]\namount = { default = 1.5 }",
            "[transforms.payment] amount",
            "float",
        ),
        (
            '[transforms.customer]\nname = { split_total = "x" }',
            "[transforms.customer] name",
            "split_total",
        ),
        (
            '[transforms.invoice]\nlines = { split_total = "" }',
            "[transforms.invoice] lines",
            "name",
        ),
        ('[items]\nunmatched = "ask"', "[items] unmatched", '"review"'),
        ('[items]\npolicy = "review"', "[items] policy", "item setting"),
        ('[items.map]\n"SKU-1" = 5', "[items.map] SKU-1", "ledger item"),
        ("[items]\nmap = 5", "[items.map] map", "expected a table"),
    ],
)
def test_malformed_sections_name_the_file_section_and_key(
    text: str, where: str, words: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        mapping(text)
    assert f"test.toml {where}:" in str(info.value)
    assert words in str(info.value)


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(ConfigurationError, match=r"test\.toml is not valid TOML"):
        mapping("[transforms.customer\n")


def test_a_missing_mapping_file_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no mapping file"):
        mapping_file("no-such-ledger")


def test_an_unreadable_mapping_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the mapping file"):
        load_mapping("qbo", tmp_path / "absent.toml")


# --------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("ledger", LEDGER_FILES)
def test_shipped_mapping_files_load_with_the_published_version(ledger: str) -> None:
    m = load_mapping(ledger, mapping_file(ledger))
    digest = hashlib.sha256(mapping_file(ledger).read_text().encode()).hexdigest()
    assert m.version == f"{ledger}@{digest[:12]}"
    assert m.sha256 == digest
    assert m.items.unmatched == "create"
    assert str(mapping_file(ledger)) in m.source


@pytest.fixture(scope="module")
def sample_items() -> list[SourceItem]:
    return CsvSource(sample_data_dir()).read()


@pytest.mark.parametrize("ledger", LEDGER_FILES)
def test_shipped_mapping_files_are_no_ops_on_the_sample_data(
    ledger: str, sample_items: list[SourceItem]
) -> None:
    m = load_mapping(ledger, mapping_file(ledger))
    assert {item.kind for item in sample_items} == {"customer", "invoice", "payment", "refund"}
    for item in sample_items:
        assert m.apply(item.kind, item.fields) == (item.fields, ())


# --------------------------------------------------------------------------- invoice e-mail


def _invoice(**fields: Any) -> dict[str, Any]:
    return deal(total="10.00", lines=[invoice_line()], **fields)


@pytest.mark.parametrize(
    ("rule", "fields", "sent"),
    [
        ('send = { constant = "true" }', {}, True),  # every invoice of this ledger
        ('send = { rename = "email_invoice" }', {"email_invoice": "yes"}, True),
        ('send = { rename = "email_invoice" }', {"email_invoice": "no"}, False),
        ('send = { default = "true" }', {"send": "false"}, False),  # the source's own flag wins
        ("", {}, False),
    ],
)
def test_a_mapping_rule_asks_the_ledger_to_email_invoices(
    rule: str, fields: dict[str, Any], sent: bool
) -> None:
    m = mapping(f"[transforms.invoice]\n{rule}\n")
    outcome = checked("invoice", applied(m, "invoice", _invoice(**fields)))
    assert isinstance(outcome, Validated), outcome
    assert isinstance(outcome.record, Invoice)
    assert outcome.record.send is sent
