"""Finance alerts: raised once, delivered durably, never lost, told once (DESIGN §10).

Every step is an event on the alert's own subject
(``sl.<entity>.alert.<channel>.alert.<alert_id>``):

1. ``AlertRaised`` — the subject's first event, appended only if the subject is empty, so
   two processes (or a redelivered message) raising the same alert store it once. The
   ``alert_id`` is derived from the channel and the event it tells (``core/alert_rules.py``);
2. ``AlertAttemptStarted`` — appended only if nothing else was written on the subject
   since this process read it, so two processes never attempt one alert at once;
3. the channel is asked (``core/alert_ports.py``); then ``AlertDelivered``, or
   ``AlertAttemptFailed`` with the time of the next try, or ``AlertParked``.

Retries follow the schedule of SOURCES §4.5 (Svix): immediately, 5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 10 h — eight attempts over about 27.5 h, later when the receiver asks for it
(``Retry-After``), with up to 10 % jitter on delays of a minute or more. An attempt with no
outcome (the process stopped mid-post) counts as failed once its timeout has passed, and
the alert is tried again **with the same ``alert_id``**: a receiver that deduplicates on it
(Standard Webhooks ``webhook-id``, the e-mail ``Message-ID``) sees the alert once; Slack
and Teams take no such key, so an interrupted post can show there twice (at least once).

When attempts run out, or the receiver refuses the message for good, the alert is
**parked** (the dead-letter list of ``syncledger alerts``), never dropped;
``syncledger alerts replay`` starts it over. An endpoint that says it is gone (HTTP 410, a
revoked Slack webhook) parks its whole channel until a replay resumes it.

A mismatch alert held back by ``open_longer_than`` (or waiting for the daily digest) is
withdrawn (``AlertWithdrawn``) when the reconciler clears the mismatch first.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from syncledger.core.alert_config import DEFAULT_RETRY_DELAYS_S, AlertChannelConfig
from syncledger.core.alert_ports import (
    AlertChannel,
    AlertField,
    AlertItem,
    AlertMessage,
    AlertNotDelivered,
    Severity,
)
from syncledger.core.alert_rules import draft_for, raised_for, told_types, wanted_by
from syncledger.core.decode import decode, read_wanted
from syncledger.core.errors import ConcurrencyError, UndecodableEvent
from syncledger.core.events import (
    AlertAttemptFailed,
    AlertAttemptStarted,
    AlertChannelParked,
    AlertChannelResumed,
    AlertDelivered,
    AlertLine,
    AlertParked,
    AlertRaised,
    AlertReplayRequested,
    AlertWithdrawn,
    EventData,
    MismatchDetected,
    MismatchResolved,
    make_envelope,
    subject_for,
)
from syncledger.core.ids import uuid7
from syncledger.core.metrics import count_alert
from syncledger.core.store import EventStore, StoredEvent
from syncledger.core.subjects import entity_filter

log = logging.getLogger(__name__)

DEFAULT_DELAYS_S = DEFAULT_RETRY_DELAYS_S
#: an attempt with no outcome this long after its channel's timeout was interrupted
INTERRUPTED_AFTER_S = 10.0
_SEVERITY_ORDER: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}


def alert_subject(entity: str, channel: str, alert_id: str) -> str:
    return subject_for(entity, "alert", channel, "alert", alert_id)


def channel_subject(entity: str, channel: str) -> str:
    return subject_for(entity, "alert", channel, "channel", "state")


@dataclass
class AlertState:
    """One alert to one channel, as the log tells it."""

    raised: AlertRaised
    raised_at: datetime
    seq: int = 0  # the last sequence on its subject
    attempts: int = 0
    started_at: datetime | None = None  # an attempt began and has no outcome yet
    retry_at: datetime | None = None
    delivered_at: datetime | None = None
    parked: str | None = None
    withdrawn: str | None = None
    last_reason: str | None = None
    digest: str | None = None  # the digest that tells it

    @property
    def alert_id(self) -> str:
        return self.raised.alert_id

    @property
    def channel(self) -> str:
        return self.raised.channel

    @property
    def done(self) -> bool:
        """Nothing more will be tried without a person asking (delivered, parked,
        withdrawn, or told by a digest)."""
        told = self.delivered_at is not None or self.digest is not None
        return told or self.parked is not None or self.withdrawn is not None

    def status(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        if self.withdrawn is not None:
            return "withdrawn"
        if self.parked is not None:
            return "parked"
        if self.digest is not None:
            return "in digest"
        return "pending"


@dataclass
class AlertBook:
    """Every alert of one entity, folded from the log as it grows."""

    entity: str
    alerts: dict[str, AlertState] = field(default_factory=dict)
    parked_channels: dict[str, str] = field(default_factory=dict)
    channel_seq: dict[str, int] = field(default_factory=dict)
    open_mismatches: dict[str, str] = field(default_factory=dict)  # key → type
    mismatch_types: dict[str, str] = field(default_factory=dict)  # every key seen
    _alert_seq: int = 0
    _recon_seq: int = 0

    async def catch_up(self, store: EventStore) -> None:
        async for stored in store.read(entity_filter(self.entity, "recon"), self._recon_seq + 1):
            self._recon_seq = stored.seq
            self._fold_recon(read_wanted(stored.raw, (MismatchDetected, MismatchResolved)))
        async for stored in store.read(entity_filter(self.entity, "alert"), self._alert_seq + 1):
            self._alert_seq = stored.seq
            self._fold_alert(stored)

    def _fold_recon(self, event: EventData | None) -> None:
        if isinstance(event, MismatchDetected):
            self.open_mismatches[event.key] = event.mismatch_type
            self.mismatch_types[event.key] = event.mismatch_type
        elif isinstance(event, MismatchResolved):
            self.open_mismatches.pop(event.key, None)

    def _fold_alert(self, stored: StoredEvent) -> None:
        try:
            decoded = decode(stored.raw)
        except UndecodableEvent as exc:
            log.warning("alert event %s does not read (%s); passed over", stored.seq, exc)
            return
        event, at = decoded.event, decoded.envelope.recorded_at
        if isinstance(event, AlertChannelParked | AlertChannelResumed):
            self.channel_seq[event.channel] = stored.seq
            if isinstance(event, AlertChannelParked):
                self.parked_channels[event.channel] = event.reason
            else:
                self.parked_channels.pop(event.channel, None)
            return
        if isinstance(event, AlertRaised):
            self.alerts.setdefault(event.alert_id, AlertState(event, at))
            for member in event.members:
                if member in self.alerts:
                    self.alerts[member].digest = event.alert_id
        state = self.alerts.get(getattr(event, "alert_id", ""))
        if state is None:
            return
        state.seq = stored.seq
        _apply(state, event, at)


def _apply(state: AlertState, event: EventData, at: datetime) -> None:
    match event:
        case AlertAttemptStarted():
            state.attempts, state.started_at = event.attempt, at
        case AlertDelivered():
            state.delivered_at, state.started_at = at, None
        case AlertAttemptFailed():
            state.started_at, state.retry_at = None, event.retry_at
            state.last_reason = event.reason
        case AlertParked():
            state.parked, state.started_at = event.reason, None
        case AlertWithdrawn():
            state.withdrawn = event.reason
        case AlertReplayRequested():
            state.attempts, state.started_at, state.retry_at = 0, None, None
            state.delivered_at = state.parked = None


@dataclass
class TurnReport:
    raised: int = 0
    delivered: int = 0
    failed: int = 0
    parked: int = 0
    withdrawn: int = 0

    def text(self) -> str:
        return (
            f"alerts: {self.raised} raised, {self.delivered} delivered, {self.failed} to be "
            f"tried again, {self.parked} parked, {self.withdrawn} withdrawn"
        )


Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlertDesk:
    """Raises alerts from the log and delivers them (module docstring)."""

    def __init__(
        self,
        store: EventStore,
        *,
        entity: str,
        actor: str,
        configs: Sequence[AlertChannelConfig],
        channels: Mapping[str, AlertChannel],
        delays: Sequence[float] = DEFAULT_DELAYS_S,
        clock: Clock = _utcnow,
    ) -> None:
        self._store, self._entity, self._actor = store, entity, actor
        self._configs = {c.name: c for c in configs}
        self._channels = channels
        self._delays = tuple(delays)
        self._clock = clock
        self.book = AlertBook(entity)
        self._raised = 0  # since the last turn's report

    # ------------------------------------------------------------------ raising

    async def raise_for(self, items: Iterable[StoredEvent]) -> int:
        """Raise what each stored event tells, once per channel that wants it."""
        raised = 0
        for stored in items:
            event = read_wanted(stored.raw, told_types())
            if event is None:
                continue
            if isinstance(event, MismatchDetected):
                self.book.mismatch_types[event.key] = event.mismatch_type
            draft = draft_for(stored.envelope(), event, self.book.mismatch_types)
            if draft is None:
                continue
            for config in self._configs.values():
                if wanted_by(config, draft, self._entity):
                    raised += await self._raise(raised_for(config, draft))
        return raised

    async def _raise(self, alert: AlertRaised) -> int:
        subject = alert_subject(self._entity, alert.channel, alert.alert_id)
        envelope = make_envelope(
            alert, entity=self._entity, subject=subject, actor=self._actor, event_id=uuid7()
        )
        try:
            await self._store.append([envelope], {subject: 0})
        except ConcurrencyError:  # raised before (another process, a redelivery)
            return 0
        self._raised += 1
        return 1

    # ------------------------------------------------------------------ delivering

    async def turn(self) -> TurnReport:
        """One pass: collect due digests, then try every alert that is due."""
        report = TurnReport()
        await self.book.catch_up(self._store)
        now = self._clock()
        if await self._digests(now):
            await self.book.catch_up(self._store)
        report.raised, self._raised = self._raised, 0
        for state in list(self.book.alerts.values()):
            if not state.done:
                await self._consider(state, now, report)
        return report

    async def _consider(self, state: AlertState, now: datetime, report: TurnReport) -> None:
        config, channel = self._configs.get(state.channel), self._channels.get(state.channel)
        if config is None or channel is None:
            return  # its channel is no longer configured: it waits, listed as pending
        if state.channel in self.book.parked_channels:
            why = self.book.parked_channels[state.channel]
            await self._append(state, AlertParked(**_ids(state), reason=f"channel parked: {why}"))
            report.parked += 1
            return
        if await self._withdraw_if_cleared(state, report):
            return
        raised = state.raised
        if raised.not_before is not None and raised.not_before > now:
            return
        if raised.in_digest:
            return  # the channel's digest tells it
        if state.started_at is not None:
            if now - state.started_at < timedelta(seconds=config.timeout_s + INTERRUPTED_AFTER_S):
                return  # another process is attempting it right now
            reason = "interrupted: the attempt recorded no outcome (the process stopped)"
            await self._failed(state, state.attempts, AlertNotDelivered(reason), now, report)
            return
        if state.retry_at is not None and state.retry_at > now:
            return
        await self._attempt(state, channel, now, report)

    async def _withdraw_if_cleared(self, state: AlertState, report: TurnReport) -> bool:
        key = state.raised.mismatch_key
        if state.raised.topic != "mismatch" or key is None or key in self.book.open_mismatches:
            return False
        if key not in self.book.mismatch_types:
            return False  # the mismatch's own event is not read yet
        reason = "the mismatch was cleared before the alert went out"
        await self._append(state, AlertWithdrawn(**_ids(state), reason=reason))
        report.withdrawn += 1
        count_alert(state.channel, "withdrawn")
        return True

    async def _attempt(
        self, state: AlertState, channel: AlertChannel, now: datetime, report: TurnReport
    ) -> bool:
        attempt = state.attempts + 1
        started = AlertAttemptStarted(**_ids(state), attempt=attempt)
        try:
            await self._append(state, started, expect=state.seq)
        except ConcurrencyError:  # another process wrote on it since: it has it
            return False
        try:
            await channel.deliver(self.message(state))
        except AlertNotDelivered as exc:
            await self._failed(state, attempt, exc, now, report)
            return False
        except Exception as exc:  # a bug in a channel must not stop the others
            log.exception("alert %s: channel %s failed", state.alert_id, state.channel)
            failure = AlertNotDelivered(f"channel error: {type(exc).__name__}")
            await self._failed(state, attempt, failure, now, report)
            return False
        await self._append(state, AlertDelivered(**_ids(state), attempt=attempt))
        report.delivered += 1
        count_alert(state.channel, "delivered")
        return True

    async def _failed(
        self,
        state: AlertState,
        attempt: int,
        exc: AlertNotDelivered,
        now: datetime,
        report: TurnReport,
        *,
        retry: bool = True,
    ) -> None:
        ids = _ids(state)
        delay = self._delay(attempt, exc.retry_after) if retry else None
        if exc.gone or exc.permanent or delay is None:
            await self._append(state, AlertAttemptFailed(**ids, attempt=attempt, reason=exc.reason))
            why = (
                exc.reason
                if exc.gone or exc.permanent or not retry
                else (f"no success after {attempt} attempts; last: {exc.reason}")
            )
            await self._append(state, AlertParked(**ids, reason=why))
            if exc.gone:
                await self._park_channel(state.channel, exc.reason)
            report.parked += 1
            count_alert(state.channel, "parked")
            log.warning("alert %s to %s parked: %s", state.alert_id, state.channel, why)
            return
        retry_at = now + timedelta(seconds=delay)
        failed = AlertAttemptFailed(**ids, attempt=attempt, reason=exc.reason, retry_at=retry_at)
        await self._append(state, failed)
        report.failed += 1
        count_alert(state.channel, "failed")

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before attempt ``attempt + 1``; None when the attempts ran out."""
        if attempt > len(self._delays):
            return None
        base = max(self._delays[attempt - 1], retry_after or 0.0)
        if base < 60:
            return base
        spread = int.from_bytes(hashlib.sha256(f"{attempt}{uuid7()}".encode()).digest()[:2])
        return base * (1 + 0.1 * spread / 65535)

    async def _park_channel(self, channel: str, reason: str) -> None:
        if channel in self.book.parked_channels:
            return
        subject = channel_subject(self._entity, channel)
        envelope = make_envelope(
            AlertChannelParked(channel=channel, reason=reason),
            entity=self._entity,
            subject=subject,
            actor=self._actor,
        )
        await self._store.append([envelope])
        self.book.parked_channels[channel] = reason

    # ------------------------------------------------------------------ digests

    async def _digests(self, now: datetime) -> int:
        raised = 0
        for config in self._configs.values():
            if config.digest != "daily":
                continue
            cutoff = datetime.combine(now.date(), config.digest_at, UTC)
            digest_id = f"dg_{config.name}_{now:%Y%m%d}"
            if now < cutoff or digest_id in self.book.alerts:
                continue
            members = await self._digest_members(config.name, now)
            if members:
                raised += await self._raise(self._digest(config.name, digest_id, members, now))
        return raised

    async def _digest_members(self, channel: str, now: datetime) -> list[AlertState]:
        out = []
        for state in list(self.book.alerts.values()):
            raised = state.raised
            if raised.channel != channel or not raised.in_digest or state.done:
                continue
            if await self._withdraw_if_cleared(state, TurnReport()):
                continue
            if raised.not_before is None or raised.not_before <= now:
                out.append(state)
        return out

    def _digest(
        self, channel: str, digest_id: str, members: list[AlertState], now: datetime
    ) -> AlertRaised:
        severity = max((m.raised.severity for m in members), key=_SEVERITY_ORDER.__getitem__)
        count = len(members)
        return AlertRaised(
            alert_id=digest_id,
            channel=channel,
            topic="digest",
            event_type="alert.digest",
            title=f"{count} {_plural(count)} for {self._entity} since the last digest",
            severity=severity,
            fields=(
                AlertLine(label="Entity", value=self._entity),
                AlertLine(label="Alerts", value=str(count)),
            ),
            data={
                "entity": self._entity,
                "alerts": [
                    {"alert_id": m.alert_id, "type": m.raised.event_type, **m.raised.data}
                    for m in members
                ],
            },
            about_event=digest_id,
            about_at=now,
            members=tuple(m.alert_id for m in members),
        )

    # ------------------------------------------------------------------ messages

    def message(self, state: AlertState) -> AlertMessage:
        raised = state.raised
        items = tuple(
            AlertItem(m.raised.title, _fields(m.raised.fields))
            for member in raised.members
            if (m := self.book.alerts.get(member)) is not None
        )
        return AlertMessage(
            alert_id=raised.alert_id,
            event_type=raised.event_type,
            title=raised.title,
            severity=raised.severity,
            occurred_at=raised.about_at,
            fields=_fields(raised.fields),
            items=items,
            data=dict(raised.data),
        )

    # ------------------------------------------------------------------ a person asks

    async def replay(
        self,
        alert_ids: Sequence[str] = (),
        *,
        parked_on: str | None = None,
        everything: bool = False,
    ) -> list[str]:
        """Start parked (or named) alerts over with the same ``alert_id``; with
        ``parked_on``, resume that channel first. Returns the alerts replayed."""
        await self.book.catch_up(self._store)
        if parked_on is not None and parked_on in self.book.parked_channels:
            envelope = make_envelope(
                AlertChannelResumed(channel=parked_on),
                entity=self._entity,
                subject=channel_subject(self._entity, parked_on),
                actor=self._actor,
            )
            await self._store.append([envelope])
        chosen = [self.book.alerts[a] for a in alert_ids if a in self.book.alerts]
        if parked_on is not None or everything:
            chosen += [
                s
                for s in self.book.alerts.values()
                if s.parked is not None and (everything or s.channel == parked_on)
            ]
        replayed = []
        for state in {s.alert_id: s for s in chosen}.values():
            await self._append(state, AlertReplayRequested(**_ids(state)))
            replayed.append(state.alert_id)
        await self.book.catch_up(self._store)
        return replayed

    async def test(self, channel_name: str) -> AlertState:
        """Send one ``alert.test`` message now, once; the outcome is in the log."""
        config, channel = self._configs.get(channel_name), self._channels.get(channel_name)
        if config is None or channel is None:
            raise KeyError(channel_name)
        now = self._clock()
        alert = AlertRaised(
            alert_id=f"test_{uuid7().replace('-', '')}",
            channel=channel_name,
            topic="test",
            event_type="alert.test",
            title=f"syncledger test alert for {self._entity} on channel {channel_name}",
            severity="info",
            fields=(AlertLine(label="Entity", value=self._entity),),
            data={"entity": self._entity, "test": True},
            about_at=now,
        )
        await self._raise(alert)
        await self.book.catch_up(self._store)
        state = self.book.alerts[alert.alert_id]
        started = AlertAttemptStarted(**_ids(state), attempt=1)
        await self._append(state, started, expect=state.seq)
        try:
            await channel.deliver(self.message(state))
        except AlertNotDelivered as exc:
            await self._failed(state, 1, exc, now, TurnReport(), retry=False)
        else:
            await self._append(state, AlertDelivered(**_ids(state), attempt=1))
        await self.book.catch_up(self._store)
        return state

    # ------------------------------------------------------------------ plumbing

    async def _append(
        self, state: AlertState, payload: EventData, expect: int | None = None
    ) -> None:
        subject = alert_subject(self._entity, state.channel, state.alert_id)
        envelope = make_envelope(payload, entity=self._entity, subject=subject, actor=self._actor)
        seqs = await self._store.append([envelope], None if expect is None else {subject: expect})
        state.seq = seqs[-1]
        _apply(state, payload, envelope.recorded_at)


def alert_status_lines(book: AlertBook) -> list[str]:
    """``status``'s lines about alerts: what waits and what is parked, with where to look."""
    waiting = sum(1 for a in book.alerts.values() if a.status() == "pending")
    parked = sum(1 for a in book.alerts.values() if a.status() == "parked")
    lines = []
    if waiting:
        lines.append(f"{waiting} {_plural(waiting)} waiting to be delivered (`syncledger alerts`)")
    if parked:
        lines.append(f"{parked} {_plural(parked)} parked: `syncledger alerts` says why")
    lines.extend(
        f"alert channel {name} parked: {why} (`syncledger alerts replay --channel {name}`)"
        for name, why in sorted(book.parked_channels.items())
    )
    return lines


def _ids(state: AlertState) -> dict[str, str]:
    return {"alert_id": state.alert_id, "channel": state.channel}


def _fields(lines: Iterable[AlertLine]) -> tuple[AlertField, ...]:
    return tuple(AlertField(x.label, x.value) for x in lines)


def _plural(count: int) -> str:
    return "alert" if count == 1 else "alerts"
