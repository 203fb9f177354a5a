"""Erasure that really erases (issue 18): personal values never reach the immutable log,
the read models or the logs in plaintext, so shredding a subject's key leaves nothing of
it to read.

Real parts throughout: the CLI as processes on one data directory with its embedded
nats-server, the CSV source, the QBO sandbox ledger on disk, SQLite read models. Marker
values sit in every personal field (the model's sealed fields: name, contact name, e-mail,
phone, tax id, billing address) of good and bad customers, in the name and tax id of
customers the sync refuses and of a customer it pushes, and in a malformed row whose cells
shift (its city lands in ``updated_at``). A bookkeeper renames a pushed customer in the
sandbox ledger to a marker name (back-sync and reconcile read it), and a customer whose
e-mail two ledger customers share waits for review and is linked by a person. Import,
sync, review, backsync, reconcile, report, errors, status and trace run; then every file
of the data directory but the ledger's own book (the JetStream block files, the read
models, the reconciler's mirror, the key store, audit files) and every captured log line
are searched byte for byte. Then retention shreds every subject but one held customer, and
reading every record's personal fields with the keys that remain finds no marker (and does
find the held customer's name and e-mail).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.adapters.qbo.sandbox.book import SandboxBook
from syncledger.core.ledgers import sandbox_book

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENTITY = "erasure"

#: the marker values, each only ever written into a personal field (or a malformed row)
GOOD = {
    "name": "Zqxgoodname Trading",
    "tax_id": "9ZQX-GOODTAX-77",
    "contact_name": "Zqxgood Contactperson",
    "email": "zqxgood.mailbox@example.com",
    "phone": "+1 415 555 0199",
    "billing_address": "77 Zqxgoodstreet Way\nZqxgoodtown, ID 83702",
}
BAD = {
    "contact_name": "Zqxbad Contactperson",
    "email": "leaky.zqx@@pii-marker.example.com",
    "phone": "555-ZQX-LEAKPHONE",
    "billing_address": "1 Zqxbadlane\nZqxbadcity",
}
SHIFT = {
    "contact_name": "Zqxshift Contactperson",
    "email": "zqxshift.mailbox@example.com",
    "phone": "+1 415 555 0177",
    "street": "9 Zqxshiftroad",
    "city": "Zqxshiftcity",
}
#: refused at sync: two customers of one name, and a tax id with wrong check digits
TWIN_NAME = "Zqxtwin Holdings Ltd"
BAD_TAX_ID = "DE000ZQX1"
#: the name a bookkeeper gives the good customer in the ledger (back-sync and reconcile
#: read it; only the ledger's own book may keep it)
LEDGER_NAME = "Zqxledgername Renamed Co"
#: a customer two ledger customers match by e-mail: it waits for a person's review
REVIEW = {"name": "Zqxreviewname Partners", "email": "zqxreview.mailbox@example.com"}
#: the ledger's two candidates (the ledger's own names: not ours, shown by `review`)
LEDGER_TWINS = ("Ledger Twin Alpha", "Ledger Twin Beta")
#: the held customer: plain values, which must still open after the retention run
KEPT_NAME = "Kept Goods Inc"
KEPT_EMAIL = "kept.customer@example.com"

MARKERS = sorted(
    {*GOOD.values(), *BAD.values(), *SHIFT.values(), *REVIEW.values()}
    | {line for value in (*GOOD.values(), *BAD.values()) for line in value.splitlines()}
    | {TWIN_NAME, BAD_TAX_ID, LEDGER_NAME}
)
CUSTOMER_HEADER = "id,name,currency,contact_name,email,phone,tax_id,billing_address,updated_at"
INVOICE_HEADER = (
    "id,number,customer_id,issue_date,due_date,currency,exchange_rate,discount,total,status,"
    "updated_at,description,quantity,unit_price,tax_amount,item_code,line_type"
)
CUSTOMERS = ("good", "bad", "shift", "twin1", "twin2", "taxed", "kept", "review")
REFS = [f"csv/customer/{c}" for c in CUSTOMERS]


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _customer(cid: str, name: str, fields: dict[str, str], tax_id: str = "") -> str:
    cells = [cid, name, "USD", fields["contact_name"], fields["email"], fields["phone"], tax_id]
    address = _csv_cell(fields["billing_address"])
    return ",".join([*cells, address, "2026-01-05T10:00:00Z"])


PLAIN = {"contact_name": "", "email": "", "phone": "", "billing_address": ""}


def _source(folder: Path) -> Path:
    plain = PLAIN
    kept = {**plain, "email": KEPT_EMAIL}
    # the shifted row: the address is not quoted, so its city lands in updated_at
    shifted = (
        f"shift,Shift Supplies,USD,{SHIFT['contact_name']},{SHIFT['email']},{SHIFT['phone']},"
        f",{SHIFT['street']},{SHIFT['city']},2026-01-05T10:00:00Z"
    )
    customers = [
        CUSTOMER_HEADER,
        _customer("good", GOOD["name"], GOOD, tax_id=GOOD["tax_id"]),
        _customer("bad", "Bad Goods Inc", BAD),
        shifted,
        _customer("twin1", TWIN_NAME, plain),
        _customer("twin2", TWIN_NAME, plain),
        _customer("taxed", "Taxed Goods Inc", plain, tax_id=BAD_TAX_ID),
        _customer("kept", KEPT_NAME, kept),
    ]
    invoices = [
        INVOICE_HEADER,
        "i1,1001,good,2026-01-05,2026-02-05,USD,,0,10.00,open,2026-01-05T10:00:00Z,"
        "Valve,1,10.00,0,,item",
        "i2,1002,kept,2026-01-05,2026-02-05,USD,,0,20.00,open,2026-01-05T10:00:00Z,"
        "Valve,2,10.00,0,,item",
    ]
    folder.mkdir()
    (folder / "customers.csv").write_text("\n".join(customers) + "\n", encoding="utf-8")
    (folder / "invoices.csv").write_text("\n".join(invoices) + "\n", encoding="utf-8")
    (folder / "payments.csv").write_text(
        "id,invoice_id,customer_id,amount,currency,paid_on,updated_at\n", encoding="utf-8"
    )
    return folder


def _add_review_customer(folder: Path) -> None:
    """A later export of the source: one customer more, whom the ledger has twice."""
    row = _customer("review", REVIEW["name"], {**PLAIN, "email": REVIEW["email"]})
    with (folder / "customers.csv").open("a", encoding="utf-8") as out:
        out.write(row + "\n")


def _book(data_dir: Path) -> SandboxBook:
    return SandboxBook(sandbox_book(data_dir, "qbo"), realm_id="unused")


def _ledger_twins(data_dir: Path) -> list[str]:
    """Two ledger customers that share the review customer's e-mail; their ledger ids."""
    book = _book(data_dir)
    try:
        return [
            str(book.add("customer", {
                "DisplayName": name, "PrimaryEmailAddr": {"Address": REVIEW["email"]},
                "Active": True, "CurrencyRef": {"value": "USD"},
            })["Id"])
            for name in LEDGER_TWINS
        ]  # fmt: skip
    finally:
        book.close()


def _rename_in_ledger(data_dir: Path, name: str, new_name: str) -> None:
    """A bookkeeper renames the customer the sync pushed as ``name``."""
    book = _book(data_dir)
    try:
        [held] = book.named("customer", name)
        book.put("customer", {**held, "DisplayName": new_name})
    finally:
        book.close()


class Cli:
    """The CLI as a process on one data directory; every line it prints is kept."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.output: list[str] = []
        self.reviewed = ""  # what `review` listed
        self.reconciled = ""  # what `reconcile --json` answered after the rename

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SYNCLEDGER_")},
            "SYNCLEDGER_DATA_DIR": str(self.data_dir),
            "SYNCLEDGER_ENTITY": ENTITY,
            "SYNCLEDGER_LOG_FORMAT": "json",
            "SYNCLEDGER_LOG_LEVEL": "DEBUG",
        }
        done = subprocess.run(
            [sys.executable, "-c", "from syncledger.core.cli import main; main()", *args],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        self.output += [done.stdout, done.stderr]
        assert done.returncode in ok, (args, done.returncode, done.stdout, done.stderr)
        return done.stdout


def _stored_files(data_dir: Path) -> Iterator[Path]:
    """Every file of the data directory but the sandbox ledger's own book (the ledger is
    another system: holding the customer's details is its job)."""
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and "sandbox" not in path.relative_to(data_dir).parts:
            yield path


def _found(data: bytes, markers: list[str] = MARKERS) -> list[str]:
    lowered = data.lower()
    return [m for m in markers if m.lower().encode() in lowered]


def _leaks(data_dir: Path, output: list[str]) -> dict[str, list[str]]:
    leaks = {str(p): _found(p.read_bytes()) for p in _stored_files(data_dir)}
    leaks["captured output"] = _found("\n".join(output).encode())
    return {where: found for where, found in leaks.items() if found}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = tmp_path_factory.mktemp("erasure")
    cli = Cli(root / "data")
    source = _source(root / "in")
    cli("import", str(source), ok=(0, 1))  # 1: records refused (issue 16)
    cli("sync", "--once", ok=(0, 1))  # 1: the shifted row and bad values are refused
    twins = _ledger_twins(cli.data_dir)
    _add_review_customer(source)
    cli("import", str(source), ok=(0, 1))
    cli("sync", "--once", ok=(0, 1))  # the review customer waits for a person
    cli.reviewed = cli("review")
    cli("review", "--json")
    cli("review", "csv/customer/review", "--link", twins[0], "--note", "same firm")
    cli("sync", "--once", ok=(0, 1))  # linked, then our name and e-mail pushed to it
    _rename_in_ledger(cli.data_dir, GOOD["name"], LEDGER_NAME)
    cli("backsync", "--json", ok=(0, 1))
    cli.reconciled = cli("reconcile", "--json", ok=(0, 1))
    cli("reconcile", "--full", ok=(0, 1))
    cli("report", "daily", "--date", "2026-01-05", ok=(0, 1))
    cli("errors", ok=(0, 1))
    cli("errors", "--json", ok=(0, 1))
    cli("status", ok=(0, 1))
    cli("status", "--json", ok=(0, 1))
    for ref in [*REFS, "csv/invoice/i1"]:
        cli("audit", "trace", ref, "--json", ok=(0, 1))
        cli("trace", ref, ok=(0, 1))
    return cli


def test_the_run_saw_every_marked_record_and_refused_the_bad_ones(ran: Cli) -> None:
    errors = ran("errors", ok=(0, 1))
    for ref in ("csv/customer/bad", "csv/customer/shift", "csv/customer/twin2"):
        assert ref in errors, errors
    assert "csv/customer/taxed" in errors
    for code in ("invalid_email", "invalid_phone", "malformed_row", "duplicate_name"):
        assert code in errors, errors
    stream_blocks = [p for p in _stored_files(ran.data_dir) if p.suffix == ".blk"]
    assert stream_blocks, "the JetStream store's block files were not found"
    assert any((ran.data_dir).rglob("*.projections.db"))


def test_no_marker_in_the_log_the_read_models_or_the_logs(ran: Cli) -> None:
    assert _leaks(ran.data_dir, ran.output) == {}


def test_names_and_tax_ids_are_sealed_yet_duplicates_renames_and_reviews_are_found(
    ran: Cli,
) -> None:
    blocks = b"".join(p.read_bytes() for p in _stored_files(ran.data_dir) if p.suffix == ".blk")
    events = _events(blocks)
    assert "duplicate_name" in json.dumps([_messages(e) for e in events])  # by keyed digest
    kinds = {(e.get("type"), json.dumps(e["data"], sort_keys=True)) for e in events}
    assert any(t == "LedgerRecordObserved" and '"kind": "customer"' in d for t, d in kinds)
    assert '"customer_name_mismatch"' in ran.reconciled  # the rename was seen
    assert any(t == "ReviewRequested" for t, _ in kinds)
    linked = [d for t, d in kinds if t == "RecordLinked" and "csv/customer/review" in d]
    assert linked, "the reviewed customer was not linked"
    for shown in LEDGER_TWINS:  # review shows the ledger's candidates, by the ledger's names
        assert shown in ran.reviewed
    for event in events:
        assert _found(json.dumps(event).encode()) == [], event


def _events(blocks: bytes) -> list[dict[str, object]]:
    """The JSON envelopes inside the JetStream block files (one per stored message)."""
    text, decoder, found = blocks.decode("utf-8", "replace"), json.JSONDecoder(), []
    pos = text.find('{"')
    while pos != -1:
        try:
            doc, end = decoder.raw_decode(text, pos)
        except ValueError:
            pos = text.find('{"', pos + 1)
            continue
        if isinstance(doc, dict) and "data" in doc:
            found.append(doc)
        pos = text.find('{"', end)
    return found


def _messages(event: dict[str, object]) -> list[object]:
    data = event["data"]
    assert isinstance(data, dict)
    return [data.get("message"), data.get("reason"), data.get("reasons")]


def test_after_shredding_no_marker_can_be_read_back(ran: Cli) -> None:
    ran("audit", "hold", "place", "--scope", "customer:csv/customer/kept", "--reason", "matter 7")
    shred = json.loads(ran("audit", "retention", "run", "--apply", "--as-of", "2100-01-01",
                           "--json"))  # fmt: skip
    assert shred, shred
    opened: list[str] = []
    for ref in [*REFS, "csv/invoice/i1", "csv/invoice/i2"]:
        opened.append(ran("audit", "trace", ref, "--json", "--personal", ok=(0, 1)))
    everything = "\n".join(opened)
    assert KEPT_EMAIL in everything  # the keys that remain do open what they seal
    assert KEPT_NAME in everything  # the name among them
    assert '"status": "erased"' in everything  # and the shredded ones no longer do
    assert _found(everything.encode()) == []
    assert _leaks(ran.data_dir, ran.output) == {}
