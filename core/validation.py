"""Validation of source records before they reach a ledger (DESIGN §8).

``validate(item, ledger)`` turns one raw :class:`~syncledger.core.ports.SourceItem` into either
:class:`Validated` (the typed canonical record) or :class:`Rejected` (every rule it broke,
as :class:`~syncledger.core.events.RejectionReason` with a stable reason code, the field, and a
message that says what to fix). It never raises on bad input: bad input is data.

Each rule is a small named function returning a list of reasons (empty: passed):

===========================  =====================================================
reason code                  rule
===========================  =====================================================
``required_field_missing``   :func:`check_required` (per kind, plus per ledger)
``unknown_field``            :func:`check_unknown_fields`
``malformed_row``            :func:`check_source_problems` (the source said so)
``wrong_type``               :func:`as_text` (a list where text was expected, ...)
``forbidden_character``      :func:`check_characters` (per ledger)
``too_long``                 :func:`check_length`, :func:`check_address` (per ledger)
``invalid_id``               :func:`check_id`
``unknown_currency``         :func:`check_currency`
``not_a_decimal``            :func:`parse_decimal` (floats, NaN, inf, exponents, garbage)
``too_many_decimals``        :func:`check_decimal_places`
``amount_out_of_range``      :func:`check_magnitude`, :func:`check_line_net`,
                             :func:`check_digit_count`
``negative_amount``          :func:`check_not_negative`
``non_positive_quantity``    :func:`check_positive_quantity`
``non_positive_amount``      :func:`check_positive_amount` (payments)
``unsupported_line_type``    :func:`check_choice` on ``line_type`` (per ledger)
``invalid_status``           :func:`check_choice` on ``status``
``invalid_flag``             :func:`check_choice` on a true/false field (``send``)
``merged_invoice``           ``status = merged`` on an invoice
``partially_applied_invoice``  partly paid/credited per the source (status, ``amount_paid``)
``refund_credit_missing``    a refund must name one payment or one credit note
``refund_exceeds_credit``    detected by the sync worker against the ledger's figures
``dispute_on_paid_invoice``  detected by the sync worker (nothing left to credit)
``dispute_already_credited``  detected by the sync worker (a credited dispute is final)
``no_lines``                 :func:`check_line_count`
``too_many_lines``           :func:`check_line_count`
``totals_mismatch``          :func:`check_totals` (via ``Invoice.computed_total()``)
``missing_exchange_rate``    :func:`check_exchange_rate`
``invalid_exchange_rate``    :func:`check_exchange_rate`, :func:`check_positive_rate`
``invalid_date``             :func:`parse_date`
``due_before_issue``         :func:`check_due_date`
``invalid_email``            :func:`check_email`
``invalid_phone``            :func:`check_phone`
``unsupported_kind``         :func:`validate` (not a kind in ``syncledger.core.model.RECORD_KINDS``)
``invalid_record``           last line of defence; never expected
``customer_not_found``       detected by the sync worker; the code and help live here
``unmatched_item``           :mod:`syncledger.core.mapping` item policy ``unmatched = "review"``
``ledger_item_missing``      detected by the sync worker: a line names no item of the ledger
``invalid_split``            :mod:`syncledger.core.mapping` ``split_total``: unusable ``parts``
===========================  =====================================================

Per-ledger limits live in :data:`LEDGER_RULES`; a ledger id not in the table gets the
conservative :data:`DEFAULT_RULES`.

:func:`storable_number_reasons` applies the numeric rules that hold for every ledger
before a record may enter the log at all (``syncledger.core.ingest``): a value no ledger can hold
is refused there, so it never reaches the read models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import phonenumbers
import stdnum
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, ValidationResult
from pydantic import ValidationError as PydanticValidationError
from stdnum.us import ein

from syncledger.core.events import RejectionReason
from syncledger.core.model import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    Record,
    Refund,
)
from syncledger.core.money import is_currency, minor_unit
from syncledger.core.pii_text import MALFORMED_KEY, echoable, strip_reasons
from syncledger.core.reason_codes import help_for
from syncledger.core.words import money

if TYPE_CHECKING:
    from syncledger.core.ports import SourceItem

# --------------------------------------------------------------------------- reason codes

REQUIRED_FIELD_MISSING: Final = "required_field_missing"
UNKNOWN_FIELD: Final = "unknown_field"
MALFORMED_ROW: Final = "malformed_row"
WRONG_TYPE: Final = "wrong_type"
FORBIDDEN_CHARACTER: Final = "forbidden_character"
TOO_LONG: Final = "too_long"
INVALID_ID: Final = "invalid_id"
UNKNOWN_CURRENCY: Final = "unknown_currency"
NOT_A_DECIMAL: Final = "not_a_decimal"
TOO_MANY_DECIMALS: Final = "too_many_decimals"
AMOUNT_OUT_OF_RANGE: Final = "amount_out_of_range"
NEGATIVE_AMOUNT: Final = "negative_amount"
NON_POSITIVE_QUANTITY: Final = "non_positive_quantity"
NON_POSITIVE_AMOUNT: Final = "non_positive_amount"
UNSUPPORTED_LINE_TYPE: Final = "unsupported_line_type"
INVALID_STATUS: Final = "invalid_status"
INVALID_FLAG: Final = "invalid_flag"
MERGED_INVOICE: Final = "merged_invoice"
PARTIALLY_APPLIED_INVOICE: Final = "partially_applied_invoice"
REFUND_CREDIT_MISSING: Final = "refund_credit_missing"
REFUND_EXCEEDS_CREDIT: Final = "refund_exceeds_credit"
DISPUTE_ON_PAID_INVOICE: Final = "dispute_on_paid_invoice"
DISPUTE_ALREADY_CREDITED: Final = "dispute_already_credited"
NO_LINES: Final = "no_lines"
TOO_MANY_LINES: Final = "too_many_lines"
TOTALS_MISMATCH: Final = "totals_mismatch"
MISSING_EXCHANGE_RATE: Final = "missing_exchange_rate"
INVALID_EXCHANGE_RATE: Final = "invalid_exchange_rate"
INVALID_DATE: Final = "invalid_date"
DUE_BEFORE_ISSUE: Final = "due_before_issue"
INVALID_EMAIL: Final = "invalid_email"
INVALID_PHONE: Final = "invalid_phone"
INVALID_TAX_ID: Final = "invalid_tax_id"
UNSUPPORTED_KIND: Final = "unsupported_kind"
INVALID_RECORD: Final = "invalid_record"
CUSTOMER_NOT_FOUND: Final = "customer_not_found"
UNMATCHED_ITEM: Final = "unmatched_item"
LEDGER_ITEM_MISSING: Final = "ledger_item_missing"
INVALID_SPLIT: Final = "invalid_split"
TRANSFER_NOT_ALLOWED: Final = "transfer_not_allowed"

_HELP: Final[Mapping[str, str]] = {
    REQUIRED_FIELD_MISSING: "Fill in the field named in the message. docs/csv.md lists the "
    "required columns of each file; some ledgers require more (Xero needs a due date).",
    UNKNOWN_FIELD: "Rename the field to its canonical name (docs/csv.md) or remove it: "
    "unknown fields are refused so that a typo never silently drops data.",
    MALFORMED_ROW: "The source could not read this record cleanly (wrong number of cells, "
    "text not in UTF-8, conflicting repeated values). Fix the row at the line named.",
    WRONG_TYPE: "The value has the wrong shape (e.g. a list where text was expected); "
    "the source adapter must deliver text for this field.",
    FORBIDDEN_CHARACTER: "Remove or replace the character named in the message: the target "
    "ledger refuses it in that field (':' in QuickBooks names, tabs, line breaks, control "
    "characters, U+FFFD from a file saved in another encoding).",
    TOO_LONG: "Shorten the value to the ledger's maximum length given in the message.",
    INVALID_ID: "Ids must be 1-200 characters without '/' or whitespace: change the id in "
    "the source.",
    UNKNOWN_CURRENCY: "Use an active ISO 4217 currency code in capitals, e.g. USD, EUR, GBP.",
    NOT_A_DECIMAL: "Write amounts as plain decimal numbers with a '.' decimal point, e.g. "
    "1234.50: no thousands separators, currency symbols, exponents, NaN or infinity, and "
    "never a binary float.",
    TOO_MANY_DECIMALS: "Round money to the currency's minor unit (2 places for USD, 0 for "
    "JPY); quantities, unit prices and exchange rates take at most 6 decimal places.",
    AMOUNT_OUT_OF_RANGE: "The amount has 13 or more digits before the decimal point (or a "
    "line's quantity x unit price does), or more than 30 digits in all: check it for a "
    "typo.",
    NEGATIVE_AMOUNT: "Amounts, prices, tax and discounts must not be negative: record "
    "refunds and returns as a credit note.",
    NON_POSITIVE_QUANTITY: "Line quantities must be greater than zero: remove empty lines "
    "and record returns as a credit note.",
    NON_POSITIVE_AMOUNT: "A payment or refund must be greater than zero; money paid back "
    "is a refund record, not a negative payment.",
    UNSUPPORTED_LINE_TYPE: "Use a line_type the ledger can map: item, service or fee. "
    "Turn custom fee types into one of these (e.g. a 'fee' line with a description).",
    INVALID_FLAG: "Write true or false (yes/no and 1/0 are read too), or leave it empty for false.",
    INVALID_STATUS: "Use an invoice status of open, void or disputed (a disputed invoice is "
    "credited in full by a credit note; it is never edited or deleted).",
    PARTIALLY_APPLIED_INVOICE: "The source says part of this invoice is already applied "
    "(paid or credited). The ledger owns payment status, so syncledger never books "
    "applications from an invoice's own fields: export each payment as a payment record "
    "and each credit as a credit note applied to the invoice, set the invoice's status to "
    "open and drop amount_paid, then import again.",
    REFUND_CREDIT_MISSING: "A refund pays back a credit the customer holds: give exactly one "
    "of payment_id (the overpaid payment) or credit_note_id (the credit note) it draws on.",
    REFUND_EXCEEDS_CREDIT: "The refund is larger than the credit it draws on still holds in "
    "the ledger (part of it was applied or refunded already). Correct the amount, or split "
    "it across the credits the customer holds, then import again.",
    DISPUTE_ON_PAID_INVOICE: "A disputed invoice is settled by a credit note for what is "
    "still owed, but this one owes nothing in the ledger. Record what was agreed as a credit "
    "note (credit_notes.csv) and pay it back as a refund (refunds.csv).",
    DISPUTE_ALREADY_CREDITED: "The invoice was disputed and credited in full; syncledger "
    "never re-opens it. Bill what was agreed on a new invoice.",
    MERGED_INVOICE: "This invoice was merged into another in the source: the surviving "
    "invoice carries its lines and is the one synced. If this one already reached the ledger, "
    "delete it in the source (syncledger voids deleted invoices) or void it in the ledger.",
    NO_LINES: "Add at least one line to the document.",
    TOO_MANY_LINES: "Split the document: it has more lines than syncledger pushes in one.",
    TOTALS_MISMATCH: "The stated total must equal the sum over the lines of quantity x "
    "unit_price + tax_amount, minus the discount, rounded to the currency's minor unit. "
    "Correct the total or the lines.",
    MISSING_EXCHANGE_RATE: "The document is not in the ledger's home currency: give an "
    "explicit exchange_rate (home currency per 1 unit of the document currency). syncledger "
    "never assumes a rate of 1.",
    INVALID_EXCHANGE_RATE: "The exchange rate must be greater than zero, and empty or 1 on "
    "documents in the home currency.",
    INVALID_DATE: "Write dates as YYYY-MM-DD (ISO 8601) between 1900 and 2999, e.g. 2024-03-31.",
    DUE_BEFORE_ISSUE: "The due date cannot be before the issue date: fix one of them.",
    INVALID_EMAIL: "Give one email address such as name@example.com: no spaces, one '@', "
    "a domain with a dot that is not a reserved name (.test, .local, localhost).",
    INVALID_TAX_ID: "Correct the tax id: a VAT number starts with its country code (DE136695976, "
    "GB980780684) and must pass that country's check digits; a US EIN is 9 digits (12-3456789).",
    INVALID_PHONE: "Write the phone number with + and its country code and as many digits "
    "as that country's numbers have (+44 20 7946 0958), or without a country code as 7-15 "
    "digits; spaces, dashes, dots, parentheses and an extension are fine, e.g. "
    "+1 555 010 2030 x12.",
    UNSUPPORTED_KIND: "Only customer, invoice, payment, credit_note and refund records are synced.",
    INVALID_RECORD: "The record could not be checked or built although it should have "
    "been: report this as a bug with the record's reference.",
    CUSTOMER_NOT_FOUND: "The document refers to a customer id the source does not hold: "
    "add the customer to the source (customers.csv) or correct customer_id, then import "
    "again.",
    UNMATCHED_ITEM: "The line's item code is not listed in [items.map] of the ledger's mapping "
    'file (adapters/<platform>/mapping.toml), whose item policy is unmatched = "review". Add '
    'the code there with the ledger item it stands for, or set unmatched = "create" to push '
    "unlisted codes unchanged; then run syncledger retry on the record (docs/mappings.md).",
    LEDGER_ITEM_MISSING: "A line is booked to an item the ledger does not have. When "
    "[items.map] of the ledger's mapping file (adapters/<platform>/mapping.toml) sends the "
    "source code to that item, correct the entry or create the item in the ledger; an "
    'unlisted code is only created in the ledger when the policy is unmatched = "create". '
    "Then run syncledger retry on the record (docs/mappings.md).",
    TRANSFER_NOT_ALLOWED: "The entity's transfer rules ([transfer] in syncledger.toml) do not "
    "allow personal data to go to this ledger's region ([data_regions]): `syncledger audit "
    "data-map` shows the flows and the rule. Sync to a ledger in an allowed region, or have "
    "the transfer approved and add the region to allowed_regions; the customer and its "
    "documents are pushed then (`syncledger retry REF`).",
    INVALID_SPLIT: "The deal's parts cannot split its amount: give a list of {name, share} "
    "entries whose shares are plain decimal numbers of at least 0 (at most 12 digits before "
    "and 6 after the point), at least one of them above 0 (docs/mappings.md, split_total).",
}

REASON_CODES: Final[frozenset[str]] = frozenset(_HELP)


def reason_help(code: str) -> str:
    """What a user should do about a rejection with reason ``code``: a rule's (above),
    or the sync's and the ledger adapters' (``core/reason_codes.py``)."""
    found = _HELP.get(code) or help_for(code)
    if found is not None:
        return found
    return (
        f"{code!r} is the ledger's own code, without help of ours: the message above is the "
        "ledger's; correct what it names in the source record (or in the ledger), import "
        "again, then `syncledger retry REF` (docs/reason-codes.md lists the codes we know)"
    )


def rule_help() -> Mapping[str, str]:
    """Every validation rule's reason code with its help (``docs/reason-codes.md``)."""
    return _HELP


# --------------------------------------------------------------------------- results

CanonicalRecord = Customer | Invoice | Payment | CreditNote | Refund


@dataclass(frozen=True, slots=True)
class Validated:
    """The record passed every rule; ``record`` is the typed canonical record."""

    record: CanonicalRecord


@dataclass(frozen=True, slots=True)
class Rejected:
    """The record broke at least one rule; every failing rule is listed."""

    reasons: tuple[RejectionReason, ...]


def _fail(code: str, message: str, field_path: str | None = None) -> list[RejectionReason]:
    return [RejectionReason(code=code, message=message, field=field_path)]


# --------------------------------------------------------------------------- ledger rules

#: Limit keys and their conservative defaults (used where a ledger documents nothing).
DEFAULT_LIMITS: Final[Mapping[str, int]] = {
    "customer.name": 100,
    "customer.contact_name": 100,
    "customer.email": 100,
    "customer.phone": 21,
    "customer.tax_id": 30,
    "customer.address_line": 255,  # longest line of billing_address
    "customer.address_lines": 4,  # number of lines of billing_address
    "document.number": 21,
    "line.description": 4000,
    "line.item_code": 30,
    "payment.reference": 21,
    "payment.method": 31,
}
LINE_TYPES: Final = frozenset({"item", "service", "fee"})
INVOICE_STATUSES: Final = frozenset({"open", "void", "disputed"})
FLAG_TRUE: Final = frozenset({"true", "yes", "1"})
FLAG_TEXT: Final = FLAG_TRUE | frozenset({"false", "no", "0"})
#: source statuses saying an invoice is partly paid or credited in the source itself
PARTIAL_STATUSES: Final = frozenset({"partially_paid", "partially_applied", "partial"})
#: fields some sources use for what they already applied to an invoice
APPLIED_FIELDS: Final = ("amount_paid", "amount_applied")
MAX_LINES: Final = 1000
MAX_INTEGER_DIGITS: Final = 12
PRICE_PLACES: Final = 6  # quantity, unit price, exchange rate (Xero CurrencyRate [18].[6])
#: Digits a number may be written with, leading zeros aside (trailing zeros count).
MAX_WRITTEN_DIGITS: Final = 30


@dataclass(frozen=True, slots=True)
class LedgerRules:
    """What one ledger accepts.

    ``sources`` says where each non-default value comes from; a limit key missing from
    ``max_length`` is the conservative default of :data:`DEFAULT_LIMITS`."""

    ledger: str
    max_length: Mapping[str, int] = field(default_factory=dict)
    forbidden: Mapping[str, str] = field(default_factory=dict)  # limit key -> characters
    required: Mapping[str, frozenset[str]] = field(default_factory=dict)  # kind -> extra
    line_types: frozenset[str] = LINE_TYPES
    sources: Mapping[str, str] = field(default_factory=dict)
    #: set by the composition root when the entity's transfer rules forbid personal data
    #: going to this ledger's region (``core/data_map.py``): customers carrying personal
    #: data are refused ``transfer_not_allowed`` with this text
    transfer_refusal: str | None = None

    def limit(self, key: str) -> int:
        return self.max_length.get(key, DEFAULT_LIMITS[key])

    def forbidden_in(self, key: str | None) -> str:
        return self.forbidden.get(key, "") if key else ""


#: ``':'`` refused in customer names, the rule most ledgers share (QuickBooks reserves it
#: for sub-customers); a platform's rules (``adapters/<platform>/rules.py``) say otherwise.
NO_COLON: Final[Mapping[str, str]] = MappingProxyType({"customer.name": ":"})

#: Used for ledger ids without rules of their own: every limit a default, ':' refused in names.
DEFAULT_RULES: Final = LedgerRules(ledger="default", forbidden=NO_COLON)


def default_rules(ledger: str) -> LedgerRules:
    """The conservative defaults, named for ``ledger`` (a ledger without rules of its own)."""
    return replace(DEFAULT_RULES, ledger=str(ledger))


# --------------------------------------------------------------------------- named rules

_ID = re.compile(r"^[^/\s]{1,200}$")
_DECIMAL = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+$")
_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_PHONE = re.compile(r"^\+?[0-9 ().\-/]+(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$", re.IGNORECASE)
_PHONE_EXT = re.compile(r"\s*(?:x|ext\.?)\s*[0-9]", re.IGNORECASE)
_MULTILINE_OK = frozenset("\t\n\r")
_CHAR_NAMES = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return"}


def _show(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_name(key: object) -> str:
    return key[:40] if isinstance(key, str) else _show(key)


def check_required(field_path: str, value: object) -> list[RejectionReason]:
    """``value`` is present: not None, not blank text, not an empty collection."""
    blank = value is None or (isinstance(value, str) and not value.strip())
    if not blank and not (isinstance(value, list | tuple | dict) and not value):
        return []
    return _fail(REQUIRED_FIELD_MISSING, f"{field_path} is required: fill it in", field_path)


def check_unknown_fields(
    raw: Mapping[Any, Any], allowed: Iterable[str], prefix: str = ""
) -> list[RejectionReason]:
    """Every key of ``raw`` is a canonical field name."""
    known = set(allowed)
    unknown = sorted(_key_name(k) for k in raw if k not in known)
    names = ", ".join(sorted(k for k in known if not k.startswith("_")))
    message = "{} is not a field of this record: rename it to one of {}, or remove it"
    return [
        RejectionReason(
            code=UNKNOWN_FIELD, message=message.format(prefix + k, names), field=prefix + k
        )
        for k in unknown[:10]
    ]


def check_source_problems(problems: object) -> list[RejectionReason]:
    """The source adapter flagged the record as malformed (see :data:`MALFORMED_FIELD`)."""
    if problems is None or problems == []:
        return []
    if not isinstance(problems, list | tuple) or not all(isinstance(p, str) for p in problems):
        problems = [f"unreadable problem report {_show(problems)}"]
    prefix = "the source could not read this record cleanly: "
    return [RejectionReason(code=MALFORMED_ROW, message=prefix + p) for p in problems[:20]]


def as_text(field_path: str, value: object) -> tuple[str | None, list[RejectionReason]]:
    """Text out of a raw value: stripped; blank -> None; ints/Decimals as their digits."""
    if value is None:
        return None, []
    if isinstance(value, str):
        return value.strip() or None, []
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), []
    if isinstance(value, Decimal) and value.is_finite():
        return str(value), []
    kind = type(value).__name__
    return None, _fail(WRONG_TYPE, f"{field_path} holds a {kind}; expected text", field_path)


def _describe_char(char: str) -> str:
    code = ord(char)
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    if char == "\ufffd":
        return "U+FFFD (was the file saved as UTF-8?)"
    if 0xD800 <= code <= 0xDFFF or code < 0x20 or code == 0x7F:
        return f"the invalid character U+{code:04X}"
    return repr(char)


def _bad_char(char: str, forbidden: str, multiline: bool) -> bool:
    code = ord(char)
    if char in forbidden or char == "\ufffd" or 0xD800 <= code <= 0xDFFF:
        return True
    if code < 0x20 or code == 0x7F:
        return not (multiline and char in _MULTILINE_OK)
    return False


def check_characters(
    field_path: str,
    text: str,
    *,
    forbidden: str = "",
    multiline: bool = False,
    ledger: str = "the ledger",
) -> list[RejectionReason]:
    """No control characters (tabs and line breaks only in multi-line fields), no unpaired
    surrogates or U+FFFD, and none of the ledger's ``forbidden`` characters."""
    bad = list(dict.fromkeys(c for c in text if _bad_char(c, forbidden, multiline)))
    if not bad:
        return []
    shown = ", ".join(_describe_char(c) for c in bad[:5])
    return _fail(
        FORBIDDEN_CHARACTER,
        f"{field_path} contains {shown}, which {ledger} does not accept here: remove it",
        field_path,
    )


def check_length(field_path: str, text: str, limit: int, ledger: str) -> list[RejectionReason]:
    """At most ``limit`` characters."""
    if len(text) <= limit:
        return []
    return _fail(
        TOO_LONG,
        f"{field_path} is {len(text)} characters; {ledger} accepts at most {limit}: shorten it",
        field_path,
    )


def check_address(field_path: str, text: str, rules: LedgerRules) -> list[RejectionReason]:
    """A multi-line address: number of lines, and the length of its longest line."""
    lines = text.splitlines()
    most = rules.limit("customer.address_lines")
    longest = max(lines, key=len, default="")
    found = check_length(
        f"{field_path} (a line of it)",
        longest,
        rules.limit("customer.address_line"),
        rules.ledger,
    )
    if len(lines) <= most:
        return found
    message = f"{field_path} has {len(lines)} lines; {rules.ledger} accepts at most {most}"
    return _fail(TOO_LONG, message + ": merge some lines", field_path) + found


def check_id(field_path: str, text: str) -> list[RejectionReason]:
    """Usable in a record reference: 1-200 characters, no '/' and no whitespace."""
    if _ID.match(text):
        return []
    return _fail(
        INVALID_ID,
        f"{field_path} {_show(text)} cannot be an id: use 1-200 characters without '/' or spaces",
        field_path,
    )


def check_currency(field_path: str, text: str) -> list[RejectionReason]:
    """An active ISO 4217 code in capitals."""
    if is_currency(text):
        return []
    hint = f" (write it in capitals: {text.upper()})" if is_currency(text.upper()) else ""
    return _fail(
        UNKNOWN_CURRENCY,
        f"{field_path} {_show(text)} is not an ISO 4217 currency code{hint}: use a code "
        "such as USD, EUR or GBP",
        field_path,
    )


def _not_decimal(field_path: str, value: object, why: str) -> list[RejectionReason]:
    message = f"{field_path} {_show(value)} {why}: write a plain decimal such as 1234.50"
    return _fail(NOT_A_DECIMAL, message, field_path)


def parse_decimal(field_path: str, value: object) -> tuple[Decimal | None, list[RejectionReason]]:
    """A finite Decimal from text, an int or a Decimal; never from a float."""
    if isinstance(value, float):
        return None, _not_decimal(field_path, value, "is a binary float, inexact for money")
    if isinstance(value, Decimal):
        if value.is_finite():
            return value, []
        return None, _not_decimal(field_path, value, "is not finite")
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value), []
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        return Decimal(value.strip()), []
    why = _why_not_decimal(value.strip()) if isinstance(value, str) else "is not a number"
    return None, _not_decimal(field_path, value, why)


def _why_not_decimal(text: str) -> str:
    if _EXPONENT.match(text):
        return "is in exponent notation"
    if text.lstrip("+-").casefold() in _NOT_FINITE:
        return "is not a finite number"
    if any(c.isdigit() and not "0" <= c <= "9" for c in text):
        return "has digits other than 0-9"
    return "is not a decimal number"


def decimal_places(amount: Decimal) -> int:
    """Significant decimal places: 1.50 -> 1, 100 -> 0, 0.005 -> 3."""
    _sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def check_decimal_places(
    field_path: str, amount: Decimal, places: int, unit: str = "this field"
) -> list[RejectionReason]:
    """At most ``places`` significant decimals (the currency's minor unit, or 6)."""
    found = decimal_places(amount)
    if found <= places:
        return []
    return _fail(
        TOO_MANY_DECIMALS,
        f"{field_path} {_show(str(amount))} has {found} decimal places; {unit} allows "
        f"{places}: round it",
        field_path,
    )


def check_magnitude(field_path: str, amount: Decimal) -> list[RejectionReason]:
    """At most :data:`MAX_INTEGER_DIGITS` digits before the decimal point."""
    if amount.is_zero() or amount.adjusted() < MAX_INTEGER_DIGITS:
        return []
    return _fail(
        AMOUNT_OUT_OF_RANGE,
        f"{field_path} {_show(str(amount))} has more than {MAX_INTEGER_DIGITS} digits "
        "before the decimal point: check it",
        field_path,
    )


def check_not_negative(field_path: str, amount: Decimal) -> list[RejectionReason]:
    if amount >= 0:
        return []
    message = f"{field_path} {amount} is negative: returns and refunds are credit notes"
    return _fail(NEGATIVE_AMOUNT, message, field_path)


def check_positive_quantity(field_path: str, quantity: Decimal) -> list[RejectionReason]:
    if quantity > 0:
        return []
    message = f"{field_path} {quantity} must be greater than zero: remove the line or enter "
    return _fail(NON_POSITIVE_QUANTITY, message + "the quantity sold", field_path)


def check_positive_amount(field_path: str, amount: Decimal) -> list[RejectionReason]:
    if amount > 0:
        return []
    message = f"{field_path} {amount} must be greater than zero"
    return _fail(NON_POSITIVE_AMOUNT, message, field_path)


def check_positive_rate(field_path: str, rate: Decimal) -> list[RejectionReason]:
    if rate > 0:
        return []
    message = f"{field_path} {rate} must be greater than zero"
    return _fail(INVALID_EXCHANGE_RATE, message, field_path)


def check_choice(
    field_path: str, text: str, allowed: Iterable[str], code: str, ledger: str
) -> list[RejectionReason]:
    """``text`` is one of ``allowed`` (line types a ledger can map, invoice statuses)."""
    options = sorted(allowed)
    if text in options:
        return []
    message = f"{field_path} {_show(text)} cannot be synced to {ledger}: use one of "
    return _fail(code, message + ", ".join(options), field_path)


def parse_date(field_path: str, value: object) -> tuple[date | None, list[RejectionReason]]:
    """An ISO date ``YYYY-MM-DD`` (or a ``date``) between 1900 and 2999."""
    parsed: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _DATE.match(value.strip()):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is not None and 1900 <= parsed.year <= 2999:
        return parsed, []
    message = f"{field_path} {_show(value)} is not a date between 1900 and 2999: write "
    return None, _fail(INVALID_DATE, message + "YYYY-MM-DD, e.g. 2024-03-31", field_path)


def check_due_date(issue: date | None, due: date | None) -> list[RejectionReason]:
    if issue is None or due is None or due >= issue:
        return []
    message = f"due_date {due} is before issue_date {issue}: fix one of them"
    return _fail(DUE_BEFORE_ISSUE, message, "due_date")


def email_problem(text: str) -> str | None:
    """Why ``text`` is not a single email address (None: it is one): its syntax as
    email-validator reads it (RFC 5322/6531: internationalized addresses pass, a display
    name, a quoted local part, an IP literal or a special-use domain such as ``.test`` do
    not). The domain is never looked up: validation makes no DNS queries."""
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return _clause(str(exc))
    return None


def _clause(sentence: str) -> str:
    """A library's sentence as the tail of ours: lower-case start, no full stop."""
    return (sentence[:1].lower() + sentence[1:]).rstrip(".")


def check_email(field_path: str, text: str) -> list[RejectionReason]:
    if email_problem(text) is None:  # its words may quote the address: never shown
        return []
    message = f"{field_path}: the e-mail address is not an address (check its @ and domain)"
    return _fail(INVALID_EMAIL, message, field_path)


_EIN = re.compile(r"^\d{2}-?\d{7}$")
_VAT_PREFIX = re.compile(r"^[A-Za-z]{2}[0-9A-Za-z+*.\- ]{2,}$")


def tax_id_problem(text: str) -> str | None:
    """Check digits of the tax ids we can recognise (python-stdnum): VAT numbers with their
    country prefix, US EINs. Other formats pass: their country cannot be told apart."""
    compact = text.strip()
    if _EIN.match(compact):
        return None if ein.is_valid(compact) else "not a valid US EIN (check the 9 digits)"
    if _VAT_PREFIX.match(compact):
        module = stdnum.get_cc_module(compact[:2].lower(), "vat")
        if module is not None and not module.is_valid(compact):
            return f"not a valid {compact[:2].upper()} VAT number (check digits or length)"
    return None


def check_tax_id(field_path: str, text: str) -> list[RejectionReason]:
    problem = tax_id_problem(text)
    if problem is None:
        return []
    return _fail(INVALID_TAX_ID, f"{field_path} is {problem}", field_path)


_PHONE_SHAPE = "use 7-15 digits with optional +, spaces, dashes or parentheses"
_NO_COUNTRY = "the digits after + start with no country's calling code"
_BAD_LENGTH = {
    ValidationResult.TOO_SHORT: "too few digits for a number with country code +{cc}",
    ValidationResult.TOO_LONG: "too many digits for a number with country code +{cc}",
    ValidationResult.INVALID_COUNTRY_CODE: _NO_COUNTRY,
}


def phone_problem(text: str) -> str | None:
    """Why ``text`` is not a phone number (None: it is one).

    Its characters: digits with an optional leading +, spaces, dashes, dots, slashes,
    parentheses and an optional extension (``x12``, ``ext. 12``). A number with its
    country code (``+44 20 7946 0958``) must then have a length that country's numbering
    plan allows (phonenumbers' *possible* number: the length is checked, not whether the
    number is assigned). A number without one cannot be read against a plan — a
    customer record names no country — so it keeps the plain rule of 7-15 digits."""
    main = _PHONE_EXT.split(text, maxsplit=1)[0]
    digits = sum(c in "0123456789" for c in main)
    if not _PHONE.match(text) or not 7 <= digits <= 15:
        return _PHONE_SHAPE
    return _plan_problem(text) if text.lstrip().startswith("+") else None


def _plan_problem(text: str) -> str | None:
    """What the numbering plan of the number's country says against it (None: nothing)."""
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        invalid_code = exc.error_type == NumberParseException.INVALID_COUNTRY_CODE
        return _NO_COUNTRY if invalid_code else _PHONE_SHAPE
    if phonenumbers.is_possible_number(number):
        return None
    reason = phonenumbers.is_possible_number_with_reason(number)
    how = _BAD_LENGTH.get(reason, "no number with country code +{cc} has that many digits")
    return how.format(cc=number.country_code)


def check_phone(field_path: str, text: str) -> list[RejectionReason]:
    """See :func:`phone_problem`."""
    problem = phone_problem(text)
    if problem is None:
        return []
    message = f"{field_path} is not a phone number: {problem}"
    return _fail(INVALID_PHONE, message, field_path)


def check_exchange_rate(
    currency: str | None, rate: Decimal | None, home_currency: str
) -> list[RejectionReason]:
    """A foreign-currency document carries an explicit rate; a home-currency one carries
    none or exactly 1. A rate of 1 is never assumed."""
    if currency is None:
        return []
    if currency != home_currency and rate is None:
        return _fail(
            MISSING_EXCHANGE_RATE,
            f"the document is in {currency} but the ledger's home currency is "
            f"{home_currency}: give an explicit exchange_rate ({home_currency} per 1 "
            f"{currency}); syncledger never assumes 1",
            "exchange_rate",
        )
    if currency == home_currency and rate is not None and rate != 1:
        message = f"the document is in the home currency {home_currency}, so exchange_rate "
        return _fail(
            INVALID_EXCHANGE_RATE, message + f"must be empty or 1, not {rate}", "exchange_rate"
        )
    return []


def check_line_count(count: int) -> list[RejectionReason]:
    if count == 0:
        return _fail(NO_LINES, "the document has no lines: add at least one", "lines")
    if count <= MAX_LINES:
        return []
    message = f"the document has {count} lines; at most {MAX_LINES} go in one: split it"
    return _fail(TOO_MANY_LINES, message, "lines")


def check_line_net(
    field_path: str, quantity: Decimal, unit_price: Decimal
) -> list[RejectionReason]:
    """quantity x unit_price below 10^12, which keeps document totals exact in Decimal's
    default 28-digit context."""
    with localcontext() as ctx:
        ctx.prec = 60
        net = quantity * unit_price
    if net.is_zero() or net.adjusted() < MAX_INTEGER_DIGITS:
        return []
    message = f"{field_path}: quantity x unit_price = {_show(str(net))} has more than "
    return _fail(
        AMOUNT_OUT_OF_RANGE, message + f"{MAX_INTEGER_DIGITS} digits: check them", field_path
    )


def check_digit_count(field_path: str, amount: Decimal) -> list[RejectionReason]:
    """At most :data:`MAX_WRITTEN_DIGITS` digits as written (``1.000…0`` with a hundred
    zeros is 1, but no ledger field takes it as written)."""
    written = len(amount.as_tuple().digits)
    if written <= MAX_WRITTEN_DIGITS:
        return []
    message = f"{field_path} {_show(str(amount))} is written with {written} digits; write "
    return _fail(
        AMOUNT_OUT_OF_RANGE,
        message + f"at most {MAX_INTEGER_DIGITS} before the point and {PRICE_PLACES} after",
        field_path,
    )


# --------------------------------------------------------------------------- before the log

#: Amount and quantity fields, per kind: what :func:`storable_number_reasons` checks.
NUMBER_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "invoice": ("total", "discount", "exchange_rate", *APPLIED_FIELDS),
    "credit_note": ("total", "discount", "exchange_rate"),
    "payment": ("amount",),
    "refund": ("amount",),
}
LINE_NUMBER_FIELDS: Final = ("quantity", "unit_price", "tax_amount")


def check_storable_number(field_path: str, value: object) -> list[RejectionReason]:
    """A number some ledger can hold, or nothing (blank is for the later rules to judge).

    The bounds hold for every ledger, so a value outside them is refused before it
    reaches the log: a plain decimal (no exponent such as ``1e3``, no NaN or infinity,
    no binary float, ASCII digits only), at most :data:`MAX_INTEGER_DIGITS` digits before
    the point, :data:`PRICE_PLACES` significant decimals and :data:`MAX_WRITTEN_DIGITS`
    digits in all. Why these: Xero takes amounts as JSON doubles (``format: double`` in
    its OpenAPI spec), exact to 15 significant digits, so 12 integer digits leave room
    for the cents; its exchange rates are ``[18].[6]`` and unit amounts at most 4
    decimals (``unitdp=4``). No platform we push to documents a larger magnitude cap
    that we could find, so 12 digits (below one trillion) is a conservative choice, and
    it is the same bound the per-ledger rules (:func:`check_magnitude`) apply."""
    if _blank(value):
        return []
    amount, found = parse_decimal(field_path, value)
    if amount is None:
        return found
    return (
        check_magnitude(field_path, amount)
        or check_decimal_places(field_path, amount, PRICE_PLACES, "any amount or quantity")
        or check_digit_count(field_path, amount)
    )


def storable_number_reasons(kind: str, fields: Mapping[str, Any]) -> list[RejectionReason]:
    """Every amount and quantity of a record of ``kind`` that no ledger can hold; empty
    when the record may enter the log (fields of unknown kinds are left to validation)."""
    reasons = [
        reason
        for name in NUMBER_FIELDS.get(kind, ())
        for reason in check_storable_number(name, fields.get(name))
    ]
    lines = fields.get("lines") if kind in ("invoice", "credit_note") else None
    for index, line in enumerate(lines if isinstance(lines, list | tuple) else ()):
        if not isinstance(line, Mapping):
            continue
        for name in LINE_NUMBER_FIELDS:
            reasons.extend(check_storable_number(f"lines[{index}].{name}", line.get(name)))
    return reasons


def check_totals(document: Invoice | CreditNote) -> list[RejectionReason]:
    """The stated total equals ``computed_total()`` (lines + tax - discount, quantized)."""
    try:
        with localcontext() as ctx:
            ctx.prec = 60
            computed = document.computed_total()
    except ArithmeticError:
        return _fail(
            AMOUNT_OUT_OF_RANGE, "the total cannot be computed: amounts too large", "total"
        )
    if computed == document.total:
        return []
    cur = document.currency
    return _fail(
        TOTALS_MISMATCH,
        f"the stated total is {money(document.total, cur)} but lines + tax - discount = "
        f"{money(computed, cur)} (difference {money(document.total - computed, cur)}): "
        "correct the total or "
        "the lines",
        "total",
    )


# --------------------------------------------------------------------------- reading fields

#: Reserved key a source adapter sets to the list of problems it met reading a record.
MALFORMED_FIELD: Final = MALFORMED_KEY

REQUIRED: Final[Mapping[str, frozenset[str]]] = {
    "customer": frozenset({"id", "name", "currency"}),
    "invoice": frozenset(
        {"id", "number", "customer_id", "issue_date", "currency", "total", "lines"}
    ),
    "credit_note": frozenset(
        {"id", "number", "customer_id", "issue_date", "currency", "total", "lines"}
    ),
    "payment": frozenset({"id", "customer_id", "invoice_id", "amount", "currency", "paid_on"}),
    "refund": frozenset({"id", "customer_id", "amount", "currency", "refunded_on"}),
    "line": frozenset({"description", "quantity", "unit_price"}),
}
FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "customer": frozenset(Customer.model_fields),
    "invoice": frozenset(Invoice.model_fields) | frozenset(APPLIED_FIELDS),
    "credit_note": frozenset(CreditNote.model_fields),
    "payment": frozenset(Payment.model_fields),
    "refund": frozenset(Refund.model_fields),
    "line": frozenset(InvoiceLine.model_fields),
}

DecimalCheck = Callable[[str, Decimal], list[RejectionReason]]
TextCheck = Callable[[str, str], list[RejectionReason]]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass
class _Reader:
    """Reads typed values out of one raw mapping, collecting reasons instead of raising."""

    raw: Mapping[Any, Any]
    kind: str
    rules: LedgerRules
    prefix: str = ""
    reasons: list[RejectionReason] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    required: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.required = REQUIRED[self.kind] | self.rules.required.get(self.kind, frozenset())
        allowed = FIELDS[self.kind] | {MALFORMED_FIELD}
        self.add("", check_unknown_fields(self.raw, allowed, self.prefix))
        self.add("", check_source_problems(self.raw.get(MALFORMED_FIELD)))

    def path(self, name: str) -> str:
        return self.prefix + name

    def add(self, name: str, found: Sequence[RejectionReason]) -> bool:
        """Record ``found`` against field ``name``; True when there was nothing to record."""
        if found:
            self.reasons.extend(found)
            self.failed.add(name)
        return not found

    def present(self, name: str) -> str | None:
        """Stripped text of ``name``; None when absent (reported when required)."""
        text, found = as_text(self.path(name), self.raw.get(name))
        if not self.add(name, found):
            return None
        if text is None and name in self.required:
            self.add(name, check_required(self.path(name), None))
        return text

    def text(self, name: str, key: str | None = None, *, multiline: bool = False) -> str | None:
        value = self.present(name)
        if value is None:
            return None
        forbidden, ledger = self.rules.forbidden_in(key), self.rules.ledger
        path = self.path(name)
        self.add(
            name,
            check_characters(path, value, forbidden=forbidden, multiline=multiline, ledger=ledger),
        )
        if key is not None:
            self.add(name, check_length(path, value, self.rules.limit(key), ledger))
        return value

    def checked(self, name: str, key: str, check: TextCheck) -> str | None:
        value = self.text(name, key)
        if value is not None:
            self.add(name, check(self.path(name), value))
        return value

    def labels(self, name: str) -> tuple[str, ...] | None:
        """Labels as a list, or as text separated by ``;`` or ``,`` (a CSV cell, a CRM's
        multi-select); blanks dropped, each checked like any text."""
        raw = self.raw.get(name)
        if isinstance(raw, list):
            parts: list[object] = list(raw)
        else:
            value = self.present(name)
            if value is None:
                return None
            parts = list(re.split(r"[;,]", value))
        found: list[str] = []
        for part in parts:
            text = str(part).strip()
            if text:
                self.add(name, check_characters(self.path(name), text, ledger=self.rules.ledger))
                found.append(text)
        return tuple(dict.fromkeys(found))

    def ident(self, name: str) -> str | None:
        value = self.present(name)
        if value is not None:
            self.add(name, check_id(self.path(name), value))
        return value

    def currency(self, name: str = "currency") -> str | None:
        value = self.present(name)
        if value is None or not self.add(name, check_currency(self.path(name), value)):
            return None
        return value

    def choice(self, name: str, allowed: Iterable[str], code: str, default: str) -> str:
        value = self.present(name)
        if value is None:
            return default
        self.add(name, check_choice(self.path(name), value, allowed, code, self.rules.ledger))
        return value

    def flag(self, name: str) -> bool:
        """A true/false field; empty is false."""
        raw = self.raw.get(name)
        if isinstance(raw, bool):
            return raw
        value = self.present(name)
        if value is None:
            return False
        text = value.casefold()
        self.add(
            name, check_choice(self.path(name), text, FLAG_TEXT, INVALID_FLAG, self.rules.ledger)
        )
        return text in FLAG_TRUE

    def decimal(self, name: str, places: int, unit: str, *checks: DecimalCheck) -> Decimal | None:
        """A Decimal in range, with at most ``places`` decimals, passing ``checks``."""
        if _blank(self.raw.get(name)):
            self.present(name)  # reports it when required
            return None
        path = self.path(name)
        amount, found = parse_decimal(path, self.raw.get(name))
        if amount is None:
            self.add(name, found)
            return None
        found = (
            check_magnitude(path, amount)
            or check_digit_count(path, amount)
            or [
                *check_decimal_places(path, amount, places, unit),
                *(reason for check in checks for reason in check(path, amount)),
            ]
        )
        return amount if self.add(name, found) else None

    def date(self, name: str) -> date | None:
        if _blank(self.raw.get(name)):
            self.present(name)
            return None
        parsed, found = parse_date(self.path(name), self.raw.get(name))
        self.add(name, found)
        return parsed

    def finish(self, model: type[CanonicalRecord], values: dict[str, Any]) -> Validated | Rejected:
        if self.reasons:
            return Rejected(tuple(self.reasons))
        try:
            record = model(**{k: v for k, v in values.items() if v is not None})
        except PydanticValidationError as exc:
            message = f"the record could not be built: {exc.errors()[0]['msg']}"
            return Rejected(tuple(_fail(INVALID_RECORD, message)))
        return Validated(record)


# --------------------------------------------------------------------------- per kind


def _validate_customer(reader: _Reader) -> Validated | Rejected:
    values: dict[str, object] = {
        "id": reader.ident("id"),
        "name": reader.text("name", "customer.name"),
        "currency": reader.currency(),
        "contact_name": reader.text("contact_name", "customer.contact_name"),
        "email": reader.checked("email", "customer.email", check_email),
        "phone": reader.checked("phone", "customer.phone", check_phone),
        "tax_id": reader.checked("tax_id", "customer.tax_id", check_tax_id),
        "billing_address": reader.text("billing_address", multiline=True),
        "tags": reader.labels("tags"),
        "region": reader.text("region"),
    }
    address = values["billing_address"]
    if isinstance(address, str):
        path = reader.path("billing_address")
        reader.add("billing_address", check_address(path, address, reader.rules))
    return reader.finish(Customer, values)


def _money_unit(currency: str | None) -> tuple[int, str]:
    """Decimal places allowed for money in ``currency`` and how to name it."""
    if currency is None:
        return 2, "the currency"
    return minor_unit(currency), currency


def _read_line(
    parent: _Reader, index: int, raw: object, currency: str | None
) -> InvoiceLine | None:
    path = f"lines[{index}]"
    if not isinstance(raw, Mapping):
        kind = type(raw).__name__
        parent.add("lines", _fail(WRONG_TYPE, f"{path} is a {kind}; expected a line", path))
        return None
    line = _Reader(raw, "line", parent.rules, path + ".")
    places, unit = _money_unit(currency)
    quantity = line.decimal("quantity", PRICE_PLACES, "a quantity", check_positive_quantity)
    price = line.decimal("unit_price", PRICE_PLACES, "a unit price", check_not_negative)
    if quantity is not None and price is not None:
        line.add("quantity", check_line_net(path, quantity, price))
    values = {
        "description": line.text("description", "line.description", multiline=True),
        "quantity": quantity,
        "unit_price": price,
        "tax_amount": line.decimal("tax_amount", places, unit, check_not_negative),
        "item_code": line.text("item_code", "line.item_code"),
        "line_type": line.choice(
            "line_type", parent.rules.line_types, UNSUPPORTED_LINE_TYPE, "item"
        ),
    }
    return _adopt_line(parent, line, values)


def _adopt_line(parent: _Reader, line: _Reader, values: dict[str, Any]) -> InvoiceLine | None:
    if not parent.add("lines", line.reasons):
        return None
    try:
        return InvoiceLine(**{k: v for k, v in values.items() if v is not None})
    except PydanticValidationError as exc:
        message = f"{line.prefix}: the line could not be built: {exc.errors()[0]['msg']}"
        parent.add("lines", _fail(INVALID_RECORD, message))
        return None


def _read_lines(reader: _Reader, currency: str | None) -> tuple[InvoiceLine, ...] | None:
    raw = reader.raw.get("lines")
    if _blank(raw):
        reader.add("lines", check_line_count(0))
        return None
    if not isinstance(raw, list | tuple):
        kind = type(raw).__name__
        reader.add("lines", _fail(WRONG_TYPE, f"lines is a {kind}; expected a list", "lines"))
        return None
    if not reader.add("lines", check_line_count(len(raw))):
        return None
    lines = [_read_line(reader, i, line, currency) for i, line in enumerate(raw)]
    parsed = tuple(ln for ln in lines if ln is not None)
    return parsed if len(parsed) == len(lines) else None


def _read_document(reader: _Reader, home_currency: str) -> dict[str, Any]:
    currency = reader.currency()
    places, unit = _money_unit(currency)
    values: dict[str, Any] = {
        "id": reader.ident("id"),
        "number": reader.text("number", "document.number"),
        "customer_id": reader.ident("customer_id"),
        "issue_date": reader.date("issue_date"),
        "currency": currency,
        "exchange_rate": reader.decimal(
            "exchange_rate", PRICE_PLACES, "an exchange rate", check_positive_rate
        ),
        "discount": reader.decimal("discount", places, unit, check_not_negative),
        "total": reader.decimal("total", places, unit, check_not_negative),
        "lines": _read_lines(reader, currency),
    }
    if not reader.failed.intersection({"currency", "exchange_rate"}):
        found = check_exchange_rate(currency, values["exchange_rate"], home_currency)
        reader.add("exchange_rate", found)
    return values


def _check_document_totals(
    reader: _Reader, model: type[Invoice] | type[CreditNote], values: dict[str, Any]
) -> None:
    """The totals rule, when every amount it needs was read cleanly."""
    if reader.failed.intersection({"currency", "discount", "total", "lines"}):
        return
    if values["currency"] is None or values["total"] is None or values["lines"] is None:
        return
    draft: dict[str, Any] = {
        "lines": values["lines"],
        "discount": values["discount"] or Decimal(0),
        "total": values["total"],
        "currency": values["currency"],
    }
    reader.add("total", check_totals(model.model_construct(**draft)))


def _validate_invoice(reader: _Reader, home_currency: str) -> Validated | Rejected:
    values = _read_document(reader, home_currency)
    values["due_date"] = reader.date("due_date")
    if str(reader.raw.get("status", "")).strip().casefold() == "merged":
        reader.add(
            "status",
            _fail(
                MERGED_INVOICE,
                "the invoice was merged into another in "
                "the source; the surviving invoice is the one to sync",
                reader.path("status"),
            ),
        )
    else:
        _check_partially_applied(reader, values)
        if "status" not in reader.failed:
            values["status"] = reader.choice("status", INVOICE_STATUSES, INVALID_STATUS, "open")
    values["send"] = reader.flag("send")
    reader.add("due_date", check_due_date(values["issue_date"], values["due_date"]))
    _check_document_totals(reader, Invoice, values)
    return reader.finish(Invoice, values)


def _check_partially_applied(reader: _Reader, values: dict[str, Any]) -> None:
    """An invoice the source reports as partly paid or credited is refused: pushing it
    would either ignore those applications or book them twice."""
    status = str(reader.raw.get("status", "")).strip().casefold()
    if status in PARTIAL_STATUSES:
        reader.add(
            "status",
            _fail(
                PARTIALLY_APPLIED_INVOICE,
                f"the source marks the invoice {status!r}: its payments and credits must "
                "arrive as payment and credit-note records, not as invoice status",
                reader.path("status"),
            ),
        )
    places, unit = _money_unit(values["currency"])
    for name in APPLIED_FIELDS:
        if _blank(reader.raw.get(name)):
            continue
        applied = reader.decimal(name, places, unit, check_not_negative)
        if applied:  # zero applied is an untouched invoice
            reader.add(
                name,
                _fail(
                    PARTIALLY_APPLIED_INVOICE,
                    f"the source says {applied} of the invoice is already applied ({name}); "
                    "send those payments and credits as records of their own",
                    reader.path(name),
                ),
            )


def _validate_credit_note(reader: _Reader, home_currency: str) -> Validated | Rejected:
    values = _read_document(reader, home_currency)
    values["invoice_id"] = reader.ident("invoice_id")
    _check_document_totals(reader, CreditNote, values)
    return reader.finish(CreditNote, values)


def _validate_payment(reader: _Reader, _home_currency: str) -> Validated | Rejected:
    currency = reader.currency()
    places, unit = _money_unit(currency)
    values = {
        "id": reader.ident("id"),
        "customer_id": reader.ident("customer_id"),
        "invoice_id": reader.ident("invoice_id"),
        "amount": reader.decimal("amount", places, unit, check_positive_amount),
        "currency": currency,
        "paid_on": reader.date("paid_on"),
        "method": reader.text("method", "payment.method"),
        "reference": reader.text("reference", "payment.reference"),
    }
    return reader.finish(Payment, values)


def _validate_refund(reader: _Reader, _home_currency: str) -> Validated | Rejected:
    currency = reader.currency()
    places, unit = _money_unit(currency)
    values = {
        "id": reader.ident("id"),
        "customer_id": reader.ident("customer_id"),
        "amount": reader.decimal("amount", places, unit, check_positive_amount),
        "currency": currency,
        "refunded_on": reader.date("refunded_on"),
        "payment_id": reader.ident("payment_id"),
        "credit_note_id": reader.ident("credit_note_id"),
        "method": reader.text("method", "payment.method"),
        "reference": reader.text("reference", "payment.reference"),
    }
    given = [name for name in ("payment_id", "credit_note_id") if values[name] is not None]
    if len(given) != 1 and not reader.failed.intersection({"payment_id", "credit_note_id"}):
        why = "both payment_id and credit_note_id" if given else "neither payment_id nor "
        reader.add(
            "payment_id",
            _fail(
                REFUND_CREDIT_MISSING,
                f"the refund names {why}{'' if given else 'credit_note_id'}: give exactly "
                "one, the credit it pays back",
                reader.path("payment_id"),
            ),
        )
    return reader.finish(Refund, values)


def _validate_customer_kind(reader: _Reader, _home_currency: str) -> Validated | Rejected:
    checked = _validate_customer(reader)
    refusal = reader.rules.transfer_refusal
    if refusal and isinstance(checked, Validated) and _personal(checked.record):
        return Rejected(tuple(_fail(TRANSFER_NOT_ALLOWED, refusal)))
    return checked


def _personal(record: Record) -> bool:
    kind = type(record)
    return any(getattr(record, n, None) for n in kind.PII_FIELDS - kind.MAY_NAME_A_BUSINESS)


_VALIDATORS: Final[Mapping[str, Callable[[_Reader, str], Validated | Rejected]]] = {
    "customer": _validate_customer_kind,
    "invoice": _validate_invoice,
    "credit_note": _validate_credit_note,
    "payment": _validate_payment,
    "refund": _validate_refund,
}


# --------------------------------------------------------------------------- entry point


def _validate(item: SourceItem, rules: LedgerRules, home_currency: str) -> Validated | Rejected:
    kind = item.kind if isinstance(item.kind, str) else ""
    validator = _VALIDATORS.get(kind)
    if validator is None:
        message = f"record kind {_show(item.kind)} is not synced: use customer, invoice, "
        return Rejected(tuple(_fail(UNSUPPORTED_KIND, message + "payment, credit_note or refund")))
    fields = item.fields
    if not isinstance(fields, Mapping):
        message = f"the record's fields are a {type(fields).__name__}; expected a mapping"
        return Rejected(tuple(_fail(WRONG_TYPE, message)))
    if "id" not in fields:
        fields = {**fields, "id": item.id}
    return validator(_Reader(fields, kind, rules), home_currency)


def validate(
    item: SourceItem, rules: LedgerRules, *, home_currency: str = "USD"
) -> Validated | Rejected:
    """Check ``item`` against the ledger's ``rules``; never raises on bad input.

    ``home_currency`` is the ledger company's currency: a document in any other currency
    needs an explicit exchange rate."""
    try:
        result = _validate(item, rules, home_currency)
    except Exception as exc:  # last line of defence: bad input is data, not a crash (§1.5)
        message = f"the record could not be checked ({type(exc).__name__}): report this bug"
        return Rejected(tuple(_fail(INVALID_RECORD, message)))
    return _without_personal_values(item, result)


def _without_personal_values(
    item: SourceItem, result: Validated | Rejected
) -> Validated | Rejected:
    """Reasons never show a personal value (every value, for a malformed record whose
    cells may have shifted): the field is named instead (``syncledger.core.pii_text``)."""
    if isinstance(result, Validated) or not isinstance(item.fields, Mapping):
        return result
    values = echoable(item.kind if isinstance(item.kind, str) else "", item.fields)
    return replace(result, reasons=strip_reasons(result.reasons, values))
