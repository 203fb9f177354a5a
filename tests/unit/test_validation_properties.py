"""Properties of validate(): it never raises, it rejects every malformed record with at
least one known reason, and it accepts every consistent record.

Malformed records generated per run: 6,200 arbitrary field mappings + 4,000 valid records
given one deliberate defect each = 10,200 (a random mapping may, very rarely, happen to be
valid: the slack covers it); plus 2,000 valid records.
Strategies are built once at import (not per example) to keep the file fast.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncledger.core import validation as v
from syncledger.core.model import RECORD_TYPES, CreditNote, Invoice
from syncledger.core.money import is_currency, minor_unit, quantize
from syncledger.core.ports import SourceItem
from syncledger.core.validation import Rejected, Validated, validate
from tests.support.rules import ALL_RULES, rules_of

KINDS = ("customer", "invoice", "credit_note", "payment")
LEDGERS = (*ALL_RULES, "unlisted-ledger")
Draw = Callable[[st.SearchStrategy[Any]], Any]  # data.draw / a composite's draw
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_well_formed(result: Validated | Rejected, kind: str) -> None:
    if isinstance(result, Validated):
        assert type(result.record) is RECORD_TYPES[kind]
        return
    assert isinstance(result, Rejected)
    assert len(result.reasons) >= 1
    for reason in result.reasons:
        assert reason.code in v.REASON_CODES
        assert reason.code != v.INVALID_RECORD, reason.message
        assert isinstance(reason.message, str)
        assert reason.message


# --------------------------------------------------------------------------- 1. garbage

_NASTY = [
    "",
    " ",
    "\t",
    "NaN",
    "-inf",
    "Infinity",
    "1e999",
    "-0",
    "0",
    "00",
    ".",
    "+",
    "1,000.00",
    "$5",
    "9" * 400,
    "0." + "0" * 300 + "1",
    "XYZ",
    "usd",
    "USD",
    "EUR",
    "2024-02-30",
    "2024-02-29",
    "0000-01-01",
    "\x00",
    "\ud800",
    "a@b",
    "a@b.com",
    ":",
    "item",
    "fee",
    "custom_fee",
    "open",
    "void",
    "\u202e",
    "\ufffd",
    "x" * 5000,
    "🙂" * 50,
    "１２３",
    "C 1",
    "a/b",
]
_scalars = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(_NASTY),
    st.binary(max_size=10),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
)
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), _scalars, max_size=2),
)
_extra_fields = st.dictionaries(st.text(max_size=8) | st.integers(-3, 3), _scalars, max_size=2)


def _any_of(names: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=dict.fromkeys(sorted(names), _values))


_line_dicts = _any_of(v.FIELDS["line"])


def _garbage_for(kind: str) -> st.SearchStrategy[Any]:
    """Any subset of the kind's fields, each holding anything; sometimes extra keys, a
    problem report, lines of anything, or no mapping at all."""
    names = v.FIELDS.get(kind, frozenset()) | {v.MALFORMED_FIELD}
    fields = _any_of(names - {"lines"})
    if "lines" in names:
        lines = st.lists(_line_dicts | _values, max_size=3) | _values
        fields = st.builds(lambda f, ln: {**f, "lines": ln}, fields, lines)
    with_extra = st.builds(lambda f, extra: {**extra, **f}, fields, _extra_fields)
    return st.one_of(fields, with_extra, _values)


_kinds_and_garbage = st.one_of(
    *(st.tuples(st.just(kind), _garbage_for(kind)) for kind in KINDS),
    # any other text is a kind syncledger does not sync (real kinds, refund included, never)
    st.tuples(
        st.text(max_size=8).filter(lambda k: k not in RECORD_TYPES), _garbage_for("customer")
    ),
)


@settings(FAST, max_examples=6200)
@given(
    case=_kinds_and_garbage,
    ledger=st.sampled_from(LEDGERS),
    home=st.sampled_from(["USD", "EUR", "JPY"]),
)
def test_arbitrary_fields_never_raise_and_every_rejection_has_reasons(
    case: tuple[str, Any], ledger: str, home: str
) -> None:
    kind, fields = case
    result = validate(
        SourceItem("csv", kind, "X1", "v1", fields), rules_of(ledger), home_currency=home
    )
    if kind not in KINDS:
        assert isinstance(result, Rejected)
        assert [r.code for r in result.reasons] == [v.UNSUPPORTED_KIND]
        return
    _assert_well_formed(result, kind)


# --------------------------------------------------------------------------- 2. valid records

_ID_CHARS = string.ascii_letters + string.digits + "-_.#"
_NAME_CHARS = string.ascii_letters + string.digits + " &'.,-()/" + "éßüñøÅ漢字Ωж"
_ids = st.text(_ID_CHARS, min_size=1, max_size=12)
_names = st.text(_NAME_CHARS, min_size=1, max_size=41).filter(lambda s: s.strip() != "")
_numbers = st.text(string.ascii_uppercase + string.digits + "-", min_size=1, max_size=11)
_references = st.text(string.ascii_letters + string.digits, max_size=20)
_currencies = st.sampled_from(["USD", "EUR", "GBP", "JPY", "KWD", "CHF"])
_homes = st.sampled_from(["USD", "EUR", "GBP"])
_local_parts = st.text(string.ascii_lowercase + string.digits + "._+", min_size=1, max_size=12)
_emails = st.builds(
    lambda a, b, tld: f"{a}@{b}.{tld}",
    _local_parts.filter(lambda s: s[0] != "." and s[-1] != "." and ".." not in s),
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12),
    st.sampled_from(["com", "org", "io", "example"]),
)
_phones = st.integers(1000000, 9999999).map(lambda n: f"+1 555 {n // 10000} {n % 10000:04d}")
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 9, 30))
_places = st.integers(0, 6)
_percent = st.integers(0, 100)
_line_types = st.sampled_from(sorted(v.LINE_TYPES))
_home_rates: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [{}, {"exchange_rate": Decimal(1)}, {"exchange_rate": ""}]
)


def _scaled(draw: Draw, low: int, high: int, places: int) -> Decimal:
    return Decimal(draw(st.integers(low, high))).scaleb(-places)


def _draw_customer(draw: Draw) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": draw(_ids), "name": draw(_names), "currency": draw(_currencies)}
    if draw(st.booleans()):
        fields["email"] = draw(_emails)
    if draw(st.booleans()):
        fields["phone"] = draw(_phones)
    return fields


def _draw_line(draw: Draw, currency: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "description": draw(_names),
        "quantity": _scaled(draw, 1, 10**4, draw(_places)),
        "unit_price": _scaled(draw, 0, 10**7, draw(_places)),
        "tax_amount": _scaled(draw, 0, 10**7, minor_unit(currency)),
    }
    if draw(st.booleans()):
        line["line_type"] = draw(_line_types)
    return line


def _draw_rate(draw: Draw, currency: str, home: str) -> dict[str, Any]:
    if currency != home:
        return {"exchange_rate": _scaled(draw, 1, 10**8, 6)}
    return dict(draw(_home_rates))


def _draw_amounts(draw: Draw, currency: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """discount (at most the gross) and the total as computed_total() computes it."""
    gross = sum(
        (quantize(ln["quantity"] * ln["unit_price"], currency) + ln["tax_amount"] for ln in lines),
        Decimal(0),
    )
    unit = Decimal(1).scaleb(-minor_unit(currency))
    discount = (gross * draw(_percent) / 100).quantize(unit, rounding=ROUND_DOWN)
    return {"discount": discount, "total": quantize(gross - discount, currency)}


def _draw_document(draw: Draw, kind: str, home: str) -> dict[str, Any]:
    currency = draw(_currencies)
    lines = [_draw_line(draw, currency) for _ in range(draw(st.integers(1, 4)))]
    issue = draw(_dates)
    fields: dict[str, Any] = {
        "id": draw(_ids),
        "number": draw(_numbers),
        "customer_id": draw(_ids),
        "issue_date": issue.isoformat(),
        "currency": currency,
        "lines": lines,
        **_draw_amounts(draw, currency, lines),
        **_draw_rate(draw, currency, home),
    }
    if kind == "invoice":
        fields["due_date"] = (issue + timedelta(days=draw(st.integers(0, 90)))).isoformat()
    elif draw(st.booleans()):
        fields["invoice_id"] = draw(_ids)
    return _as_csv_text(fields) if draw(st.booleans()) else fields


def _as_csv_text(fields: dict[str, Any]) -> dict[str, Any]:
    """The same record as a CSV source delivers it: every value a string."""
    text = {k: str(x) if isinstance(x, Decimal) else x for k, x in fields.items()}
    text["lines"] = [{k: str(x) for k, x in ln.items()} for ln in fields["lines"]]
    return text


def _draw_payment(draw: Draw) -> dict[str, Any]:
    currency = draw(_currencies)
    return {
        "id": draw(_ids),
        "customer_id": draw(_ids),
        "invoice_id": draw(_ids),
        "amount": str(_scaled(draw, 1, 10**12 - 1, minor_unit(currency))),
        "currency": currency,
        "paid_on": draw(_dates).isoformat(),
        "reference": draw(_references),
    }


def _draw_valid(draw: Draw, kind: str, home: str) -> dict[str, Any]:
    if kind == "customer":
        return _draw_customer(draw)
    if kind == "payment":
        return _draw_payment(draw)
    return _draw_document(draw, kind, home)


@settings(FAST, max_examples=2000)
@given(st.data(), st.sampled_from(KINDS), st.sampled_from(LEDGERS), _homes)
def test_consistent_records_validate(
    data: st.DataObject, kind: str, ledger: str, home: str
) -> None:
    fields = _draw_valid(data.draw, kind, home)
    result = validate(
        SourceItem("csv", kind, "X1", "v1", fields), rules_of(ledger), home_currency=home
    )
    assert isinstance(result, Validated), result
    record = result.record
    assert type(record) is RECORD_TYPES[kind]
    if isinstance(record, Invoice | CreditNote):
        assert record.computed_total() == record.total


# --------------------------------------------------------------------------- 3. one defect each

Defect = Callable[[Draw, str, str, dict[str, Any]], str]
_garbage_text = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")
_blanks = st.sampled_from([None, "", "   ", "\t"])
_no_lines: st.SearchStrategy[object] = st.sampled_from([None, "", []])
_not_decimals = st.floats(allow_nan=True) | st.sampled_from(
    ["NaN", "inf", "1e5", "1,000", "$3", "twelve", "1.2.3", "--1", "0x10", "½", "1 000"]
)
_non_positive_quantities = st.sampled_from(["0", "-1", "0.000", "-0.5", Decimal(0)])
_bad_chars = st.sampled_from(["\t", "\n", "\x00", "\x1f", "\x7f", "\ufffd", ":"])
_bad_dates = st.sampled_from(
    ["2024-02-30", "31/12/2024", "1899-12-31", "tomorrow", "2024-13-01", "20240101", "3000-01-01"]
)
_wrong_shapes = st.sampled_from([["x"], {"a": "b"}, b"raw", True, 1.5])
_foreign = st.sampled_from(["EUR", "GBP", "CHF"])
_non_positive_amounts = st.sampled_from(["0", "0.00", "-1.00", "-0"])
_problems = st.lists(st.text(max_size=20), min_size=1, max_size=3)


def _required_gone(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    required = v.REQUIRED[kind] | rules_of(ledger).required.get(kind, frozenset())
    name = draw(st.sampled_from(sorted(required)))
    if name == "lines":
        fields["lines"] = draw(_no_lines)
        return v.NO_LINES
    if name == "id" or draw(st.booleans()):  # a missing id falls back to the item's id
        fields[name] = draw(_blanks)
    else:
        fields.pop(name)
    return v.REQUIRED_FIELD_MISSING


def _currency_unknown(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields["currency"] = draw(_garbage_text.filter(lambda s: not is_currency(s.strip())))
    return v.UNKNOWN_CURRENCY


def _amount_not_decimal(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    bad = draw(_not_decimals)
    if kind in ("invoice", "credit_note") and draw(st.booleans()):
        line = fields["lines"][draw(st.integers(0, len(fields["lines"]) - 1))]
        line[draw(st.sampled_from(["quantity", "unit_price", "tax_amount"]))] = bad
    else:
        fields["amount" if kind == "payment" else "total"] = bad
    return v.NOT_A_DECIMAL


def _quantity_not_positive(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    line = fields["lines"][draw(st.integers(0, len(fields["lines"]) - 1))]
    line["quantity"] = draw(_non_positive_quantities)
    return v.NON_POSITIVE_QUANTITY


def _total_off(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    unit = Decimal(1).scaleb(-minor_unit(str(fields["currency"])))
    fields["total"] = str(Decimal(str(fields["total"])) + unit * draw(st.integers(1, 10**6)))
    return v.TOTALS_MISMATCH


def _name_bad_char(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    char = draw(_bad_chars.filter(lambda c: c != ":" or ledger != "xero"))
    fields["name"] = "a" + str(fields["name"]) + char + "z"
    return v.FORBIDDEN_CHARACTER


def _name_too_long(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    limit = rules_of(ledger).limit("customer.name")
    fields["name"] = "n" * (limit + draw(st.integers(1, 50)))
    return v.TOO_LONG


def _date_invalid(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields["paid_on" if kind == "payment" else "issue_date"] = draw(_bad_dates)
    return v.INVALID_DATE


def _due_too_early(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    issue = max(date.fromisoformat(fields["issue_date"]), date(1900, 2, 1))
    fields["issue_date"] = issue.isoformat()
    fields["due_date"] = (issue - timedelta(days=draw(st.integers(1, 30)))).isoformat()
    return v.DUE_BEFORE_ISSUE


def _unknown_field(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    known = v.FIELDS[kind] | {v.MALFORMED_FIELD}
    fields[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in known))] = "x"
    return v.UNKNOWN_FIELD


def _foreign_without_rate(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields["currency"] = draw(_foreign)  # the home currency is USD in this test
    fields.pop("exchange_rate", None)
    return v.MISSING_EXCHANGE_RATE


def _line_type_unmappable(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    line = fields["lines"][draw(st.integers(0, len(fields["lines"]) - 1))]
    line["line_type"] = draw(_garbage_text.filter(lambda s: s.strip() not in v.LINE_TYPES))
    return v.UNSUPPORTED_LINE_TYPE


def _payment_not_positive(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields["amount"] = draw(_non_positive_amounts)
    return v.NON_POSITIVE_AMOUNT


def _email_invalid(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields["email"] = draw(_garbage_text.filter(lambda s: "@" not in s))
    return v.INVALID_EMAIL


def _flagged_malformed(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields[v.MALFORMED_FIELD] = draw(_problems)
    return v.MALFORMED_ROW


def _wrong_shape(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    text_fields = v.REQUIRED[kind] - {"lines", "total", "amount", "issue_date", "paid_on"}
    fields[draw(st.sampled_from(sorted(text_fields)))] = draw(_wrong_shapes)
    return v.WRONG_TYPE


def _amount_huge(draw: Draw, kind: str, ledger: str, fields: dict[str, Any]) -> str:
    fields["amount" if kind == "payment" else "total"] = "9" * draw(st.integers(13, 400))
    return v.AMOUNT_OUT_OF_RANGE


_ANY_KIND: list[Defect] = [
    _required_gone,
    _currency_unknown,
    _unknown_field,
    _flagged_malformed,
    _wrong_shape,
]
_DOCUMENT: list[Defect] = [
    *_ANY_KIND,
    _amount_not_decimal,
    _quantity_not_positive,
    _total_off,
    _date_invalid,
    _foreign_without_rate,
    _line_type_unmappable,
    _amount_huge,
]
DEFECTS: dict[str, st.SearchStrategy[Defect]] = {
    "customer": st.sampled_from([*_ANY_KIND, _name_bad_char, _name_too_long, _email_invalid]),
    "payment": st.sampled_from(
        [*_ANY_KIND, _amount_not_decimal, _date_invalid, _payment_not_positive, _amount_huge]
    ),
    "invoice": st.sampled_from([*_DOCUMENT, _due_too_early]),
    "credit_note": st.sampled_from(_DOCUMENT),
}


@settings(FAST, max_examples=4000)
@given(st.data(), st.sampled_from(KINDS), st.sampled_from(LEDGERS))
def test_a_record_with_one_defect_is_rejected_for_it(
    data: st.DataObject, kind: str, ledger: str
) -> None:
    fields = _draw_valid(data.draw, kind, "USD")
    defect = data.draw(DEFECTS[kind])
    expected = defect(data.draw, kind, ledger, fields)
    result = validate(
        SourceItem("csv", kind, "X1", "v1", fields), rules_of(ledger), home_currency="USD"
    )
    assert isinstance(result, Rejected), (defect.__name__, fields)
    _assert_well_formed(result, kind)
    assert expected in [r.code for r in result.reasons], (defect.__name__, result.reasons)
