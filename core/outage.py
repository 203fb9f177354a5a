"""A ledger out of reach: bounded waits that end in one line, and records abandoned during
an outage tried again by themselves once the ledger answers.

- :func:`check_ledger` asks the ledger one authenticated read (a record id no ledger
  gives) until it answers, for a bounded time. Any answer — even "no such record" or a
  refusal — proves the ledger is there and takes our credentials. Credentials no retry
  can fix (a broken token file, a refused client secret or refresh token) end it at
  once as a ``ConfigurationError`` naming what to set; silence for the whole wait is
  ``LedgerUnavailable``.
- :class:`OutageRetries` folds the log for pushes abandoned because the ledger was out of
  reach (``LedgerPushAbandoned.transient``: its attempts ran out on transient failures)
  and appends ``RetryRequested`` for each once the ledger answers again. ``syncledger
  run`` does this on a schedule; ``sync --once`` when it starts.
- :func:`waiting_records` counts what waits for the ledger, for the one line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from syncledger.core.decode import decode_wanted, read_json
from syncledger.core.errors import (
    AuthExpiredError,
    ConcurrencyError,
    ConfigurationError,
    LedgerError,
    LedgerUnavailable,
    TransientLedgerError,
    UndecodableEvent,
)
from syncledger.core.events import LedgerPushAbandoned, RetryRequested, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.ports import ANSWER_NOW, LedgerAdapter
from syncledger.core.store import EventStore
from syncledger.core.subjects import entity_filter, source_subject
from syncledger.core.sync import idempotency_key
from syncledger.core.sync_state import RecordState, SyncState

log = logging.getLogger(__name__)

#: the id asked for: no ledger numbers a record "0", so a healthy ledger answers "none"
PROBE_ID = "0"
#: between two asks while the ledger is silent
PROBE_PAUSE_S = 2.0
#: `run`: how often records abandoned during an outage are looked for
RETRY_EVERY_S = 30.0
#: `run`: how long one look waits for the ledger before trying again at its next turn
RETRY_PROBE_S = 10.0

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


# ---------------------------------------------------------------------- asking the ledger


@dataclass(frozen=True)
class LedgerSite:
    """Which ledger, in words for messages: ``name`` e.g. "QuickBooks Online at https://…"
    (URL masked), ``ledger`` its id, ``token_file`` where its OAuth tokens are kept."""

    name: str
    ledger: str
    token_file: Path | None = None

    def variable(self, what: str) -> str:
        return f"SYNCLEDGER_{self.ledger.upper().replace('-', '_')}_{what}"


async def check_ledger(
    adapter: LedgerAdapter,
    site: LedgerSite,
    *,
    within: float,
    pause: float = PROBE_PAUSE_S,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Return once the ledger answers; at most ``within`` seconds of asking.

    Raises ``ConfigurationError`` when the credentials cannot work (no retry would
    help) and ``LedgerUnavailable`` when the ledger stayed silent for the whole wait."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        remaining = within - (loop.time() - started)
        silence = await _ask(adapter, site, max(remaining, 0.1))
        if silence is None:
            return
        waited = loop.time() - started
        if waited + pause >= within:
            raise LedgerUnavailable(
                f"{site.name} did not answer for {max(waited, within):.0f} s ({silence})"
            )
        await sleep(pause)


async def _ask(adapter: LedgerAdapter, site: LedgerSite, within: float) -> str | None:
    """One authenticated read: None when the ledger answered, else why it did not."""
    asking = ANSWER_NOW.set(True)  # a throttled answer comes back, not waited out
    try:
        async with asyncio.timeout(within):
            await adapter.get("customer", PROBE_ID)
    except TimeoutError:
        return f"no answer within {within:.0f} s"
    except AuthExpiredError as exc:
        raise auth_failure(site, exc) from exc
    except ConfigurationError as exc:
        raise auth_failure(site, exc) from exc
    except TransientLedgerError as exc:
        if exc.retry_after is not None:
            return None  # it answered: "slow down" (throttled) is an answer
        return str(exc)
    except LedgerError:
        return None  # a refusal is an answer: the ledger is there and let us in
    finally:
        ANSWER_NOW.reset(asking)
    return None


def auth_failure(site: LedgerSite, error: LedgerError | ConfigurationError) -> ConfigurationError:
    """The one line for credentials that cannot work: what was wrong, what to set."""
    code = error.code if isinstance(error, LedgerError) else None
    return ConfigurationError(f"cannot authenticate to {site.name}: {error}{_hint(site, code)}")


def _hint(site: LedgerSite, code: str | None) -> str:
    if code in ("invalid_client", "unauthorized_client"):
        return f" ({site.variable('CLIENT_ID')}, {site.variable('CLIENT_SECRET')})"
    if code in ("invalid_grant", "no_grant") and site.token_file is not None:
        return (
            f"; then set {site.variable('REFRESH_TOKEN')} to the new refresh token and "
            f"delete {site.token_file}"
        )
    return ""


# ---------------------------------------------------------------------- what waits


def waits_for_ledger(rec: RecordState, ledger: str, outage_keys: set[str]) -> bool:
    """Whether the record's latest version still has to reach the ledger by itself: not
    pushed yet, and neither refused (except while it waits on a dependency), nor waiting
    for a person, nor given up for a reason other than an outage."""
    if rec.observed_sha is None or rec.deleted or rec.observed_sha == rec.pushed_sha:
        return False
    if rec.review_key is not None:
        return False
    if rec.observed_sha == rec.rejected_sha:
        return rec.waiting_on is not None
    if rec.abandoned_key is None or rec.abandoned_key in outage_keys:
        return True
    return rec.abandoned_key != idempotency_key(rec.source_ref, rec.observed_sha, ledger)


def waiting_records(state: SyncState, outage_keys: set[str] | None = None) -> list[str]:
    keys = outage_keys or set()
    return sorted(
        ref for ref, rec in state.records.items() if waits_for_ledger(rec, state.ledger, keys)
    )


# ---------------------------------------------------------------------- retrying


@dataclass
class OutageRetries:
    """The sync state of one entity+ledger plus its pushes abandoned by an outage, kept
    current from the log; asks for those records to be tried again."""

    store: EventStore
    entity: str
    ledger: str
    actor: str
    state: SyncState = field(init=False)
    #: source ref → idempotency key of its latest abandonment caused by an outage
    abandoned: dict[str, str] = field(default_factory=dict)
    last_seq: int = 0

    def __post_init__(self) -> None:
        self.state = SyncState(self.entity, self.ledger)

    async def catch_up(self) -> None:
        """Fold what the log gained since the last call (source and this ledger's events)."""
        patterns = (
            entity_filter(self.entity, "source"),
            entity_filter(self.entity, "ledger", self.ledger),
        )
        found = [s for p in patterns async for s in self.store.read(p, self.last_seq + 1)]
        for stored in sorted(found, key=lambda s: s.seq):
            self.last_seq = max(self.last_seq, stored.seq)
            try:
                event = read_json(stored.raw)
            except UndecodableEvent:
                log.warning("event at sequence %d is not JSON; skipped", stored.seq)
                continue
            self.state.apply(stored.seq, stored.subject, event)
            self._note(event)

    def _note(self, doc: Any) -> None:
        """Keep track of the pushes abandoned on this ledger because it was out of reach."""
        try:
            event = decode_wanted(doc, (LedgerPushAbandoned,))
        except UndecodableEvent:
            return  # logged by the state's fold
        if not isinstance(event, LedgerPushAbandoned) or event.ledger != self.ledger:
            return
        if event.transient:
            self.abandoned[event.source_ref] = event.idempotency_key
        else:
            self.abandoned.pop(event.source_ref, None)

    def outage_keys(self) -> set[str]:
        return set(self.abandoned.values())

    def pending(self) -> list[str]:
        """Records whose latest version's push is still abandoned because of an outage (a
        retry since cleared it; a newer version goes to the ledger by itself)."""
        return sorted(ref for ref, key in self.abandoned.items() if self._still(ref, key))

    def _still(self, ref: str, key: str) -> bool:
        rec = self.state.records.get(ref)
        if rec is None or rec.abandoned_key != key or rec.observed_sha is None:
            return False
        return key == idempotency_key(ref, rec.observed_sha, self.ledger)

    def waiting(self) -> list[str]:
        return waiting_records(self.state, self.outage_keys())

    async def request(self) -> list[str]:
        """Append ``RetryRequested`` for every record abandoned by an outage (the ledger
        answers again). A record another process asked for first is left to it."""
        await self.catch_up()
        asked = [ref for ref in self.pending() if await self._ask_retry(ref)]
        if asked:
            log.warning(
                "the %s ledger answers again: %d records abandoned while it was out of "
                "reach are tried again",
                self.ledger,
                len(asked),
            )
        return asked

    async def _ask_retry(self, ref: str) -> bool:
        subject = source_subject(self.entity, RecordRef.parse(ref))
        payload = RetryRequested(
            ref=ref,
            ledger=self.ledger,
            reason="the ledger answers again after an outage that abandoned this push",
        )
        envelope = make_envelope(payload, entity=self.entity, subject=subject, actor=self.actor)
        try:
            await self.store.append(
                [envelope], expect={subject: self.state.subject_seq.get(subject, 0)}
            )
        except ConcurrencyError:
            return False  # the record changed or was retried meanwhile: nothing to add
        return True


@dataclass
class OutageWatch:
    """``syncledger run``'s job: when records wait because of an outage, ask the ledger;
    once it answers, ask for them to be tried again. One warning per outage, not one per
    turn."""

    retries: OutageRetries
    adapter: LedgerAdapter
    site: LedgerSite
    probe_s: float = RETRY_PROBE_S
    _silent: bool = False

    async def turn(self) -> list[str]:
        await self.retries.catch_up()
        pending = self.retries.pending()
        if not pending:
            return []
        try:
            await check_ledger(self.adapter, self.site, within=self.probe_s)
        except LedgerUnavailable as exc:
            if not self._silent:
                log.warning(
                    "%s; %d records wait and will be pushed when it is back",
                    exc,
                    len(pending),
                )
            self._silent = True
            return []
        self._silent = False
        return await self.retries.request()


# ---------------------------------------------------------------------- a bounded run


@dataclass
class Stall:
    """Whether a run still gets somewhere: the time of its last outcome that was not a
    retry. ``watch`` asks the ledger whenever nothing moved for ``stall_s`` and ends the
    run with the answer's one line when the ledger is gone or refuses us."""

    ask: Callable[[], Awaitable[None]]  # check_ledger, bound to its ledger and wait
    stall_s: float
    last: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.last = asyncio.get_running_loop().time()

    def saw(self, status: str) -> None:
        if status != "retry":
            self.last = asyncio.get_running_loop().time()

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(self.last + self.stall_s - loop.time(), 0.0) + 0.1)
            if loop.time() - self.last >= self.stall_s:
                await self.ask()  # raises when the ledger is gone or refuses us
                self.last = loop.time()


async def run_watched(work: Awaitable[T], watch: Awaitable[None]) -> T:
    """``work``'s result; if ``watch`` raises first, ``work`` is cancelled (its cleanup
    runs) and ``watch``'s error is raised instead."""
    task = asyncio.ensure_future(work)
    guard = asyncio.ensure_future(watch)
    try:
        await asyncio.wait({task, guard}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (guard, task):
            pending.cancel()
        await asyncio.gather(task, guard, return_exceptions=True)
    stopped = None if guard.cancelled() else guard.exception()
    if stopped is not None:
        raise stopped
    return task.result()
