"""Finance alerts end to end on a real nats-server, the real QBO adapter and its sandbox,
and a real signed-webhook receiver: a mismatch the reconciler finds is raised by the
FastStream subscriber, delivered signed, retried while the receiver is down, and arrives
once; a later `reconcile` that finds nothing new sends nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.core.alert_config import AlertChannelConfig
from syncledger.core.alert_jobs import deliver_alerts
from syncledger.core.alerts import AlertBook
from syncledger.core.bootstrap import open_runtime
from syncledger.core.pipeline import import_csv, reconcile_now, sync_once
from syncledger.core.settings import Settings
from tests.support.alert_receiver import AlertReceiver
from tests.support.mismatches import invoice_export, tamper_total

pytestmark = pytest.mark.integration
SECRET = "whsec_" + base64.b64encode(b"finance-alerts-key-0123456789ab").decode()


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    server = AlertReceiver(SECRET).start()
    yield server
    server.stop()


async def book_of(settings: Settings) -> AlertBook:
    async with open_runtime(settings) as rt:
        book = AlertBook(settings.entity)
        await book.catch_up(rt.store)
        return book


async def test_a_mismatch_reaches_finance_once_signed_across_an_outage(
    tmp_path: Path, receiver: AlertReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SL_TEST_ALERT_SECRET", SECRET)
    channel = AlertChannelConfig(
        name="finance",
        kind="webhook",
        url=receiver.url,
        secret_env="SL_TEST_ALERT_SECRET",
        min_amount={"USD": Decimal("50")},
        timeout_s=5,
    )
    settings = Settings(
        data_dir=tmp_path / "state",
        ledger="qbo",
        entity="alerting",
        alert_channels=[channel],
        alert_retry_delays_s=(0.0, 0.0, 0.0),
    )
    await import_csv(settings, invoice_export(tmp_path / "export", ["100.00", "900.00"]))
    await sync_once(settings)
    tamper_total(settings.data_dir, "701", "90.00")  # 10.00 at stake: under the USD floor
    tamper_total(settings.data_dir, "702", "800.00")  # 100.00 at stake: told
    report = await reconcile_now(settings)
    assert sorted(m.mismatch_type for m in report.open) == ["amount_mismatch"] * 2

    receiver.set_mode("down")
    first = await deliver_alerts(settings)
    assert (first.raised, first.delivered, first.failed) == (1, 0, 1)
    receiver.set_mode("up")
    second = await deliver_alerts(settings)
    again = await deliver_alerts(settings)
    await reconcile_now(settings)  # nothing new: nothing raised
    quiet = await deliver_alerts(settings)

    accepted, posts = receiver.snapshot()
    assert second.delivered == 1 and again.delivered == 0 and quiet.raised == 0
    assert receiver.forged == 0
    (payload,) = accepted.values()
    assert payload["type"] == "mismatch.detected"
    assert payload["data"]["source_ref"] == "csv/invoice/I2"
    assert (payload["data"]["at_stake"], payload["data"]["currency"]) == ("100.00", "USD")
    assert list(posts.values()) == [2]  # one id, posted twice: once down, once taken
    book = await book_of(settings)
    assert [a.status() for a in book.alerts.values()] == ["delivered"]
