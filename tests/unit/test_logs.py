"""How commands log (core/logs.py) and what `run` tells its operator (core/run_watch.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from syncledger.core.alerts import TurnReport
from syncledger.core.errors import ConfigurationError
from syncledger.core.ingest import IngestReport
from syncledger.core.logs import (
    RUN_LOGGER,
    bind,
    chosen,
    configure,
    log_context,
    quiet_idle_fetches,
)
from syncledger.core.reconcile import ReconReport
from syncledger.core.run_watch import RunHealth, Tally, banner, cycle_line
from syncledger.core.settings import Settings
from syncledger.core.sync_context import Outcome


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    """Where the configured handler writes; the root logger is put back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers = handlers
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()


def test_json_lines_carry_context_and_mask_passwords(stderr: io.StringIO) -> None:
    configure(logging.INFO, "json", stderr)
    bind(entity="acme", ledger="xero", run_id="r-1")
    logging.getLogger("syncledger.test").warning(
        "cannot reach %s", "nats://app:s3cr3t@10.0.0.1:4222"
    )
    with log_context(ref="csv/invoice/INV-9"):
        logging.getLogger("syncledger.test").warning("refused")
    try:
        raise OSError("connect to postgresql://u:hunter2@db/x failed")
    except OSError:
        logging.getLogger("syncledger.test").exception("store failed")
    first, inside, second = (json.loads(line) for line in stderr.getvalue().splitlines())
    assert inside["ref"] == "csv/invoice/INV-9" and "ref" not in second
    assert first["event"] == "cannot reach nats://app:***@10.0.0.1:4222"
    assert (first["entity"], first["ledger"], first["run_id"]) == ("acme", "xero", "r-1")
    assert (first["level"], first["logger"]) == ("warning", "syncledger.test")
    assert first["timestamp"].endswith("Z")
    assert "hunter2" not in stderr.getvalue() and "s3cr3t" not in stderr.getvalue()
    assert "postgresql://u:***@db/x" in second["exception"]


def test_text_shows_runs_own_lines_bare(stderr: io.StringIO) -> None:
    configure(logging.WARNING, "text", stderr)
    logging.getLogger(RUN_LOGGER).info("took over pushing for demo/qbo")
    logging.getLogger("syncledger.other").info("not shown at warning")
    logging.getLogger("syncledger.other").warning("shown")
    assert stderr.getvalue().splitlines() == [
        "took over pushing for demo/qbo",
        "WARNING syncledger.other: shown",
    ]


def test_a_bad_level_or_format_names_the_variable() -> None:
    assert chosen({"SYNCLEDGER_LOG_LEVEL": "INFO"}) == (logging.INFO, "text")
    with pytest.raises(ConfigurationError, match=r"SYNCLEDGER_LOG_LEVEL='loud'.*debug, info"):
        chosen({"SYNCLEDGER_LOG_LEVEL": "loud"})
    with pytest.raises(ConfigurationError, match=r"SYNCLEDGER_LOG_FORMAT='xml'.*text or json"):
        chosen({"SYNCLEDGER_LOG_FORMAT": "xml"})


def test_idle_fetch_timeouts_never_reach_the_user(stderr: io.StringIO) -> None:
    configure(logging.WARNING, "text", stderr)
    worker = logging.getLogger("syncledger.test.worker")
    quiet_idle_fetches(worker)
    try:
        raise TimeoutError
    except TimeoutError:
        worker.exception("Task-53 raised an exception, retrying...")
    try:
        raise ValueError("a real fault")
    except ValueError:
        worker.exception("Task-54 raised an exception, retrying...")
    text = stderr.getvalue()
    assert "Task-53" not in text and "TimeoutError" not in text
    assert "Task-54" in text and "a real fault" in text


def test_run_says_what_it_runs() -> None:
    line = banner(Settings(entity="acme", ledger="xero"), [("reconciliation", 900.0, _noop)], None)
    assert "entity acme, ledger xero (the in-process sandbox)" in line
    assert "reconciliation every 15 min" in line and "SYNCLEDGER_METRICS_PORT" in line


async def _noop() -> None:
    return None


async def test_a_line_per_cycle_that_did_something() -> None:
    assert cycle_line("alerts", TurnReport()) is None
    assert cycle_line("alerts", TurnReport(delivered=2)) == (
        "alerts: 0 raised, 2 delivered, 0 to be tried again, 0 parked, 0 withdrawn"
    )
    assert cycle_line("source poll", IngestReport()) is None
    busy = IngestReport(observed=3, refused=1)
    assert cycle_line("source poll", busy) == (
        "source poll: 3 new record versions, 0 deletions, 1 refused"
    )
    quiet = "back-sync from qbo: 0 changed records, 0 new observations"
    assert cycle_line("back-sync", quiet) is None
    assert cycle_line("back-sync", quiet.replace(": 0 changed", ": 2 changed")) is not None
    recon = cycle_line("reconciliation", ReconReport("r1", "qbo", 10))
    assert recon is not None and recon.startswith("Reconciliation r1 against qbo")
    assert "10 records checked, 0 open mismatches" in recon
    tally = Tally()
    for status in ("pushed", "pushed", "ignored", "rejected"):
        tally(Outcome(status))
    assert await tally.progress() == (
        "records in the last minute: 2 records sent to the ledger, 1 record refused"
    )
    assert await tally.progress() is None


def test_run_is_ready_once_connected() -> None:
    class Conn:
        is_connected = True

    health = RunHealth()
    assert health.check() == (False, "starting: connecting to NATS")
    conn = Conn()
    health.connected(conn)  # type: ignore[arg-type]
    assert health.check() == (True, "ready: waiting for the push lease (another process pushes)")
    health.pushing = True
    assert health.check() == (True, "ready: pushing")
    conn.is_connected = False
    assert health.check() == (False, "NATS connection lost: reconnecting")
