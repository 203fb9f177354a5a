"""Finance alerts through real `syncledger run` processes on a real nats-server: the
receiver is down, then hangs mid-post while `run` is killed with SIGKILL, then comes
back — and every alert arrives, each under one webhook-id, none lost and none told
twice (issue #12: "receiver down … then up — every alert arrives exactly once")."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.core.alerts import AlertBook
from syncledger.core.bootstrap import open_runtime
from syncledger.core.decode import read_wanted
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.events import AlertDelivered
from syncledger.core.pipeline import import_csv, sync_once
from syncledger.core.settings import Settings
from syncledger.core.subjects import entity_filter
from tests.support.alert_receiver import AlertReceiver
from tests.support.mismatches import invoice_export, tamper_total
from tests.support.processes import Proc, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "outage"
SECRET = "whsec_" + base64.b64encode(b"outage-alerts-key-0123456789abcd").decode()
TOTALS = [f"{100 + n}.00" for n in range(8)]


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path / "nats-server") as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    server = AlertReceiver(SECRET).start()
    yield server
    server.stop()


def environment(tmp_path: Path, nats: EmbeddedNats, receiver: AlertReceiver) -> dict[str, str]:
    channel = {
        "name": "finance",
        "kind": "webhook",
        "url": receiver.url,
        "secret_env": "SL_E2E_ALERT_SECRET",
        "timeout_s": 2,
    }
    return {
        "SYNCLEDGER_DATA_DIR": str(tmp_path / "state"),
        "SYNCLEDGER_NATS_URL": nats.url,
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_LEDGER": "qbo",
        "SYNCLEDGER_RECONCILE_EVERY_S": "1",
        "SYNCLEDGER_ALERTS_EVERY_S": "0.5",
        "SYNCLEDGER_ALERT_RETRY_DELAYS_S": json.dumps([1.0] * 30),
        "SYNCLEDGER_ALERT_CHANNELS": json.dumps([channel]),
        "SL_E2E_ALERT_SECRET": SECRET,
    }


def settings_of(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


async def delivered_counts(settings: Settings) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with open_runtime(settings) as rt:
        async for stored in rt.store.read(entity_filter(ENTITY, "alert")):
            event = read_wanted(stored.raw, (AlertDelivered,))
            if isinstance(event, AlertDelivered):
                counts[event.alert_id] = counts.get(event.alert_id, 0) + 1
    return counts


async def test_every_alert_arrives_once_across_an_outage_and_a_kill(
    tmp_path: Path, nats: EmbeddedNats, receiver: AlertReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(tmp_path, nats, receiver)
    settings = settings_of(env, monkeypatch)
    await import_csv(settings, invoice_export(tmp_path / "export", TOTALS))
    await sync_once(settings)
    for n, total in enumerate(TOTALS, start=1):
        tamper_total(settings.data_dir, str(700 + n), f"{total[:-3]}.01")
    receiver.set_mode("down")
    run = Proc(["run"], env, tmp_path / "run-1.log").start()
    try:

        def retried_while_down() -> bool:
            _, posts = receiver.snapshot()
            return len(posts) == len(TOTALS) and all(n >= 2 for n in posts.values())

        wait_for(retried_while_down, "every alert posted twice to a receiver that is down", 120)
        receiver.set_mode("hang")
        before = sum(receiver.snapshot()[1].values())
        wait_for(lambda: sum(receiver.snapshot()[1].values()) > before, "a post in flight", 60)
        run.kill()  # mid-post: the attempt has no outcome in the log
    finally:
        run.kill()
    receiver.set_mode("up")
    run = Proc(["run"], env, tmp_path / "run-2.log").start()
    try:
        wait_for(
            lambda: len(receiver.snapshot()[0]) == len(TOTALS),
            "every alert taken once the receiver is back",
            180,
        )
    finally:
        run.stop()

    accepted, posts = receiver.snapshot()
    assert receiver.forged == 0
    keys = [payload["data"]["mismatch_key"] for payload in accepted.values()]
    assert len(set(keys)) == len(keys) == len(TOTALS)  # one id per mismatch, each once
    assert set(posts) == set(accepted)  # no post under an id that was not the alert's own
    counts = await delivered_counts(settings)
    assert sorted(counts) == sorted(accepted) and set(counts.values()) == {1}
    async with open_runtime(settings) as rt:
        book = AlertBook(ENTITY)
        await book.catch_up(rt.store)
    assert {a.status() for a in book.alerts.values()} == {"delivered"}
