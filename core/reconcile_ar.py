"""AR balance per customer and currency (DESIGN §10): the log's view against the ledger's.

- **Source view**: for each customer the log links and each currency, the invoices the
  log pushed (a voided one counts nothing) less what the log says was applied to them —
  payments pushed and applied, credit notes applied (``Expected.paid``) — or, where the
  ledger holds more paid on that invoice than the log applied, the ledger's own balance:
  the ledger owns money, and payments recorded there are how invoices get paid. Records
  that never reached the ledger are not in it: those are errors (``syncledger errors``),
  not disagreements between the books.
- **Ledger view**: the sum of the ledger's open balances of every invoice it holds for
  that customer's ledger id in that currency (one raised by hand in the ledger counts:
  it is in the ledger's AR), void and deleted ones left out.

Each difference is reported once: a customer one of whose invoices already has a
document mismatch that moves its AR (missing, amount, currency, status, balance: see
:data:`EXPLAINED_BY`) is not compared, so an AR mismatch means the documents the log
links each agree and the ledger's AR still differs — an invoice raised by hand in the
ledger, or one of ours the log does not link.

A customer+currency is compared only when both views are fully known: every invoice's
paid amount on the log's side, every balance on the ledger's (a ledger invoice without a
currency is left out: it cannot be placed). The mismatch's
key is the customer's source ref and the currency; its ledger ref is the customer's
ledger id; the money at stake is the difference, in that currency (no exchange rate).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal

from syncledger.core.ports import LedgerRecord
from syncledger.core.reconcile_model import Expected, Mismatch
from syncledger.core.words import figure, plural

TYPE = "ar_balance_mismatch"
#: document mismatches that already account for a difference in their customer's AR
EXPLAINED_BY = frozenset({
    "missing_in_ledger", "amount_mismatch", "currency_mismatch", "status_mismatch",
    "balance_mismatch",
})  # fmt: skip
_GONE = ("void", "deleted")


def ar_key(customer_ref: str, currency: str) -> str:
    return f"{TYPE}|{customer_ref}|{currency}"


@dataclass
class _View:
    total: Decimal = Decimal(0)
    known: bool = True
    count: int = 0

    def add(self, amount: Decimal | None) -> None:
        self.count += 1
        if amount is None:
            self.known = False
        else:
            self.total += amount


@dataclass
class _Book:
    #: customer ledger id -> customer source ref
    customers: dict[str, str] = field(default_factory=dict)
    source: dict[tuple[str, str], _View] = field(default_factory=dict)
    ledger: dict[tuple[str, str], _View] = field(default_factory=dict)


def _open_as_logged(exp: Expected) -> Decimal | None:
    if exp.voided:
        return Decimal(0)
    if exp.paid is None or exp.total is None:
        return None
    return exp.total - exp.paid


def _open_as_known(exp: Expected, rec: LedgerRecord | None) -> Decimal | None:
    """What the log says is still open on the invoice, less what was paid on it in the
    ledger beyond that (module docstring)."""
    logged = _open_as_logged(exp)
    if logged is None or rec is None or rec.balance is None or rec.total != exp.total:
        return logged
    return min(logged, rec.balance) if rec.status not in _GONE else logged


def customers_of(expected: Iterable[Expected]) -> dict[str, str]:
    """Customer ledger id -> source ref, for the invoices the log links."""
    return {
        e.customer_ledger_ref: e.customer_ref
        for e in expected
        if e.kind == "invoice" and e.customer_ref and e.customer_ledger_ref
    }


def explained(found: Iterable[Mismatch]) -> set[str]:
    """The source refs whose document mismatches account for an AR difference."""
    return {m.source_ref for m in found if m.mismatch_type in EXPLAINED_BY and m.source_ref}


def ar_balances(
    expected: Iterable[Expected],
    ledger_invoices: Iterable[LedgerRecord],
    only: set[str] | None = None,
    explained_refs: AbstractSet[str] = frozenset(),
) -> list[Mismatch]:
    """The AR mismatches of the customers (ledger ids) in ``only`` (None: all), leaving
    out customers with an invoice in ``explained_refs`` (:func:`explained`)."""
    book, skip = _Book(), set[str]()
    ledger_invoices = [r for r in ledger_invoices if r.kind == "invoice"]
    held = {r.ledger_id: r for r in ledger_invoices}
    for exp in expected:
        cust = exp.customer_ledger_ref
        if exp.kind != "invoice" or not exp.customer_ref or not cust or not exp.currency:
            continue
        if only is None or cust in only:
            book.customers[cust] = exp.customer_ref
            still_open = _open_as_known(exp, held.get(exp.ledger_ref))
            book.source.setdefault((cust, exp.currency), _View()).add(still_open)
            if exp.source_ref in explained_refs:
                skip.add(cust)
    for cust in skip:
        del book.customers[cust]
    book.source = {pair: v for pair, v in book.source.items() if pair[0] not in skip}
    for rec in ledger_invoices:
        cust = rec.customer_ledger_id
        if rec.kind != "invoice" or cust not in book.customers or rec.status in _GONE:
            continue
        view = book.ledger.setdefault((cust, rec.currency or ""), _View())
        view.add(rec.balance)
    return [
        m for pair in sorted(book.source.keys() | book.ledger.keys()) if (m := _one(book, pair))
    ]


def _one(book: _Book, pair: tuple[str, str]) -> Mismatch | None:
    cust, currency = pair
    source, ledger = book.source.get(pair, _View()), book.ledger.get(pair, _View())
    if not (source.known and ledger.known and currency) or source.total == ledger.total:
        return None
    ref = book.customers[cust]
    return Mismatch(
        ar_key(ref, currency),
        TYPE,
        ref,
        cust,
        f"{figure(source.total, currency)} open on {plural(source.count, 'invoice')}",
        f"{figure(ledger.total, currency)} open on {plural(ledger.count, 'invoice')}",
        abs(source.total - ledger.total),
        currency,
    )
