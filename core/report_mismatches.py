"""Open mismatches in words: what differs, for how long, and the one thing to do about it.

Shared by ``syncledger errors``, ``syncledger status`` and the reports. The fixes name
only what this tool offers (``syncledger retry``) and what a person does in the ledger
(void, correct, apply); no platform's screens or endpoints are assumed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar


class MismatchView(Protocol):
    """An open mismatch as the read models hold it (``projections.queries.MismatchView``)."""

    @property
    def ledger(self) -> str: ...
    @property
    def mismatch_type(self) -> str: ...
    @property
    def source_ref(self) -> str | None: ...
    @property
    def ledger_ref(self) -> str | None: ...
    @property
    def expected(self) -> str | None: ...
    @property
    def actual(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime | None: ...


M = TypeVar("M", bound=MismatchView)

#: a mismatch type -> the fix, given the mismatch and the ledger id the log links
Fix = Callable[[MismatchView, str | None], str]


def _missing(m: MismatchView, _: str | None) -> str:
    return (
        f"the ledger no longer holds {m.ledger_ref}: re-push it with "
        f"`syncledger retry {m.source_ref}` (or restore it in the ledger)"
    )


def _orphan(m: MismatchView, _: str | None) -> str:
    return (
        f"{m.ledger_ref} carries our reference but nothing in the log links it: void it in "
        "the ledger if it is a stray copy, or link it to its source record"
    )


def _amount(m: MismatchView, _: str | None) -> str:
    return (
        f"correct {m.ledger_ref} in the ledger to {m.expected} (the source's figure); if "
        f"the ledger's {m.actual} is right, correct the source record and import it again"
    )


def _tax(m: MismatchView, _: str | None) -> str:
    return (
        f"the ledger holds tax {m.actual}, the source {m.expected}: correct the tax code or "
        f"rate on {m.ledger_ref} in the ledger, or the source's tax lines, so both agree"
    )


def _currency(m: MismatchView, _: str | None) -> str:
    return (
        f"the source says {m.expected}, the ledger {m.actual}: if the source is right, void "
        f"{m.ledger_ref} in the ledger and re-push it (`syncledger retry {m.source_ref}`); "
        "otherwise correct the source record's currency and import it again"
    )


def _duplicate(m: MismatchView, linked: str | None) -> str:
    ids = [i for i in (m.ledger_ref or "").split(",") if i]
    extra = [i for i in ids if i != linked] if linked in ids else ids[1:]
    keep = linked if linked in ids else (ids[0] if ids else "-")
    return f"void the extra copies in the ledger ({', '.join(extra)}); keep {keep}"


def _application(m: MismatchView, _: str | None) -> str:
    return (
        f"apply the payment/credit in the ledger: {m.expected} is meant, the ledger shows "
        f"{m.actual}"
    )


def _status(m: MismatchView, _: str | None) -> str:
    return f"set {m.ledger_ref}'s status in the ledger to {m.expected}, as the source says"


def _balance(m: MismatchView, _: str | None) -> str:
    return (
        f"the log has {m.expected} on {m.ledger_ref}, the ledger {m.actual}: apply (or "
        "remove) the payment or credit in the ledger, or record in the source the payment "
        "the ledger holds and import it"
    )


def _credit_unapplied(m: MismatchView, _: str | None) -> str:
    return (
        f"credit note {m.ledger_ref} was never applied ({m.actual}): apply it in the ledger "
        f"as the source meant ({m.expected})"
    )


def _due_date(m: MismatchView, _: str | None) -> str:
    return (
        f"set {m.ledger_ref}'s due date in the ledger to {m.expected} (the source's); if "
        f"{m.actual} is right, correct the source record and import it again"
    )


def _line_items(m: MismatchView, _: str | None) -> str:
    return (
        f"book {m.ledger_ref}'s lines to the items {m.expected} in the ledger (it shows "
        f"{m.actual}), or correct the source's item codes and import it again"
    )


def _ar_balance(m: MismatchView, _: str | None) -> str:
    return (
        f"the log's AR for {m.source_ref} is {m.expected}, the ledger's {m.actual}: the "
        "record mismatches of this customer say which documents differ; an invoice or "
        "payment entered only in the ledger belongs in the source too"
    )


def _customer_name(m: MismatchView, _: str | None) -> str:
    """The name is personal data: the fix names the records, never the name (a mismatch
    found before names were sealed still shows the one it recorded)."""
    if m.expected is None:
        return (
            f"rename {m.ledger_ref} in the ledger to {m.source_ref}'s name in the source: "
            "the source owns the name (a rename in the source is pushed by the next sync)"
        )
    return (
        f"rename {m.ledger_ref} in the ledger to {m.expected!r}: the source owns the name "
        "(a rename in the source is pushed by the next sync)"
    )


FIXES: dict[str, Fix] = {
    "missing_in_ledger": _missing,
    "orphan_in_ledger": _orphan,
    "amount_mismatch": _amount,
    "tax_mismatch": _tax,
    "currency_mismatch": _currency,
    "duplicate_in_ledger": _duplicate,
    "application_mismatch": _application,
    "status_mismatch": _status,
    "balance_mismatch": _balance,
    "credit_unapplied": _credit_unapplied,
    "due_date_mismatch": _due_date,
    "line_items_mismatch": _line_items,
    "ar_balance_mismatch": _ar_balance,
    "customer_name_mismatch": _customer_name,
}


def fix_for(m: MismatchView, linked: str | None = None) -> str:
    """The one-line fix for ``m``; ``linked``: the ledger id the log links its source
    record to (which copy of a duplicate to keep)."""
    fix = FIXES.get(m.mismatch_type)
    return fix(m, linked) if fix else "compare the two records and correct the wrong side"


def age(since: datetime | None, now: datetime) -> str:
    """How long ago ``since`` was, in the two largest units: ``3 d 4 h``, ``2 h 5 min``."""
    if since is None:
        return "since an unknown time"
    span = max(now - since, timedelta(0))
    days, rest = divmod(int(span.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) if shown else "< 1 min"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 open mismatch``, ``2 open mismatches``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def detail(m: MismatchView) -> str:
    """``expected X, ledger has Y`` where the mismatch has values."""
    if m.mismatch_type == "duplicate_in_ledger":
        return f"{m.actual} copies in the ledger"
    if m.expected is None and m.actual is None:
        return ""
    return f"expected {m.expected}, ledger has {m.actual}"


def mismatch_lines(
    found: Sequence[M], now: datetime, linked: Callable[[M], str | None]
) -> list[str]:
    """Open mismatches per ledger, each with what differs, how long, and its fix."""
    lines: list[str] = []
    for ledger, count in per_ledger(found).items():
        lines.append(f"{plural(count, 'open mismatch', 'open mismatches')} on {ledger}:")
        for m in (x for x in found if x.ledger == ledger):
            what = detail(m)
            lines.append(
                f"  {m.mismatch_type} {m.source_ref or '-'} → {m.ledger_ref or '-'}"
                f"{': ' + what if what else ''} (open {age(m.updated_at, now)})"
            )
            lines.append(f"      fix: {fix_for(m, linked(m))}")
    return lines


def per_ledger(found: Iterable[MismatchView]) -> dict[str, int]:
    """Open mismatches counted per ledger, ledgers in name order."""
    counts = Counter(m.ledger for m in found)
    return {ledger: counts[ledger] for ledger in sorted(counts)}


def status_lines(found: Iterable[MismatchView]) -> list[str]:
    """``N open mismatches on <ledger>`` for each ledger with any."""
    return [
        f"{plural(n, 'open mismatch', 'open mismatches')} on {ledger} "
        "(`syncledger errors` says what to fix)"
        for ledger, n in per_ledger(found).items()
    ]
