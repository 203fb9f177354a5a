"""The log's disk fills up (issue 19 §5), with real processes and a real nats-server whose
store is a 4 MiB tmpfs: ``import`` fails fast with one line naming the full disk, and
once space is freed the next ``import`` goes through — syncledger restarts the shared
embedded server whose store stopped writing; nobody restarts anything by hand."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.embedded import EmbeddedNats, attach
from syncledger.core.errors import LogNotWritable
from syncledger.core.events import Envelope, RetryRequested, make_envelope
from syncledger.core.model import RecordRef
from syncledger.core.settings import Settings
from syncledger.core.subjects import source_subject

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HANG_GUARD_S = 120  # a deadline against hangs, not a timing assertion
HEADERS = {
    "customers.csv": "id,name,currency,contact_name,email,phone,tax_id,billing_address,updated_at",
    "invoices.csv": "id,number,customer_id,issue_date,due_date,currency,exchange_rate,discount,"
    "total,status,updated_at,description,quantity,unit_price,tax_amount,item_code,line_type",
    "payments.csv": "id,customer_id,invoice_id,amount,currency,paid_on,method,reference,updated_at",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose log store is a 4 MiB tmpfs (root only)."""
    store = tmp_path / "state" / "nats" / "jetstream"
    store.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs under the log needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(store)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield tmp_path / "state"
    subprocess.run(["umount", "-l", str(store)], check=False)


def customers_dir(path: Path, prefix: str, count: int) -> Path:
    path.mkdir()
    for name, header in HEADERS.items():
        (path / name).write_text(header + "\n")
    with open(path / "customers.csv", "a", newline="") as fh:
        rows = [
            [f"{prefix}{i}", f"Customer {prefix}{i}", "USD", *[""] * 5, "2026-01-01"]
            for i in range(count)
        ]
        csv.writer(fh).writerows(rows)
    return path


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass  # no space left on the device: as intended
    return filler


def cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncledger.core.cli", *args],
        env={**os.environ, "SYNCLEDGER_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


async def observed(data_dir: Path) -> int:
    async with open_runtime(Settings(data_dir=data_dir)) as rt:
        return sum(
            [
                1
                async for s in rt.store.read("sl.demo.source.>")
                if json.loads(s.raw)["type"] == "SourceRecordObserved"
            ]
        )


async def test_a_full_disk_fails_import_fast_and_freeing_it_is_all_it_takes(
    tmp_path: Path, data_dir: Path
) -> None:
    first = cli(["import", str(customers_dir(tmp_path / "first", "A", 5))], data_dir)
    assert first.returncode == 0, first.stderr
    in_use = attach(data_dir)  # kept up from here on, as a running `syncledger run` would
    try:
        await full_then_freed(tmp_path, data_dir, in_use.server.pid)
    finally:
        in_use.release()


async def full_then_freed(tmp_path: Path, data_dir: Path, pid_before: int | None) -> None:
    store = data_dir / "nats" / "jetstream"
    filler = fill(store)

    refused = cli(["import", str(customers_dir(tmp_path / "second", "B", 40))], data_dir)
    assert refused.returncode == 3
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"error: the log's disk is full at {store} (")
    assert "free space there, syncledger resumes by itself" in lines[0]

    filler.unlink()  # the person frees space; nothing else
    again = cli(["import", str(tmp_path / "second")], data_dir)
    assert again.returncode == 0, again.stderr
    written, unchanged = map(
        int, re.findall(r"(\d+) new record versions?, (\d+) unchanged", again.stdout)[0]
    )
    assert written > 0 and written + unchanged == 40  # what the full disk did not take
    assert await observed(data_dir) == 45
    running = EmbeddedNats(data_dir, stream=None)
    assert running.adopt_running() and running.pid != pid_before  # syncledger restarted it


async def test_run_gets_the_log_storing_again_once_the_disk_has_room_with_nothing_to_write(
    data_dir: Path,
) -> None:
    store = data_dir / "nats" / "jetstream"
    async with open_runtime(Settings(data_dir=data_dir)) as rt:
        filler = fill(store)
        with pytest.raises(LogNotWritable, match=r"^the log's disk is full at "):
            await rt.store.append([retry_of("c1")])
        assert await rt.store.heal() is False  # still full: nothing to restart yet
        filler.unlink()
        assert await rt.store.heal() is True  # what `run`'s outage job does every 30 s
        assert len(await rt.store.append([retry_of("c2")])) == 1
    # the last user out stops the restarted server too: no nats-server is left on the store
    assert servers_on(data_dir / "nats") == "", "the restarted server outlived its last user"


def servers_on(nats_dir: Path) -> str:
    """The processes whose command line names ``nats_dir`` (pgrep), one per line."""
    found = subprocess.run(
        ["pgrep", "-f", str(nats_dir)], capture_output=True, text=True, check=False
    )
    return found.stdout.strip()


def retry_of(cid: str) -> Envelope:
    ref = RecordRef.parse(f"csv/customer/{cid}")
    return make_envelope(
        RetryRequested(ref=str(ref), ledger="qbo"),
        entity="demo",
        subject=source_subject("demo", ref),
        actor="test",
    )
