"""Help for the reason codes that do not come from a validation rule: those the sync
worker gives (dependencies, duplicates, conflicts, reviews), those the ledger adapters
give when they refuse or give up on a write, and those a source gives when it refuses a
payment status written back (``core/validation.py`` holds the rules' own
and :func:`~syncledger.core.validation.reason_help` reads both).

``docs/reason-codes.md`` is :func:`markdown` of every table; a test keeps the two equal
and checks that every code the code base can emit has help here or in validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

_NOT_SYNCED = (
    "it is not in the ledger: it was rejected, given up on, or waits for review. Fix it "
    "first (`syncledger errors`, `syncledger review`); this record is tried again by "
    "itself once it is in the ledger."
)
_CHANGED = (
    "is already posted in the ledger and posted money is not edited: reverse it in the "
    "ledger (void or delete it there) and record the correction in the source as a new "
    "record with its own id."
)

#: codes the sync worker gives (``core/sync*.py``)
SYNC_HELP: Final[Mapping[str, str]] = MappingProxyType(
    {
        "duplicate_name": "Another source customer has the same name (case and spacing do not "
        "count) and ledgers keep customer names unique: rename one or merge the two in the "
        "source, then import again.",
        "subject_erased": "The record's personal data was erased under the retention policy, so "
        "it cannot be pushed. If the erasure was a mistake, enter the record again in the source "
        "and import it.",
        "customer_not_synced": f"The record's customer is not synced: {_NOT_SYNCED}",
        "invoice_not_synced": f"The invoice it applies to is not synced: {_NOT_SYNCED}",
        "payment_not_synced": f"The payment the refund pays back is not synced: {_NOT_SYNCED}",
        "credit_note_not_synced": "The credit note the refund pays back is not synced: "
        + _NOT_SYNCED,
        "invoice_not_found": "The payment or credit note names an invoice id the source does not "
        "hold: add the invoice to the source (invoices.csv) or correct invoice_id, then import "
        "again.",
        "payment_not_found": "The refund names a payment id the source does not hold: add the "
        "payment (payments.csv) or correct payment_id, then import again.",
        "credit_note_not_found": "The refund names a credit note id the source does not hold: "
        "add the credit note (credit_notes.csv) or correct credit_note_id, then import again.",
        "payment_changed": f"The payment changed in the source but {_CHANGED}",
        "credit_note_changed": f"The credit note changed in the source but {_CHANGED}",
        "refund_changed": f"The refund changed in the source but {_CHANGED}",
        "conflict": "The record was edited in the ledger since syncledger last wrote it, and the "
        "ledger owns this kind: `syncledger conflicts` shows what differs; decide with "
        "`syncledger conflicts REF --keep-ledger` (the ledger's version stands) or "
        "`--overwrite` (ours is pushed over it).",
        "ambiguous_match": "Several ledger customers match this one: `syncledger review` lists "
        "them; decide with `syncledger review REF --link ID` or `--create`.",
        "link_target_missing": "The ledger record chosen in review is no longer there: pick "
        "another with `syncledger review REF --link ID`, or `--create`.",
    }
)

#: codes the ledger adapters give on a refused or abandoned write (``adapters/``); codes
#: starting ``syncledger.`` share one entry, and a platform's own codes are its own
LEDGER_HELP: Final[Mapping[str, str]] = MappingProxyType(
    {
        "syncledger.*": "The ledger adapter refused the record before sending it, for the reason "
        "in the message: correct the source record (or the ledger's mapping file when the "
        "message names a setting), then `syncledger retry REF`.",
        "429:*": "The ledger's rate limit stayed exhausted for every attempt: nothing is lost. "
        "Records given up on during an outage are asked for again by themselves; otherwise run "
        "`syncledger retry REF` later.",
        "401": "The ledger refused syncledger's credentials: connect to the ledger again "
        "(a new token), then `syncledger retry REF`.",
        "429": "The ledger's rate limit stayed exhausted for every attempt: nothing is lost. "
        "Records given up on during an outage are asked for again by themselves; otherwise run "
        "`syncledger retry REF` later.",
        "404": "The ledger record syncledger wrote to is gone (deleted in the ledger): "
        "`syncledger repush REF` creates it again.",
        "6000": "QuickBooks Online refused a business rule; its message says which. The "
        "common ones: a document in another currency than its customer's (QuickBooks keeps "
        "one currency per customer and never changes it: bill the customer in its currency, "
        "or enter a separate customer for the other currency in the source), a total that "
        "does not add up, a missing tax code. Correct the source record, import it again, "
        "then `syncledger retry REF`.",
        "1012": "FreshBooks has no such customer any more (deleted there): `syncledger repush "
        "REF` on the customer creates it again, then retry this record.",
        "refused": "The ledger refused syncledger's credentials without a code of its own "
        "(a refresh token or stored credentials it no longer takes): `syncledger "
        "connections` shows which; connect again (`syncledger connect <ledger>`), then "
        "`syncledger retry REF`.",
        "unknown": "The ledger's sign-in refused the token without saying why: connect to the "
        "ledger again, then `syncledger retry REF`.",
        "unsupported": "This ledger's adapter does not sync this kind of record: leave it out of "
        "the export, or enter it in the ledger by hand.",
        "stale": "The ledger record changed while syncledger wrote it: `syncledger retry REF`; "
        "if it happens again, `syncledger conflicts` shows the edit.",
        "stale_version": "The ledger record changed while syncledger wrote it: `syncledger retry "
        "REF`; if it happens again, `syncledger conflicts` shows the edit.",
        "no_grant": "The ledger connection has no usable refresh token (expired or revoked): "
        "connect to the ledger again, then `syncledger retry REF`.",
        "bad_answer": "The ledger's answer could not be read: `syncledger retry REF` later; if it "
        "persists, report it with `syncledger trace REF`.",
        "duplicate": "The ledger already holds a customer with this name: rename the customer in "
        "the source, or link the two (`syncledger review`).",
        "bad_amount": "The ledger refused the amount applied: correct the payment's amount in the "
        "source, then import again.",
        "overapplied": "The payment is more than the invoice still owes in the ledger: correct "
        "the amount, or record the rest as a separate payment, then import again.",
        "not_found": "The ledger record syncledger wrote to is gone (deleted in the ledger): "
        "`syncledger repush REF` creates it again.",
    }
)


_WRITTEN_AGAIN = (
    "A refused status is logged once (`syncledger errors`, `syncledger trace REF`) and "
    "written again only when the invoice next changes in the ledger."
)

#: codes a source gives when it refuses a payment status written back
#: (``core/writeback.py``; the source adapters' ``write_back``)
WRITE_BACK_HELP: Final[Mapping[str, str]] = MappingProxyType(
    {
        "source_record_gone": "The source no longer has the record the invoice came from "
        "(deleted there, e.g. a HubSpot deal or a Jobber invoice), so the payment status has "
        "nowhere to go. Nothing to do if it was deleted on purpose; otherwise restore it in "
        f"the source. {_WRITTEN_AGAIN}",
        "source_refused": "The source refused the payment status for the reason in the "
        "message (its own words): correct what it names in the source. " + _WRITTEN_AGAIN,
        "currency_differs": "The ledger holds the invoice in another currency than the "
        "source account's, so its payments cannot be recorded there without an exchange "
        f"rate: record the payment in the source by hand. {_WRITTEN_AGAIN}",
        "total_differs": "The invoice's total in the ledger differs from the source's: the "
        "two documents disagree, so nothing is recorded. Correct the one that is wrong "
        f"(`syncledger trace REF` shows both). {_WRITTEN_AGAIN}",
        "payments_not_removed": "The source holds more paid on the invoice than the ledger "
        "does (a payment was removed or refunded in the ledger); payments are never removed "
        f"from the source by syncledger: correct it there by hand. {_WRITTEN_AGAIN}",
        "void_not_supported": "The invoice was voided in the ledger and the source's API "
        f"takes no void: void or archive it in the source by hand. {_WRITTEN_AGAIN}",
        "no_amount_paid": "The ledger gave no total or balance for the invoice, so the "
        f"amount paid is unknown: nothing was recorded in the source. {_WRITTEN_AGAIN}",
    }
)


def help_for(code: str) -> str | None:
    """The help for a sync or ledger code (a ``syncledger.`` or ``429:`` code by its
    family), or None."""
    found = SYNC_HELP.get(code) or LEDGER_HELP.get(code) or WRITE_BACK_HELP.get(code)
    if found is not None:
        return found
    for family in ("syncledger.", "429:"):
        if code.startswith(family):
            return LEDGER_HELP[family + "*"]
    return None


def markdown(rule_help: Mapping[str, str]) -> str:
    """``docs/reason-codes.md``: every code with its fix, by where it comes from."""
    out = [
        "# Reason codes",
        "",
        "Every code `syncledger errors` can show, with its fix. Generated from",
        "`core/validation.py` and `core/reason_codes.py` (tests/unit/test_reason_codes.py",
        "fails when this file differs; regenerate it with",
        "`python -m syncledger.core.reason_codes > docs/reason-codes.md`).",
    ]
    for title, table in (
        ("Validation rules (a record is refused before it is pushed)", rule_help),
        ("The sync (what the record needs, conflicts, review)", SYNC_HELP),
        ("The ledger adapters (a write refused or given up on)", LEDGER_HELP),
        ("Write-back (a payment status the source refused)", WRITE_BACK_HELP),
    ):
        out += ["", f"## {title}", "", "| code | fix |", "| --- | --- |"]
        out += [f"| `{code}` | {_cell(text)} |" for code, text in sorted(table.items())]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":  # pragma: no cover - the docs generator
    from syncledger.core.validation import rule_help

    print(markdown(rule_help()), end="")
