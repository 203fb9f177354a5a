"""The fold: how each event type changes the read models.

Pure functions over a :class:`~syncledger.projections.state.WorkingSet`; no I/O beyond what the
working set loads. Every handled type is in :data:`HANDLERS`; the types the read models
deliberately do not use are in :data:`IGNORED`; anything else (a type added later) is
skipped too, so a new event type never stops the projections.

Nothing in the log stops the fold either (:func:`apply`): an event that cannot be read
or applied — a field missing, amounts that cannot be added exactly, a handler that fails
on data an older version wrote — changes nothing but one ``unfoldable`` row (sequence,
type, source record, reason), and the fold goes on with the next event. Only the
database failing stops a batch (:class:`~syncledger.projections.state.RowsUnavailable`).

A rejection that is not about one ledger and not about the record's folded content is a
version refused at import (``syncledger.core.ingest``): it never reached the log as an observation,
so it opens an ``errors`` row of its own (``refused``) until a newer version is observed
or the record is deleted.

Status of a record (``records.status``, and per ledger in ``sync_state.status``)::

    observed → rejected | pushing → synced | failed → … | abandoned;  any → deleted

A push/reject event about content other than the record's latest version (it was
overtaken by a newer version) does not move the status: the newer version is pending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Any

from pydantic import TypeAdapter

from syncledger.core.decode import handler_for
from syncledger.core.events import (
    ALERT_EVENTS,
    ConflictDetected,
    ConflictSettled,
    CustomerCreditRecorded,
    CustomerDetailsObserved,
    CustomerDetailsWritten,
    CustomerFieldAuthorityApplied,
    EventData,
    InvoiceDisputed,
    InvoiceSendFailed,
    InvoiceSendRequested,
    InvoiceSent,
    LedgerConnected,
    LedgerItemCreated,
    LedgerItemRequested,
    LedgerPushAbandoned,
    LedgerPushFailed,
    LedgerPushRequested,
    LedgerPushSucceeded,
    LedgerRecordObserved,
    LedgerStepRequested,
    LedgerStepSucceeded,
    MappingVersionPublished,
    MismatchDetected,
    MismatchResolved,
    ReconciliationCompleted,
    RecordHeldForRollout,
    RecordLinked,
    RecordReleasedForRollout,
    ReflowRequested,
    RepushRequested,
    RetryRequested,
    ReviewRequested,
    ReviewResolved,
    RolloutScopeChanged,
    SourceCursorAdvanced,
    SourceRecordDeleted,
    SourceRecordObserved,
    SourceRecordRejected,
    SourceStatusRefused,
    SourceStatusWritten,
    WebhookProcessed,
    WebhookReceived,
)
from syncledger.core.ids import canonical_json
from syncledger.core.rollout_scope import WAITING_FOR_ROLLOUT  # not an error: out of scope
from syncledger.projections.decode import Broken, Event
from syncledger.projections.state import Group, Row, RowsUnavailable, WorkingSet

OBSERVED, REJECTED, PUSHING, SYNCED = "observed", "rejected", "pushing", "synced"
FAILED, ABANDONED, DELETED = "failed", "abandoned", "deleted"
STATUSES = (OBSERVED, REJECTED, PUSHING, SYNCED, FAILED, ABANDONED, DELETED, WAITING_FOR_ROLLOUT)
OPEN, RESOLVED = "open", "resolved"
ANY_LEDGER = ""  # errors.ledger of a rejection that is not about one ledger
#: errors.error of a version refused at import (see the module docstring)
REFUSED = "refused"
#: errors.error of a record waiting for a person's decision (``syncledger review``)
REVIEW = "review"
#: errors.error of a payment status the source refused (core/writeback.py), open until a
#: status of that invoice is written back
WRITE_BACK_REFUSED = "write_back_refused"
NO_SOURCE_REF = ""  # unfoldable.source_ref of an event that names no source record
_REASON_LIMIT = 300

#: digits an amount may have on each side of the point: sums of up to 10^12 such amounts
#: stay exact within :data:`MONEY`
AMOUNT_DIGITS = 24
#: exact arithmetic: a sum that would need rounding raises instead
MONEY = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Inexact, Overflow, DivisionByZero]
)
#: a refund pays money back: it counts as a negative payment (the customer's credit shrinks)
_BUCKETS = {"invoice": "invoiced", "credit_note": "credited", "payment": "paid", "refund": "paid"}
_AMOUNT_FIELD = {
    "invoice": "total",
    "credit_note": "total",
    "payment": "amount",
    "refund": "amount",
}

#: folds one event: the event (its place in the log) and its payload, of the handler's type
Handler = Callable[[WorkingSet, Event, Any], None]


# --------------------------------------------------------------------------- values


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_MOMENT = TypeAdapter(datetime)


def _moment(value: datetime | None) -> str | None:
    """A time as the log holds it (an event's JSON form of it)."""
    return None if value is None else str(_MOMENT.dump_python(value, mode="json"))


class AmountOutOfRange(ArithmeticError):
    """An amount too wide for the read models to add exactly: its event is unfoldable."""


def decimal_text(value: Any) -> str | None:
    """Exact fixed-point text of an amount, or ``None`` when it is not a finite number;
    :class:`AmountOutOfRange` when it would need more than :data:`AMOUNT_DIGITS` digits
    on either side of the point (``1e309`` is a finite number, but not money)."""
    if value is None or isinstance(value, bool | float):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    _check_width(number)
    return format(number, "f")


def _check_width(number: Decimal) -> None:
    exponent = number.as_tuple().exponent
    places = max(-exponent, 0) if isinstance(exponent, int) else 0
    whole = 1 if number.is_zero() else max(number.adjusted() + 1, 1)
    if whole > AMOUNT_DIGITS or places > AMOUNT_DIGITS:
        shown = str(number) if len(str(number)) <= 40 else str(number)[:37] + "..."
        raise AmountOutOfRange(
            f"its amount {shown} needs {whole} digits before the point and {places} after; "
            f"the read models add at most {AMOUNT_DIGITS} on each side exactly"
        )


def _kind_from_ref(ref: str) -> str:
    parts = ref.split("/", 2)
    return parts[1] if len(parts) == 3 else "unknown"


def _ref_or_none(event: EventData) -> str | None:
    """The source record ``event`` is about (``None``: it names none)."""
    ref = getattr(event, "ref", getattr(event, "source_ref", None))
    return ref if isinstance(ref, str) else None


def _stamp(ev: Event) -> dict[str, Any]:
    return {"last_seq": ev.seq, "updated_at": ev.at}


def _fresh(record: Row | None, sha: str | None) -> bool:
    """True when ``sha`` is (or may be) the content of the record's latest version."""
    return record is None or sha is None or record["content_sha256"] in (None, sha)


def _kind(ws: WorkingSet, entity: str, ref: str) -> str:
    record = ws.records.get((entity, ref))
    return str(record["kind"]) if record is not None else _kind_from_ref(ref)


# --------------------------------------------------------------------------- balances


def _contribution(record: Row | None) -> tuple[tuple[str, str, str], str, Decimal] | None:
    """(balance key, bucket, amount) this record version adds to the source view."""
    if record is None or record["status"] == DELETED or record["doc_status"] == "void":
        return None
    bucket = _BUCKETS.get(record["kind"])
    customer, currency, total = record["customer_ref"], record["currency"], record["total"]
    if bucket is None or customer is None or currency is None or total is None:
        return None
    amount = Decimal(total)
    if record["kind"] == "refund":
        amount = amount.copy_negate()
    return (record["entity"], customer, currency), bucket, amount


def _add(
    ws: WorkingSet, part: tuple[tuple[str, str, str], str, Decimal], sign: int, seq: int
) -> None:
    (entity, customer, currency), bucket, amount = part
    row = ws.balances.get((entity, customer, currency)) or {
        "entity": entity, "customer_ref": customer, "currency": currency,
        "invoiced": "0", "credited": "0", "paid": "0", "balance": "0",
    }  # fmt: skip
    delta = amount if sign > 0 else amount.copy_negate()
    row = {**row, bucket: format(MONEY.add(Decimal(row[bucket]), delta), "f")}
    balance = MONEY.subtract(
        MONEY.subtract(Decimal(row["invoiced"]), Decimal(row["credited"])), Decimal(row["paid"])
    )
    ws.balances.put({**row, "balance": format(balance, "f"), "last_seq": seq})


def _rebalance(ws: WorkingSet, old: Row | None, new: Row | None, seq: int) -> None:
    before, after = _contribution(old), _contribution(new)
    if before == after:
        return
    if before is not None:
        _add(ws, before, -1, seq)
    if after is not None:
        _add(ws, after, +1, seq)


# --------------------------------------------------------------------------- source


def _observed(ws: WorkingSet, ev: Event, e: SourceRecordObserved) -> None:
    entity, ref, sha, kind, record = ev.entity, e.ref, e.content_sha256, e.kind, e.record
    old = ws.records.get((entity, ref))
    same = old is not None and old["status"] != DELETED and old["content_sha256"] == sha
    new = {
        "entity": entity, "source_ref": ref, "kind": kind, "version": e.version,
        "content_sha256": sha, "customer_ref": e.customer_ref,
        "currency": _text(record.get("currency")),
        "total": decimal_text(record.get(_AMOUNT_FIELD.get(kind, "total"))),
        "doc_status": _text(record.get("status")),
        "status": old["status"] if same and old is not None else OBSERVED, **_stamp(ev),
    }  # fmt: skip
    _rebalance(ws, old, new, ev.seq)
    ws.records.put(new)
    for row in ws.sync.group_rows((entity, ref)):
        if row["status"] == DELETED or row["content_sha256"] != sha:
            ws.sync.put({**row, "status": OBSERVED, **_stamp(ev)})
    for row in ws.errors.group_rows((entity, ref)):
        if row["error"] == REFUSED and row["content_sha256"] != sha:
            ws.errors.delete((entity, ref, row["ledger"]))
    _supersede(ws, ev, ref)


def _deleted(ws: WorkingSet, ev: Event, e: SourceRecordDeleted) -> None:
    entity, ref = ev.entity, e.ref
    old = ws.records.get((entity, ref))
    base = old or {
        "entity": entity, "source_ref": ref, "kind": e.kind, "content_sha256": None,
        "customer_ref": None, "currency": None, "total": None, "doc_status": None,
    }  # fmt: skip
    new = {**base, "version": e.version, "status": DELETED, **_stamp(ev)}
    _rebalance(ws, old, new, ev.seq)
    ws.records.put(new)
    for row in ws.sync.group_rows((entity, ref)):
        if row["status"] != DELETED:
            ws.sync.put({**row, "status": DELETED, **_stamp(ev)})
    for row in ws.errors.group_rows((entity, ref)):
        if row["error"] in (REJECTED, REFUSED):
            ws.errors.delete((entity, ref, row["ledger"]))
    _supersede(ws, ev, ref)


def _supersede(ws: WorkingSet, ev: Event, ref: str) -> None:
    """A newer version of ``ref`` was folded: its unfoldable events are history now."""
    for row in ws.unfoldable.group_rows((ev.entity, ref)):
        if row["superseded_seq"] is None:
            ws.unfoldable.put({**row, "superseded_seq": ev.seq})


def _rejected(ws: WorkingSet, ev: Event, e: SourceRecordRejected) -> None:
    entity, ref, sha, ledger = ev.entity, e.ref, e.content_sha256, e.ledger or ANY_LEDGER
    record = ws.records.get((entity, ref))
    if ledger == ANY_LEDGER and (record is None or record["content_sha256"] != sha):
        _refused(ws, ev, e, record)
        return
    if not _fresh(record, sha):
        return
    _put_rejection(ws, ev, e, ledger, REJECTED)
    _set_status(ws, ev, ref, REJECTED, sha)
    if ledger != ANY_LEDGER:
        row = _sync_row(ws, ev, ref, ledger)
        ws.sync.put({**row, "status": _unless_deleted(row, REJECTED), "content_sha256": sha})


def _put_rejection(
    ws: WorkingSet, ev: Event, e: SourceRecordRejected, ledger: str, error: str
) -> None:
    reasons = [reason.model_dump() for reason in e.reasons]
    message = "; ".join(f"{r.code}: {r.message}" for r in e.reasons)
    ws.errors.put({
        "entity": ev.entity, "source_ref": e.ref, "ledger": ledger, "kind": e.kind,
        "error": error, "content_sha256": e.content_sha256, "idempotency_key": None,
        "code": e.reasons[0].code if e.reasons else None,
        "message": message or error, "reasons": canonical_json(reasons).decode(),
        "attempts": None, "last_seq": ev.seq, "occurred_at": ev.at,
    })  # fmt: skip


def _refused(ws: WorkingSet, ev: Event, e: SourceRecordRejected, record: Row | None) -> None:
    """A version refused at import: the folded record (if any) stays as it was, since
    it is what the log and the ledgers hold; a record never seen before is counted as
    rejected."""
    _put_rejection(ws, ev, e, ANY_LEDGER, REFUSED)
    if record is None:
        ws.records.put({
            "entity": ev.entity, "source_ref": e.ref, "kind": e.kind, "version": None,
            "content_sha256": None, "customer_ref": None, "currency": None, "total": None,
            "doc_status": None, "status": REJECTED, **_stamp(ev),
        })  # fmt: skip
    _supersede(ws, ev, e.ref)


# --------------------------------------------------------------------------- ledger


def _set_status(ws: WorkingSet, ev: Event, ref: str, status: str, sha: str | None) -> None:
    record = ws.records.get((ev.entity, ref))
    if record is None or record["status"] == DELETED or not _fresh(record, sha):
        return
    ws.records.put({**record, "status": status, **_stamp(ev)})


def _unless_deleted(row: Row, status: str) -> str:
    return DELETED if row["status"] == DELETED else status


def _sync_row(ws: WorkingSet, ev: Event, ref: str, ledger: str) -> Row:
    """The record's state for ``ledger`` (a new one if none), stamped with ``ev``."""
    row = ws.sync.get((ev.entity, ref, ledger)) or {
        "entity": ev.entity, "source_ref": ref, "ledger": ledger,
        "kind": _kind(ws, ev.entity, ref), "status": OBSERVED, "content_sha256": None,
        "idempotency_key": None, "operation": None, "mapping_version": None, "attempts": 0,
        "error_code": None, "error_message": None, "retry_at": None,
    }  # fmt: skip
    return {**row, **_stamp(ev)}


def _requested(ws: WorkingSet, ev: Event, e: LedgerPushRequested) -> None:
    row = _sync_row(ws, ev, e.source_ref, e.ledger)
    ws.sync.put({
        **row, "status": _unless_deleted(row, PUSHING), "content_sha256": e.content_sha256,
        "idempotency_key": e.idempotency_key, "operation": e.operation,
        "mapping_version": e.mapping_version, "attempts": 0,
        "error_code": None, "error_message": None, "retry_at": None,
    })  # fmt: skip
    _set_status(ws, ev, e.source_ref, PUSHING, e.content_sha256)


def _link(
    ws: WorkingSet,
    ev: Event,
    e: LedgerPushSucceeded | RecordLinked,
    how: str,
    version: str | None,
    mapping: str | None,
) -> None:
    entity, ref = ev.entity, e.source_ref
    key = (entity, ref, e.ledger)
    old = ws.links.get(key)
    if old is not None and old["ledger_ref"] == e.ledger_ref:  # same ledger record
        how = old["how"]
        version = version if version is not None else old["ledger_version"]
        mapping = mapping if mapping is not None else old["mapping_version"]
    ws.links.put({
        "entity": entity, "source_ref": ref, "ledger": e.ledger,
        "kind": _kind(ws, entity, ref), "ledger_ref": e.ledger_ref,
        "ledger_version": version, "pushed_sha256": e.content_sha256,
        "mapping_version": mapping, "how": how, **_stamp(ev),
    })  # fmt: skip
    _synced(ws, ev, ref, e.ledger, e.content_sha256)


def _synced(ws: WorkingSet, ev: Event, ref: str, ledger: str, sha: str) -> None:
    fresh = _fresh(ws.records.get((ev.entity, ref)), sha)
    row = _sync_row(ws, ev, ref, ledger)
    ws.sync.put({
        **row, "status": _unless_deleted(row, SYNCED if fresh else OBSERVED),
        "content_sha256": sha, "error_code": None, "error_message": None, "retry_at": None,
    })  # fmt: skip
    if fresh:
        _set_status(ws, ev, ref, SYNCED, sha)
        ws.errors.delete((ev.entity, ref, ledger))
        unscoped = ws.errors.get((ev.entity, ref, ANY_LEDGER))
        if unscoped is not None and unscoped["error"] != REFUSED:  # a newer version's
            ws.errors.delete((ev.entity, ref, ANY_LEDGER))


def _succeeded(ws: WorkingSet, ev: Event, e: LedgerPushSucceeded) -> None:
    how = "recovered" if e.recovered else "created"
    _link(ws, ev, e, how, e.ledger_version, e.mapping_version)


def _linked(ws: WorkingSet, ev: Event, e: RecordLinked) -> None:
    _link(ws, ev, e, f"matched:{e.matched_by}", None, None)


def _attempt_row(
    ws: WorkingSet, ev: Event, e: LedgerPushFailed | LedgerPushAbandoned
) -> Row | None:
    """The ledger state a failure is about, or ``None`` if a newer request replaced it."""
    row = _sync_row(ws, ev, e.source_ref, e.ledger)
    return row if row["idempotency_key"] in (None, e.idempotency_key) else None


def _failed(ws: WorkingSet, ev: Event, e: LedgerPushFailed) -> None:
    row = _attempt_row(ws, ev, e)
    if row is None:
        return
    ws.sync.put({
        **row, "status": _unless_deleted(row, FAILED), "idempotency_key": e.idempotency_key,
        "attempts": e.attempt, "error_code": e.code, "error_message": e.message,
        "retry_at": _moment(e.retry_at),
    })  # fmt: skip
    _set_status(ws, ev, row["source_ref"], FAILED, row["content_sha256"])


def _abandoned(ws: WorkingSet, ev: Event, e: LedgerPushAbandoned) -> None:
    row = _attempt_row(ws, ev, e)
    if row is None:
        return
    ws.sync.put({
        **row, "status": _unless_deleted(row, ABANDONED), "idempotency_key": e.idempotency_key,
        "attempts": e.attempts, "error_code": e.code, "error_message": e.message,
        "retry_at": None,
    })  # fmt: skip
    ws.errors.put({
        "entity": ev.entity, "source_ref": row["source_ref"], "ledger": e.ledger,
        "kind": row["kind"], "error": ABANDONED, "content_sha256": row["content_sha256"],
        "idempotency_key": e.idempotency_key, "code": e.code,
        "message": e.message or "abandoned", "reasons": None,
        "attempts": e.attempts, "last_seq": ev.seq, "occurred_at": ev.at,
    })  # fmt: skip
    _set_status(ws, ev, row["source_ref"], ABANDONED, row["content_sha256"])


def _ledger_observed(ws: WorkingSet, ev: Event, e: LedgerRecordObserved) -> None:
    old = ws.ledger_records.get((ev.entity, e.ledger, e.ledger_ref)) or {}
    new = {
        "ledger_version": e.ledger_version, "status": e.status,
        "total": decimal_text(e.total), "balance": decimal_text(e.balance),
        "currency": e.currency,
    }  # fmt: skip
    merged = {k: v if v is not None else old.get(k) for k, v in new.items()}
    ws.ledger_records.put({
        "entity": ev.entity, "ledger": e.ledger, "ledger_ref": e.ledger_ref,
        "kind": e.kind, **merged, **_stamp(ev),
    })  # fmt: skip


def _review_requested(ws: WorkingSet, ev: Event, e: ReviewRequested) -> None:
    """A record waiting for a person is an open error until decided (or pushed)."""
    row = _sync_row(ws, ev, e.source_ref, e.ledger)
    ws.errors.put({
        "entity": ev.entity, "source_ref": e.source_ref, "ledger": e.ledger,
        "kind": row["kind"], "error": REVIEW, "content_sha256": row["content_sha256"],
        "idempotency_key": e.idempotency_key, "code": e.reason,
        "message": e.message or e.reason, "reasons": None,
        "attempts": None, "last_seq": ev.seq, "occurred_at": ev.at,
    })  # fmt: skip


def _review_resolved(ws: WorkingSet, ev: Event, e: ReviewResolved) -> None:
    _drop_error(ws, (ev.entity, e.ref, e.ledger), REVIEW)


def _conflict_settled(ws: WorkingSet, ev: Event, e: ConflictSettled) -> None:
    """keep-ledger: the push refused for the conflict is not an error any more, the
    record agrees with the ledger's version; overwrite: the push that follows moves it."""
    key = (ev.entity, e.ref, e.ledger)
    if e.decision != "keep_ledger" or not _drop_error(ws, key, ABANDONED, "conflict"):
        return
    row = _sync_row(ws, ev, e.ref, e.ledger)
    ws.sync.put({
        **row, "status": _unless_deleted(row, SYNCED),
        "error_code": None, "error_message": None, "retry_at": None,
    })  # fmt: skip
    _set_status(ws, ev, e.ref, SYNCED, row["content_sha256"])


def _drop_error(
    ws: WorkingSet, key: tuple[str, str, str], error: str, code: str | None = None
) -> bool:
    """Delete the errors row ``key`` when it is that error (and code); True if it was."""
    row = ws.errors.get(key)
    if row is None or row["error"] != error or (code is not None and row["code"] != code):
        return False
    ws.errors.delete(key)
    return True


def _held(ws: WorkingSet, ev: Event, e: RecordHeldForRollout) -> None:
    """Out of the rollout scope: waiting for rollout on that ledger (the latest version
    only; a newer version observed since is pending instead)."""
    if not _fresh(ws.records.get((ev.entity, e.source_ref)), e.content_sha256):
        return
    row = _sync_row(ws, ev, e.source_ref, e.ledger)
    ws.sync.put({
        **row, "status": _unless_deleted(row, WAITING_FOR_ROLLOUT),
        "content_sha256": e.content_sha256,
    })  # fmt: skip
    _set_status(ws, ev, e.source_ref, WAITING_FOR_ROLLOUT, e.content_sha256)
    refused = ws.errors.get((ev.entity, e.source_ref, e.ledger))
    if refused is not None and refused["content_sha256"] == e.content_sha256:
        _drop_error(ws, (ev.entity, e.source_ref, e.ledger), REJECTED)  # waits, not refused


def _status_refused(ws: WorkingSet, ev: Event, e: SourceStatusRefused) -> None:
    """A payment status the source refused: an open error of the invoice on that ledger,
    unless the record has another error there (a push's, which says more)."""
    key = (ev.entity, e.source_ref, e.ledger)
    held = ws.errors.get(key)
    if held is not None and held["error"] != WRITE_BACK_REFUSED:
        return
    ws.errors.put({
        "entity": ev.entity, "source_ref": e.source_ref, "ledger": e.ledger,
        "kind": _kind(ws, ev.entity, e.source_ref), "error": WRITE_BACK_REFUSED,
        "content_sha256": None, "idempotency_key": None, "code": e.code,
        "message": e.message, "reasons": None,
        "attempts": None, "last_seq": ev.seq, "occurred_at": ev.at,
    })  # fmt: skip


def _status_written(ws: WorkingSet, ev: Event, e: SourceStatusWritten) -> None:
    _drop_error(ws, (ev.entity, e.source_ref, e.ledger), WRITE_BACK_REFUSED)


# --------------------------------------------------------------------------- recon


def _mismatch_detected(ws: WorkingSet, ev: Event, e: MismatchDetected) -> None:
    old = ws.mismatches.get((ev.entity, e.ledger, e.key))
    still_open = old is not None and old["state"] == OPEN
    ws.mismatches.put({
        "entity": ev.entity, "ledger": e.ledger, "key": e.key,
        "mismatch_type": e.mismatch_type, "source_ref": e.source_ref,
        "ledger_ref": e.ledger_ref, "expected": e.expected,
        "actual": e.actual, "state": OPEN, "run_id": e.run_id,
        "resolved_run_id": None,
        "detected_seq": old["detected_seq"] if still_open and old is not None else ev.seq,
        **_stamp(ev),
    })  # fmt: skip


def _mismatch_resolved(ws: WorkingSet, ev: Event, e: MismatchResolved) -> None:
    old = ws.mismatches.get((ev.entity, e.ledger, e.key))
    if old is None or old["state"] != OPEN:
        return
    ws.mismatches.put({**old, "state": RESOLVED, "resolved_run_id": e.run_id, **_stamp(ev)})


# --------------------------------------------------------------------------- dispatch

#: how each event type changes the read models (each function takes its own type)
HANDLERS: dict[type[EventData], Handler] = {
    SourceRecordObserved: _observed,
    SourceRecordDeleted: _deleted,
    SourceRecordRejected: _rejected,
    LedgerPushRequested: _requested,
    LedgerPushSucceeded: _succeeded,
    LedgerPushFailed: _failed,
    LedgerPushAbandoned: _abandoned,
    RecordLinked: _linked,
    ReviewRequested: _review_requested,
    ReviewResolved: _review_resolved,
    ConflictSettled: _conflict_settled,
    RecordHeldForRollout: _held,
    LedgerRecordObserved: _ledger_observed,
    SourceStatusRefused: _status_refused,
    SourceStatusWritten: _status_written,
    MismatchDetected: _mismatch_detected,
    MismatchResolved: _mismatch_resolved,
}

#: event types the read models deliberately do not use. The audit module's own events
#: (``syncledger.audit.events``, category ``audit``) are not read either: it keeps its own
#: models (no personal data is held here, so a shredded subject key changes nothing in
#: these tables)
IGNORED: frozenset[type[EventData]] = frozenset({
    ReconciliationCompleted,  # run summary: the mismatches carry the state
    MappingVersionPublished,  # mapping versions are read from the pushes that used them
    LedgerConnected,  # `syncledger connect`: told by `syncledger connections`, not a record
    # a source's own bookkeeping: where its delta reads go on, which deliveries came in;
    # the records themselves arrive as SourceRecordObserved
    SourceCursorAdvanced, WebhookReceived, WebhookProcessed,
    # the invoice e-mail's own log (`syncledger sends`, core/delivery.py)
    InvoiceSendRequested, InvoiceSent, InvoiceSendFailed,
    RetryRequested,  # a command: its effect shows in the push events that follow
    ReflowRequested,  # the worker's own retry under a new mapping version: likewise
    RepushRequested,  # a command: the push (or link) that follows moves the record
    # the rollout scope in force, and a held record released by a wider one: the push
    # that follows moves the record (`syncledger trace` tells both)
    RolloutScopeChanged, RecordReleasedForRollout,
    ConflictDetected,  # shown by `syncledger conflicts`; the push outcome moves status
    InvoiceDisputed,  # its credit note is a record of its own, with its own pushes
    CustomerCreditRecorded,  # the payment's amount is in the balance already
    # customer details written back to the source (core/customer_reverse.py): the source's
    # next read arrives as SourceRecordObserved; the rest is told by `syncledger trace`
    CustomerDetailsObserved, CustomerDetailsWritten, CustomerFieldAuthorityApplied,
    # items the sync made in the ledger: told by `syncledger trace`, checked by the ledger
    LedgerItemRequested, LedgerItemCreated,
    # the writes of a multi-write push: its LedgerPushSucceeded settles the record (the
    # reconciler checks the applications); told by `syncledger trace`
    LedgerStepRequested, LedgerStepSucceeded,
    # finance alerts: `syncledger alerts` folds them from the log (core/alerts.AlertBook)
    *ALERT_EVENTS,
})  # fmt: skip

#: the classes the runner decodes (any other event is skipped unread)
HANDLED: tuple[type[EventData], ...] = tuple(HANDLERS)

_RECORD_TABLES = ("records", "sync_state", "errors", "unfoldable")
#: the tables (grouped by source record) each event type about a source record reads
_SOURCE_TABLES: dict[type[EventData], tuple[str, ...]] = {
    SourceRecordObserved: _RECORD_TABLES,
    SourceRecordDeleted: _RECORD_TABLES,
    SourceRecordRejected: _RECORD_TABLES,
    LedgerPushRequested: ("records", "sync_state"),
    LedgerPushSucceeded: ("records", "sync_state", "links", "errors"),
    RecordLinked: ("records", "sync_state", "links", "errors"),
    LedgerPushFailed: ("records", "sync_state"),
    LedgerPushAbandoned: ("records", "sync_state", "errors"),
    ReviewRequested: ("records", "sync_state", "errors"),
    ReviewResolved: ("errors",),
    ConflictSettled: ("records", "sync_state", "errors"),
    RecordHeldForRollout: ("records", "sync_state", "errors"),
    SourceStatusRefused: ("records", "errors"),
    SourceStatusWritten: ("errors",),
}


def apply(ws: WorkingSet, events: Iterable[Event | Broken]) -> list[Row]:
    """Fold ``events`` into ``ws``. An event that cannot be read or applied leaves no
    trace but its ``unfoldable`` row, and the fold goes on; return the rows recorded.
    Only :class:`~syncledger.projections.state.RowsUnavailable` (the database) stops it."""
    recorded: list[Row] = []
    for ev in events:
        broken = ev if isinstance(ev, Broken) else _apply_one(ws, ev)
        if broken is not None:
            recorded.append(_record_unfoldable(ws, broken))
    ws.mark()
    return recorded


def _apply_one(ws: WorkingSet, ev: Event) -> Broken | None:
    handler = handler_for(HANDLERS, ev.payload)
    if handler is None:
        return None
    ws.mark()
    try:
        handler(ws, ev, ev.payload)
    except RowsUnavailable:
        raise
    except Exception as exc:  # whatever the event holds, the fold goes on without it
        ws.undo()
        ref = _ref_or_none(ev.payload)
        return Broken(ev.seq, ev.subject, ev.type, ev.entity, ev.at, ref, _why(exc))
    return None


def _why(exc: Exception) -> str:
    """Why an event could not be applied, in words a person can act on."""
    if isinstance(exc, AmountOutOfRange):
        why = str(exc)
    elif isinstance(exc, ArithmeticError):
        why = (
            f"its amounts cannot be added exactly within {MONEY.prec} digits ({type(exc).__name__})"
        )
    else:
        why = f"{type(exc).__name__}: {exc}"
    return why[:_REASON_LIMIT]


def _record_unfoldable(ws: WorkingSet, broken: Broken) -> Row:
    row = {
        "entity": broken.entity, "seq": broken.seq, "event_type": broken.type,
        "subject": broken.subject, "source_ref": broken.source_ref or NO_SOURCE_REF,
        "reason": broken.reason, "recorded_at": broken.at, "superseded_seq": None,
    }  # fmt: skip
    ws.unfoldable.put(row)
    return row


def groups_needed(events: Iterable[Event | Broken]) -> dict[str, set[Group]]:
    """Groups of rows the fold of ``events`` reads, except balances (see below)."""
    needed: dict[str, set[Group]] = {}
    for ev in events:
        if isinstance(ev, Broken):
            continue
        for name, group in _groups_of(ev):
            needed.setdefault(name, set()).add(group)
    return needed


def _groups_of(ev: Event) -> list[tuple[str, Group]]:
    event = ev.payload
    tables = handler_for(_SOURCE_TABLES, event)
    if tables is not None:
        ref = _ref_or_none(event)
        return [] if ref is None else [(name, (ev.entity, ref)) for name in tables]
    match event:
        case MismatchDetected() | MismatchResolved():
            return [("mismatches", (ev.entity, event.key))]
        case LedgerRecordObserved():
            return [("ledger_records", (ev.entity, event.ledger_ref))]
    return []


def balance_groups(ws: WorkingSet, events: Iterable[Event | Broken]) -> set[Group]:
    """Customers whose balances the fold of ``events`` touches (records must be loaded):
    the customer of each new version, and of the version it replaces."""
    groups: set[Group] = set()
    for ev in events:
        event = None if isinstance(ev, Broken) else ev.payload
        if not isinstance(event, SourceRecordObserved | SourceRecordDeleted):
            continue
        if isinstance(event, SourceRecordObserved) and event.customer_ref is not None:
            groups.add((ev.entity, event.customer_ref))
        old = ws.records.get((ev.entity, event.ref))
        if old is not None and old["customer_ref"] is not None:
            groups.add((ev.entity, old["customer_ref"]))
    return groups
