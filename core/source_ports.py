"""The source side's ports (DESIGN §7): what the pipeline needs from a source system.

A source (a CSV folder, HubSpot, Jobber, a signed-webhook sender, Google Contacts) is one
package under ``adapters/`` registered in ``adapters/sources/registry.py``; the pipeline
names none of them. A source offers:

* **delta reads** (:class:`SourceReader`, every source): ``read_changes(cursor)`` returns
  the changes after an opaque cursor, one page at a time, and the cursor to read from
  next. The pipeline appends the page's records to the log first and the cursor
  (``SourceCursorAdvanced``) after them, so a crash between the two re-reads a page whose
  versions the log already holds (ingest skips unchanged content): nothing is lost and
  nothing is doubled;
* **webhooks** (:class:`WebhookReceiver`, optional): ``verify(request)`` checks the
  sender's signature and freshness and says which records the delivery is about. A
  webhook is a hint: records named by id are re-read through the API
  (:class:`RecordFetcher`) before they are trusted; a body that *is* the record, signed
  by a sender that has no API (Standard Webhooks), is the record;
* **write-back** (:class:`StatusWriter`, optional): payment status from the ledger onto
  the source record, with what became of each (:class:`WriteBackOutcome`: written,
  refused for a reason that retrying does not change, or not attempted), so one record
  the source no longer has never blocks the others;
* **customer details back** (:class:`CustomerDetailsWriter`, optional): the customer
  details the ledger owns (``customer_field_authority``) onto the source's customer
  record (``core/customer_reverse.py``).

Adapters raise :class:`~syncledger.core.errors.SourceError` (and :class:`WebhookRefused`
for a delivery that must not reach the log); nothing else crosses this boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from syncledger.core.customer_details import AddressParts
from syncledger.core.errors import SourceError
from syncledger.core.ports import SourceItem

__all__ = [
    "CustomerDetailsRefusal",
    "CustomerDetailsUpdate",
    "CustomerDetailsWriter",
    "RecordFetcher",
    "RecordHint",
    "RefusalReason",
    "SourceChanges",
    "SourceItem",
    "SourceReader",
    "StatusUpdate",
    "StatusWriter",
    "WebhookDelivery",
    "WebhookReceiver",
    "WebhookRefused",
    "WebhookRequest",
    "WriteBackOutcome",
    "WriteBackResult",
]


@dataclass(frozen=True, slots=True)
class SourceChanges:
    """One delta read: records changed after the cursor it was asked with, in dependency
    order (customers before the documents naming them), and where the next read starts.

    ``cursor`` is opaque text only its source reads; ``None`` means "the same cursor
    again" (nothing new). ``more`` says another read would return more at once (a page
    limit or a search cap cut this one short)."""

    items: tuple[SourceItem, ...]
    cursor: str | None
    more: bool = False


@runtime_checkable
class SourceReader(Protocol):
    """Delta reads with a durable cursor: every source has them."""

    system: str

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        """The changes after ``cursor`` (None: a backfill from the beginning)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An inbound HTTP request as the sender signed it.

    ``url`` is the full URL the sender posted to (scheme, host, path and query: HubSpot
    signs it); ``headers`` has lower-case names; ``body`` is the raw bytes, never a
    re-encoding; ``received_at`` is when it arrived (UTC), against which staleness is
    judged."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class RecordHint:
    """A record a webhook says changed, in the source's canonical terms (``kind`` is
    ``customer``, ``invoice``, …; ``id`` the source's id), to re-read before trusting."""

    kind: str
    id: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """A verified delivery: the sender's delivery id (the same on every retry: the
    dedupe key) and what it is about — hints to re-read, or records the signed body
    carries itself."""

    delivery_id: str
    hints: tuple[RecordHint, ...] = ()
    items: tuple[SourceItem, ...] = ()


RefusalReason = Literal["unsigned", "bad_signature", "stale", "malformed", "unknown_sender"]


class WebhookRefused(SourceError):
    """A delivery that must not reach the log. ``reason`` is a metric label; the message
    says what the sender (or its operator) should check and never holds a secret."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason: RefusalReason = reason


@runtime_checkable
class WebhookReceiver(Protocol):
    """A source that receives signed webhooks."""

    def verify(self, request: WebhookRequest) -> WebhookDelivery:
        """The delivery when its signature holds and it is fresh; else
        :class:`WebhookRefused`. Pure: no I/O, so ``serve`` answers in time."""
        ...


@runtime_checkable
class RecordFetcher(Protocol):
    """A source whose records can be re-read by id (a webhook's hints)."""

    async def fetch(self, hints: Sequence[RecordHint]) -> list[SourceItem]:
        """The current version of each hinted record the source still has; a deleted
        one comes back as an item with ``deleted=True``."""
        ...


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """Payment status of one source document as the ledger holds it."""

    source_ref: str
    ledger: str
    status: str  # "open", "paid", "partially_paid", "void"
    currency: str | None
    total: Decimal | None
    balance: Decimal | None
    ledger_number: str | None  # the ledger's document number
    ledger_id: str
    link: str | None  # where a person opens it in the ledger, when the platform has one
    at: datetime | None  # when the ledger changed it

    @property
    def amount_paid(self) -> Decimal | None:
        if self.total is None or self.balance is None:
            return None
        return self.total - self.balance


WriteBackResult = Literal["written", "refused", "not_attempted"]


@dataclass(frozen=True, slots=True)
class WriteBackOutcome:
    """What became of one :class:`StatusUpdate`.

    ``written``: the source holds the status. ``refused``: the source will not take it and
    sending it again would not change that (the record is gone, the documents disagree);
    ``code`` says why (``core/reason_codes.py`` WRITE_BACK_HELP) and ``message`` is one
    line naming the record, never a secret or personal data. ``not_attempted``: not
    written this time for a reason that may pass (a timeout, a rate limit, a batch cut
    short); it is written again on the next run."""

    source_ref: str
    result: WriteBackResult
    code: str | None = None
    message: str = ""

    @classmethod
    def written(cls, source_ref: str) -> WriteBackOutcome:
        return cls(source_ref, "written")

    @classmethod
    def refused(cls, source_ref: str, *, code: str, message: str) -> WriteBackOutcome:
        return cls(source_ref, "refused", code, _one_line(message))

    @classmethod
    def not_attempted(cls, source_ref: str, message: str = "") -> WriteBackOutcome:
        return cls(source_ref, "not_attempted", None, _one_line(message))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


@runtime_checkable
class StatusWriter(Protocol):
    """A source that takes payment status written back. Writing the same update twice
    leaves the source as once (write-back is retried after a crash)."""

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        """Write ``updates``; what became of each (by ``source_ref``). An update given no
        outcome counts as not attempted. Raising counts every one of them as not attempted
        (some may be written: writing them again leaves the source as once)."""
        ...


@dataclass(frozen=True, slots=True)
class CustomerDetailsUpdate:
    """Customer details the ledger owns, for one source customer record: ``values`` maps
    a canonical field (``email``, ``phone``, ``billing_address``) to the ledger's value;
    ``address``: the parts of the billing address to write (the ones the bookkeeper changed;
    None: the ledger does not hold it in parts, and it is not written). Personal data:
    never logged, never put in an exception's message."""

    source_ref: str
    ledger: str
    values: Mapping[str, str]
    address: AddressParts | None = None


@dataclass(frozen=True, slots=True)
class CustomerDetailsRefusal:
    """A field the source cannot take for that record: ``reason`` is a code
    (``not_writable``, ``not_mapped``, ``composite``, ``free_text``, ``no_parts``,
    ``no_property``, ``not_found``, ``not_ours``, ``refused``), ``message`` says why
    without the value."""

    source_ref: str
    field: str
    reason: str
    message: str


@runtime_checkable
class CustomerDetailsWriter(Protocol):
    """A source that takes customer details written back. Writing the same update twice
    leaves the record as once (it is written again after a crash before its mark)."""

    async def write_customer_details(
        self, updates: Sequence[CustomerDetailsUpdate]
    ) -> list[CustomerDetailsRefusal]:
        """Write ``updates``; return the fields not written (every other field was)."""
        ...
