"""Finance alerts: raised once, retried on the published schedule, parked not lost, told
once per alert id, withdrawn when the mismatch clears first (core/alerts.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from syncledger.audit.alert_drafts import register as register_audit_drafts
from syncledger.audit.events import LegalHoldPlaced
from syncledger.core.alert_config import AlertChannelConfig, parse_duration
from syncledger.core.alert_ports import AlertMessage, AlertNotDelivered
from syncledger.core.alert_rules import draft_for
from syncledger.core.alerts import DEFAULT_DELAYS_S, AlertDesk, alert_status_lines, alert_subject
from syncledger.core.events import (
    AlertAttemptStarted,
    EventData,
    LedgerPushAbandoned,
    MismatchDetected,
    MismatchResolved,
    make_envelope,
)
from syncledger.core.store import StoredEvent
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.subjects import recon_subject

ENTITY = "acme"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@dataclass
class Receiver:
    """A channel that records what it was told and fails as scripted."""

    name: str
    told: list[AlertMessage] = field(default_factory=list)
    failures: list[AlertNotDelivered] = field(default_factory=list)
    pause: asyncio.Event | None = None

    async def deliver(self, message: AlertMessage) -> None:
        if self.pause is not None:
            await self.pause.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.told.append(message)

    async def aclose(self) -> None:
        return None


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def slack(**kw: Any) -> AlertChannelConfig:
    return AlertChannelConfig(name=kw.pop("name", "fin"), kind="slack", url_env="X", **kw)


class Setup:
    def __init__(self, *configs: AlertChannelConfig) -> None:
        self.store = MemoryEventStore()
        self.clock = Clock()
        self.receivers = {c.name: Receiver(c.name) for c in configs}
        self.configs = configs

    def desk(self) -> AlertDesk:
        return AlertDesk(
            self.store,
            entity=ENTITY,
            actor="test",
            configs=self.configs,
            channels=self.receivers,
            clock=self.clock,
        )

    async def log(self, *events: EventData) -> list[StoredEvent]:
        out = []
        for event in events:
            key = str(getattr(event, "key", None) or getattr(event, "source_ref", "x"))
            subject = recon_subject(ENTITY, "qbo", "mismatch", key)
            env = make_envelope(event, entity=ENTITY, subject=subject, actor="test")
            (seq,) = await self.store.append([env])
            out.append(StoredEvent(seq, subject, env.to_bytes()))
        return out


def mismatch(
    key: str = "k1", *, at_stake: str | None = "25.00", currency: str = "USD"
) -> MismatchDetected:
    return MismatchDetected(
        key=key,
        mismatch_type="amount_mismatch",
        ledger="qbo",
        source_ref=f"csv/invoice/{key}",
        ledger_ref="101",
        expected="125.00",
        actual="100.00",
        run_id="r1",
        at_stake=None if at_stake is None else Decimal(at_stake),
        currency=currency,
    )


@pytest.mark.parametrize(
    ("stake", "currency", "shown"),
    [("1250", "JPY", "1,250 JPY"), ("12.5", "KWD", "12.500 KWD"), ("25", "EUR", "25.00 EUR")],
)
def test_the_money_at_stake_has_its_currencys_decimals(
    stake: str, currency: str, shown: str
) -> None:
    event = mismatch(at_stake=stake, currency=currency)
    env = make_envelope(event, entity=ENTITY, subject="x.recon", actor="test")
    draft = draft_for(env, event)
    assert draft is not None
    assert ("At stake", shown) in [(f.label, f.value) for f in draft.fields]


async def test_a_mismatch_is_raised_once_and_delivered_once() -> None:
    s = Setup(slack())
    desk = s.desk()
    stored = await s.log(mismatch())
    assert await desk.raise_for(stored) == 1
    assert await s.desk().raise_for(stored) == 0  # a second process, a redelivery
    report = await desk.turn()
    await desk.turn()
    await s.desk().turn()
    told = s.receivers["fin"].told
    assert report.delivered == 1 and len(told) == 1
    assert told[0].event_type == "mismatch.detected"
    assert "csv/invoice/k1" in told[0].title
    assert ("At stake", "25.00 USD") in [(f.label, f.value) for f in told[0].fields]


async def test_retries_follow_the_schedule_then_park_with_the_same_id() -> None:
    s = Setup(slack())
    receiver = s.receivers["fin"]
    receiver.failures = [AlertNotDelivered(f"HTTP 500 (try {i})") for i in range(20)]
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch()))
    await desk.turn()  # attempt 1, immediately
    for delay in DEFAULT_DELAYS_S:
        s.clock.advance(delay * 0.5)
        await desk.turn()  # not yet due
        s.clock.advance(delay * 0.6)  # past the delay (jitter is at most 10 %)
        await desk.turn()
    state = next(iter(desk.book.alerts.values()))
    assert state.attempts == 8 == len(DEFAULT_DELAYS_S) + 1
    assert state.status() == "parked"
    assert "no success after 8 attempts" in (state.parked or "")
    assert len(receiver.failures) == 20 - 8  # one call per attempt, never more


async def test_a_parked_alert_is_replayed_with_the_same_alert_id() -> None:
    s = Setup(slack())
    receiver = s.receivers["fin"]
    receiver.failures = [AlertNotDelivered("invalid_payload", permanent=True)]
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch()))
    await desk.turn()
    (state,) = desk.book.alerts.values()
    assert state.status() == "parked" and receiver.told == []
    replayed = await desk.replay(everything=True)
    await desk.turn()
    assert replayed == [state.alert_id]
    assert [m.alert_id for m in receiver.told] == [state.alert_id]
    assert state.status() == "delivered"


async def test_retry_after_is_honoured() -> None:
    s = Setup(slack())
    receiver = s.receivers["fin"]
    receiver.failures = [AlertNotDelivered("HTTP 429", retry_after=40.0)]
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch()))
    await desk.turn()
    s.clock.advance(30)  # past the schedule's 5 s, not the receiver's 40 s
    await desk.turn()
    assert receiver.told == []
    s.clock.advance(11)
    await desk.turn()
    assert len(receiver.told) == 1


async def test_a_gone_endpoint_parks_its_channel_until_resumed() -> None:
    s = Setup(slack())
    receiver = s.receivers["fin"]
    receiver.failures = [AlertNotDelivered("no_service", gone=True)]
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch("k1")))
    await desk.turn()
    await desk.raise_for(await s.log(mismatch("k2")))
    await desk.turn()
    assert receiver.told == []
    assert {a.status() for a in desk.book.alerts.values()} == {"parked"}
    assert "fin" in desk.book.parked_channels
    replayed = await desk.replay(parked_on="fin")
    await desk.turn()
    assert len(replayed) == 2
    assert sorted(str(m.data["mismatch_key"]) for m in receiver.told) == ["k1", "k2"]
    assert "fin" not in desk.book.parked_channels


async def test_open_longer_than_waits_and_withdraws_a_cleared_mismatch() -> None:
    s = Setup(slack(open_longer_than="2h"))
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch("k1"), mismatch("k2")))
    s.clock.now = datetime.now(UTC)  # the events' own time is now
    await desk.turn()
    assert s.receivers["fin"].told == []
    await s.log(MismatchResolved(key="k1", ledger="qbo", run_id="r2"))
    s.clock.advance(2 * 3600 + 1)
    report = await desk.turn()
    assert [m.data["mismatch_key"] for m in s.receivers["fin"].told] == ["k2"]
    assert report.withdrawn == 1


async def test_thresholds_are_per_currency_and_never_assume_a_rate() -> None:
    s = Setup(slack(min_amount={"USD": Decimal("100")}))
    desk = s.desk()
    raised = await desk.raise_for(
        await s.log(
            mismatch("small", at_stake="25.00"),
            mismatch("big", at_stake="250.00"),
            mismatch("eur", at_stake="1.00", currency="EUR"),  # no EUR floor: told
            mismatch("none", at_stake=None),  # no money at stake: told
        )
    )
    await desk.turn()
    assert raised == 3
    keys = sorted(str(m.data["mismatch_key"]) for m in s.receivers["fin"].told)
    assert keys == ["big", "eur", "none"]


async def test_filters_by_topic_ledger_and_type() -> None:
    s = Setup(
        slack(name="only-xero", ledgers=("xero",)),
        slack(name="dups", topics=("mismatch",), mismatch_types=("duplicate_in_ledger",)),
        slack(name="abandons", topics=("abandoned",)),
    )
    desk = s.desk()
    abandoned = LedgerPushAbandoned(
        source_ref="csv/invoice/9",
        ledger="qbo",
        idempotency_key="i",
        attempts=5,
        code="6240",
        message="Duplicate Name Exists Error",
    )
    await desk.raise_for(await s.log(mismatch(), abandoned))
    await desk.turn()
    assert s.receivers["only-xero"].told == [] and s.receivers["dups"].told == []
    (told,) = s.receivers["abandons"].told
    assert told.event_type == "push.abandoned" and told.severity == "critical"


async def test_a_daily_digest_tells_many_alerts_in_one_message() -> None:
    s = Setup(slack(digest="daily", digest_at=time(10, 0)))
    desk = s.desk()
    await desk.raise_for(await s.log(*(mismatch(f"k{i}") for i in range(5))))
    await desk.turn()  # 09:00: before the digest time
    assert s.receivers["fin"].told == []
    s.clock.now = T0.replace(hour=10, minute=1)
    await desk.turn()
    await desk.turn()
    (digest,) = s.receivers["fin"].told
    assert digest.event_type == "alert.digest" and len(digest.items) == 5
    assert digest.title == f"5 alerts for {ENTITY} since the last digest"
    statuses = sorted(a.status() for a in desk.book.alerts.values())
    assert statuses == ["delivered"] + ["in digest"] * 5
    s.clock.advance(86400)
    await desk.turn()  # nothing new: no empty digest
    assert len(s.receivers["fin"].told) == 1


async def test_an_interrupted_attempt_is_tried_again_with_the_same_id() -> None:
    s = Setup(slack())
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch()))
    await desk.book.catch_up(s.store)
    (state,) = desk.book.alerts.values()
    # a process wrote down its attempt and stopped before the outcome
    subject = alert_subject(ENTITY, "fin", state.alert_id)
    started = AlertAttemptStarted(alert_id=state.alert_id, channel="fin", attempt=1)
    await s.store.append([make_envelope(started, entity=ENTITY, subject=subject, actor="x")])
    s.clock.now = datetime.now(UTC)
    await desk.turn()  # within its timeout: maybe still posting, leave it
    assert s.receivers["fin"].told == []
    s.clock.advance(60)
    await desk.turn()  # counted as failed, due again in 5 s
    s.clock.advance(6)
    await desk.turn()
    assert [m.alert_id for m in s.receivers["fin"].told] == [state.alert_id]
    assert state.attempts == 2


async def test_two_processes_never_attempt_one_alert_at_once() -> None:
    s = Setup(slack())
    gate = asyncio.Event()
    s.receivers["fin"].pause = gate
    first, second = s.desk(), s.desk()
    await first.raise_for(await s.log(mismatch()))
    turns = asyncio.gather(first.turn(), second.turn())
    await asyncio.sleep(0.05)
    gate.set()
    await turns
    await first.turn()
    await second.turn()
    assert len(s.receivers["fin"].told) == 1


async def test_alerts_test_sends_once_and_parks_a_failure() -> None:
    s = Setup(slack())
    desk = s.desk()
    ok = await desk.test("fin")
    s.receivers["fin"].failures = [AlertNotDelivered("HTTP 503")]
    bad = await desk.test("fin")
    assert ok.status() == "delivered" and bad.status() == "parked"
    assert bad.parked == "HTTP 503" and len(s.receivers["fin"].told) == 1
    with pytest.raises(KeyError):
        await desk.test("nobody")


async def test_holds_reach_channels_that_ask_for_them() -> None:
    register_audit_drafts()
    s = Setup(slack(topics=("hold",)))
    desk = s.desk()
    hold = LegalHoldPlaced(
        hold_id="h1",
        scope_kind="customer",
        scope_value="csv/customer/7",
        reason="litigation",
        placed_by="legal@acme",
    )
    await desk.raise_for(await s.log(hold, mismatch()))
    await desk.turn()
    (told,) = s.receivers["fin"].told
    assert told.event_type == "hold.placed" and "csv/customer/7" in told.title


def test_durations_read_as_people_write_them() -> None:
    assert parse_duration("90s") == 90 and parse_duration("2h") == 7200
    assert parse_duration("1d") == 86400 and parse_duration(30) == 30
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_a_slack_url_in_the_file_is_refused() -> None:
    with pytest.raises(ValueError, match="url_env"):
        AlertChannelConfig(name="x", kind="slack", url="https://hooks.example/T/B/secret")


async def test_status_says_what_waits_and_what_is_parked() -> None:
    s = Setup(slack())
    s.receivers["fin"].failures = [
        AlertNotDelivered("HTTP 500"),
        AlertNotDelivered("no_service", gone=True),
    ]
    desk = s.desk()
    await desk.raise_for(await s.log(mismatch("k1")))
    await desk.turn()
    assert alert_status_lines(desk.book) == [
        "1 alert waiting to be delivered (`syncledger alerts`)"
    ]
    s.clock.advance(6)
    await desk.turn()
    assert alert_status_lines(desk.book) == [
        "1 alert parked: `syncledger alerts` says why",
        "alert channel fin parked: no_service (`syncledger alerts replay --channel fin`)",
    ]


async def test_a_receiver_down_ten_minutes_gets_every_alert_once_on_the_real_schedule() -> None:
    s = Setup(slack())
    down_until = T0 + timedelta(minutes=10)

    @dataclass
    class Flaky(Receiver):
        async def deliver(self, message: AlertMessage) -> None:
            self.attempts.append(message.alert_id)
            if s.clock.now < down_until:
                raise AlertNotDelivered("HTTP 503")
            self.told.append(message)

        attempts: list[str] = field(default_factory=list)

    flaky = Flaky("fin")
    desk = AlertDesk(
        s.store, entity=ENTITY, actor="t", configs=s.configs, channels={"fin": flaky},
        clock=s.clock,
    )  # fmt: skip
    await desk.raise_for(await s.log(*(mismatch(f"k{i}") for i in range(20))))
    while s.clock.now < T0 + timedelta(hours=1):
        await desk.turn()
        s.clock.advance(10)
    told = [m.alert_id for m in flaky.told]
    assert len(told) == len(set(told)) == 20
    # immediately, 5 s, 5 min, then 30 min later (after the receiver is back): 4 attempts
    assert {flaky.attempts.count(a) for a in told} == {4}
    assert {a.status() for a in desk.book.alerts.values()} == {"delivered"}
