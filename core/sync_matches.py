"""Customer matches read for a whole batch: the batch's new customers (no ledger link yet)
are matched in one ``CustomerBatchMatcher.match_customers`` call before the batch is
handled, and each one's match before its create (``sync_reviews``) is served from that
answer instead of a ``match_customer`` request of its own.

Match-before-create stays as strict as one request per customer:

- an answer is served once, only for the very customer it was read for (a later version
  of the record in the same batch asks the ledger again), and only within ``MAX_AGE_S``
  of the read;
- before the batch writes a customer (a create, an update), the answers of the
  batch-mates that share a match key with it are dropped: the same name (case and
  spacing aside, ``name_key``), e-mail (case aside) or tax id (``tax_key``); for an
  update, also every answer naming that ledger customer. Those batch-mates are matched
  one by one after the write, so they see it. The ledger's rules must be equality on
  those keys (``core.ports.CustomerBatchMatcher``);
- a batch read that fails is logged and forgotten: every customer is matched one by one,
  as for a ledger without the capability.

What goes unseen for up to ``MAX_AGE_S``: a customer someone else adds to the ledger
between the batch read and a batch-mate's create (one request per customer leaves the
same gap, shorter). Linking writes nothing to the ledger, so it drops nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from syncledger.core.decode import Decoded, decode_json, read_json
from syncledger.core.errors import KeyStoreError, LedgerError, UndecodableEvent
from syncledger.core.events import SourceRecordObserved
from syncledger.core.model import Customer, RecordRef
from syncledger.core.pii_names import name_key
from syncledger.core.ports import CustomerBatchMatcher, LedgerRecord
from syncledger.core.review_match import tax_key
from syncledger.core.sync_state import SyncState

log = logging.getLogger(__name__)

MAX_AGE_S = 60.0
#: the customer a source event asks to push, as the ledger would take it; None when it is
#: refused (the handler says why) or its personal data cannot be read
Judge = Callable[[Decoded], Customer | None]


def new_customers(
    items: Sequence[tuple[int, str, bytes]], state: SyncState, judge: Judge
) -> dict[str, Customer]:
    """The batch's customers without a ledger link, by source ref: of a record with
    several versions in the batch, the one its handler will match (the latest the state
    has folded, else the first)."""
    chosen: dict[str, Decoded] = {}
    for _seq, _subject, raw in items:
        decoded = _new_customer_event(raw, state)
        if decoded is None or not isinstance(decoded.event, SourceRecordObserved):
            continue
        ref, rec = decoded.event.ref, state.records.get(decoded.event.ref)
        if ref not in chosen or (rec and rec.observed_sha == decoded.event.content_sha256):
            chosen[ref] = decoded
    found: dict[str, Customer] = {}
    for ref, decoded in chosen.items():
        try:
            customer = judge(decoded)
        except KeyStoreError:
            continue  # the handler says what is wrong with it
        if customer is not None:
            found[ref] = customer
    return found


def _new_customer_event(raw: bytes, state: SyncState) -> Decoded | None:
    try:
        stored = read_json(raw)
        if stored.get("type") != SourceRecordObserved.__name__:
            return None
        ref = str(stored["data"]["ref"])
        if RecordRef.parse(ref).kind != "customer":
            return None
        rec = state.records.get(ref)
        if rec is not None and (rec.ledger_ref is not None or rec.deleted):
            return None
        return decode_json(stored, raw)
    except (UndecodableEvent, AttributeError, KeyError, TypeError, ValueError):
        return None  # the handler says what is wrong with it


def match_keys(customer: Customer) -> frozenset[tuple[str, str]]:
    """What a ledger may match this customer by: name, e-mail, tax id (normalised)."""
    keys = {
        ("name", name_key(customer.name) or ""),
        ("email", (customer.email or "").strip().casefold()),
        ("tax_id", tax_key(customer.tax_id or "")),
    }
    return frozenset(key for key in keys if key[1])


class BatchMatches:
    """The batch's match answers by source ref, each served once while fresh."""

    def __init__(
        self, max_age: float = MAX_AGE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_age = max_age
        self._clock = clock
        self._read_at = 0.0
        self._kept: dict[str, tuple[Customer, list[LedgerRecord]]] = {}

    async def read(self, ledger: object, customers: Mapping[str, Customer]) -> None:
        """Ask a ``CustomerBatchMatcher`` ledger for the matches of ``customers``."""
        self.clear()
        if not customers or not isinstance(ledger, CustomerBatchMatcher):
            return
        try:
            answer = await ledger.match_customers(customers)
        except LedgerError as exc:  # its message may quote the names asked: not logged
            failed = f"{type(exc).__name__} {exc.code or ''}".strip()
            log.info("batch match of %d customers failed (%s): one by one", len(customers), failed)
            return
        self._read_at = self._clock()
        for ref, found in answer.items():
            if ref in customers:
                self._kept[ref] = (customers[ref], list(found))

    def take(self, ref: str, customer: Customer) -> list[LedgerRecord] | None:
        """The ledger's answer for this customer, or None: not read (or already served,
        or dropped), read for another version of it, or too old. Then ask the ledger."""
        kept = self._kept.pop(ref, None)
        if kept is None or kept[0] != customer:
            return None
        return kept[1] if self._clock() - self._read_at <= self._max_age else None

    def writing(self, customer: Customer, ledger_id: str | None = None) -> None:
        """The batch is about to create (or update, ``ledger_id``) this customer: drop
        the answers it may change."""
        keys = match_keys(customer)
        for ref, (mate, found) in list(self._kept.items()):
            named = ledger_id is not None and any(r.ledger_id == ledger_id for r in found)
            if named or keys & match_keys(mate):
                del self._kept[ref]

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
