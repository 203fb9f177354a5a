"""The source contract on Google Contacts: the People API (against the sandbox, delta
reads with sync tokens) and a Google CSV export (read whole; its editor rewrites the
export file as a new export would)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from syncledger.adapters.google_contacts.platform import SOURCE
from syncledger.adapters.google_contacts.sandbox.server import GoogleSandbox, book_of
from syncledger.adapters.sources.registry import SourceConnection
from syncledger.core.source_ports import RecordHint, SourceReader, WebhookRequest
from tests.contracts.source_contract import SourceContract, SourceUnderTest

HEADER = ["First Name", "Last Name", "Organization Name", "Labels"]
HEADER += ["E-mail 1 - Label", "E-mail 1 - Value"]


class NoWritesNoHooks:
    """What Google Contacts does not have: webhooks and write-back."""

    async def make_invoice(self) -> str:
        raise AssertionError("Google Contacts takes no write-back")

    async def payment_status(self, source_ref: str) -> Mapping[str, str]:
        return {}

    def signed(self, hints: Sequence[RecordHint]) -> WebhookRequest | None:
        return None


class PersonInGoogle(NoWritesNoHooks):
    """Someone editing contacts in Google Contacts (the sandbox's side)."""

    def __init__(self, book: GoogleSandbox) -> None:
        self.book = book

    async def put_customer(self, source_id: str | None, name: str) -> str:
        return self.book.put(source_id, name)

    async def delete_customer(self, source_id: str) -> None:
        self.book.delete(source_id)


class PersonExporting(NoWritesNoHooks):
    """Someone who edits contacts and exports them again as Google CSV (with a BOM)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, str]] = {}
        self._save()

    def _save(self) -> None:
        with self.path.open("w", encoding="utf-8-sig", newline="") as fh:
            out = csv.DictWriter(fh, HEADER)
            out.writeheader()
            out.writerows(self.rows.values())

    async def put_customer(self, source_id: str | None, name: str) -> str:
        email = f"person{len(self.rows)}@example.com"
        sid = source_id or "gc-" + hashlib.sha256(f"email:{email}".encode()).hexdigest()[:20]
        kept = self.rows.get(sid, {}).get("E-mail 1 - Value", email)
        self.rows[sid] = {
            "Organization Name": name,
            "Labels": "* myContacts",
            "E-mail 1 - Label": "* Work",
            "E-mail 1 - Value": kept,
        }
        self._save()
        return sid

    async def delete_customer(self, source_id: str) -> None:
        del self.rows[source_id]
        self._save()


class TestGooglePeopleSource(SourceContract):
    delta = True

    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        app = SOURCE.sandbox_app(None)
        assert app is not None
        conn = SourceConnection(
            tmp_path / "google-contacts.json",
            base_url=SOURCE.sandbox_url,
            credentials={"page_size": "3", "currency": "USD"},
            transport=httpx.ASGITransport(app=app),
        )

        async def reopen() -> SourceReader:
            return SOURCE.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, PersonInGoogle(book_of(app)), reopen)
        finally:
            await reader.aclose()


class TestGoogleCsvExportSource(SourceContract):
    delta = False

    @pytest.fixture
    async def source(self, tmp_path: Path) -> AsyncIterator[SourceUnderTest]:
        conn = SourceConnection(
            tmp_path / "google-contacts.json",
            directory=tmp_path / "contacts.csv",
            credentials={"csv_missing_is_deleted": "true", "currency": "USD"},
        )
        editor = PersonExporting(tmp_path / "contacts.csv")

        async def reopen() -> SourceReader:
            return SOURCE.connect(conn)

        reader = await reopen()
        try:
            yield SourceUnderTest(reader, editor, reopen)
        finally:
            await reader.aclose()
