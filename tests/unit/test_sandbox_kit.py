"""The shared sandbox pieces every platform's sandbox is built on (adapters/sandbox/):
replies kept for idempotent replay, a book whose records sit in one table, the refusal
and its answer, the handle's common options and the shared public login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.sandbox.errors import SandboxError
from syncledger.adapters.sandbox.oauth import OAuthServer
from syncledger.adapters.sandbox.replies import Replies
from syncledger.adapters.sandbox.scaffold import SandboxHandle, SandboxLogin
from syncledger.adapters.sandbox.sqlite_book import RecordTable, SqliteBook, TabledBook, micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS things (
    sort TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (sort, id)
);
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _book() -> SqliteBook:
    return SqliteBook(None, "")


# ------------------------------------------------------------------ replies


def test_a_kept_reply_is_answered_again_with_its_fingerprint() -> None:
    replies = Replies(_book().db)
    replies.keep("k1", 201, b'{"id": 1}', "fp")
    earlier = replies.earlier("k1")
    assert earlier is not None
    assert (earlier.status, earlier.body, earlier.fingerprint) == (201, b'{"id": 1}', "fp")
    assert replies.earlier("k2") is None


def test_the_first_reply_stands_while_it_lasts() -> None:
    replies = Replies(_book().db)
    replies.keep("k", 200, b"first")
    replies.keep("k", 500, b"second")
    earlier = replies.earlier("k")
    assert earlier is not None and (earlier.status, earlier.body) == (200, b"first")


def test_a_reply_lasts_its_ttl_and_an_expired_one_is_replaced() -> None:
    clock = Clock()
    replies = Replies(_book().db, ttl=60.0, clock=clock)
    replies.keep("k", 200, b"first")
    clock.now += 59.0
    assert replies.earlier("k") is not None
    clock.now += 1.0
    assert replies.earlier("k") is None
    replies.keep("k", 201, b"again")
    earlier = replies.earlier("k")
    assert earlier is not None and (earlier.status, earlier.body) == (201, b"again")


def test_a_reply_without_ttl_is_kept_for_good() -> None:
    clock = Clock()
    replies = Replies(_book().db, clock=clock)
    replies.keep("k", 200, b"x")
    clock.now += 10**9
    assert replies.earlier("k") is not None


def test_forget_drops_the_replies_picked_by_their_body() -> None:
    replies = Replies(_book().db)
    replies.keep("a", 200, b'{"Payment": {}}')
    replies.keep("b", 200, b'{"Invoice": {}}')
    assert replies.forget(lambda body: "Payment" in decode_json(body)) == 1
    assert replies.earlier("a") is None and replies.earlier("b") is not None


def test_replies_persist_in_the_books_file(tmp_path: Path) -> None:
    book = SqliteBook(tmp_path / "sandbox" / "book.sqlite3", "")
    Replies(book.db).keep("k", 200, b"x")
    book.close()
    again = SqliteBook(tmp_path / "sandbox" / "book.sqlite3", "")
    assert Replies(again.db).earlier("k") is not None


# ------------------------------------------------------------- tabled book


class IntBook(TabledBook):
    RECORDS = RecordTable(order="id DESC")

    def __init__(self) -> None:
        super().__init__(
            None, "CREATE TABLE records (kind TEXT, id INTEGER, body TEXT, PRIMARY KEY (kind, id));"
        )

    def stored_kind(self, kind: str) -> str:
        return {"customer": "client"}.get(kind, kind)

    def add(self, kind: str, ident: int, name: str) -> None:
        body = f'{{"id": {ident}, "name": "{name}"}}'
        self.db.execute("INSERT INTO records VALUES (?, ?, ?)", (kind, ident, body))


class TextBook(TabledBook):
    RECORDS = RecordTable("things", "sort", order="id", integer_ids=False)

    def __init__(self) -> None:
        super().__init__(None, SCHEMA)

    def add(self, sort: str, ident: str) -> None:
        body = f'{{"id": "{ident}"}}'
        self.db.execute("INSERT INTO things VALUES (?, ?, ?)", (sort, ident, body))


def test_a_tabled_book_counts_lists_and_reads_by_the_stored_kind() -> None:
    book = IntBook()
    book.add("client", 1, "A")
    book.add("client", 2, "B")
    book.add("invoice", 1, "INV")
    assert book.count("customer") == 2 and book.count("invoice") == 1
    assert [r["name"] for r in book.records("customer")] == ["B", "A"]  # its order
    assert book.get("customer", "2") == {"id": 2, "name": "B"}
    assert book.get("customer", 3) is None


def test_an_integer_id_book_reads_nothing_for_an_id_that_is_not_an_integer() -> None:
    book = IntBook()
    book.add("client", 1, "A")
    assert book.get("customer", "1 OR 1=1") is None


def test_a_text_id_book_reads_by_the_id_as_text() -> None:
    book = TextBook()
    book.add("contact", "b")
    book.add("contact", "a")
    assert book.get("contact", "a") == {"id": "a"}
    assert [r["id"] for r in book.records("contact")] == ["a", "b"]
    assert book.count("contact") == 2 and book.count("other") == 0


class StampedBook(TabledBook):
    RECORDS = RecordTable("things", "sort", integer_ids=False)

    def __init__(self) -> None:
        super().__init__(None, SCHEMA.replace("body TEXT NOT NULL", "body TEXT, at INTEGER"))

    def stored_kind(self, kind: str) -> str:
        return kind.lower()


def test_a_tabled_book_inserts_and_updates_a_record_with_its_other_columns() -> None:
    book = StampedBook()
    book.insert_row("Contact", "c1", {"id": "c1", "v": 1}, at=10)
    book.insert_row("Contact", "c2", {"id": "c2", "v": 1}, at=11)
    book.update_row("CONTACT", "c1", {"id": "c1", "v": 2}, at=12)
    assert book.get("contact", "c1") == {"id": "c1", "v": 2}
    assert book.get("contact", "c2") == {"id": "c2", "v": 1}
    rows = book.db.execute("SELECT id, at FROM things ORDER BY id").fetchall()
    assert rows == [("c1", 12), ("c2", 11)]


def test_micros_counts_microseconds_since_the_epoch_naive_as_utc() -> None:
    moment = datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)
    assert micros(moment) == 1_000_005
    assert micros(moment.replace(tzinfo=None)) == 1_000_005
    assert micros(moment.astimezone(timezone(timedelta(hours=2)))) == 1_000_005


# ----------------------------------------------------------------- refusals


class PlatformError(SandboxError):
    def __init__(self, status: int, code: str, **more: Any) -> None:
        super().__init__(status, code, **more)
        self.code = code

    def payload(self) -> dict[str, Any]:
        return {"code": self.code}


def test_a_refusal_answers_its_status_body_wait_and_headers() -> None:
    answer = PlatformError(429, "slow", retry_after=1.5, headers={"X-Problem": "minute"}).answer()
    assert answer.status_code == 429
    assert decode_json(bytes(answer.body)) == {"code": "slow"}
    assert answer.headers["retry-after"] == "1.5"
    assert answer.headers["x-problem"] == "minute"
    assert answer.headers["content-type"] == "application/json"


def test_a_refusal_without_a_wait_sends_no_retry_after() -> None:
    error = PlatformError(400, "bad")
    assert "retry-after" not in error.answer().headers
    assert str(error) == "bad" and str(PlatformError(404, "")) == "HTTP 404"


# ------------------------------------------------------------ handle, login


class _Held(SandboxHandle[SqliteBook]):
    """A handle whose records are two invoices (the base leaves ``records`` to each platform)."""

    def records(self, kind: str) -> list[dict[str, Any]]:
        return {"invoice": [{"id": 1}, {"id": 2}]}[kind]


def test_a_handle_takes_the_common_options_with_their_defaults() -> None:
    plain = _Held(_book())
    assert (plain.require_auth, plain.home_currency, plain.faults.fail_writes) == (True, "USD", 0)
    chosen = _Held(_book(), require_auth=False, home_currency="GBP")
    assert (chosen.require_auth, chosen.home_currency) == (False, "GBP")


def test_a_handle_counts_what_its_records_hold() -> None:
    handle = _Held(_book())
    assert handle.count("invoice") == 2
    with pytest.raises(KeyError):
        handle.count("unknown")


def test_the_shared_login_is_the_public_sandbox_credentials() -> None:
    assert SandboxLogin().credentials() == (
        "sandbox-client",
        "sandbox-secret",
        "sandbox-refresh-token",
    )
    assert "sandbox-secret" not in repr(SandboxLogin())


# --------------------------------------------------------------- token server


def _server(clock: Clock) -> OAuthServer:
    return OAuthServer(_book().db, client_id="id", client_secret="secret", clock=clock)


def test_a_refresh_token_is_spent_once_and_an_access_token_is_no_refresh_token() -> None:
    server = _server(Clock())
    tokens = server.exchange(server.grant("first"))
    assert tokens is not None
    assert server.exchange("first") is None  # spent
    assert server.exchange(tokens["access_token"]) is None  # not a refresh token
    assert server.exchange(tokens["refresh_token"]) is not None


def test_an_authorization_code_is_spent_even_by_a_failed_attempt_and_expires() -> None:
    clock = Clock()
    server = _server(clock)
    code = server.authorize("https://app.example/back", None)
    assert server.redeem(code, "https://elsewhere.example/", None) is None
    assert server.redeem(code, "https://app.example/back", None) is None  # spent
    late = server.authorize("https://app.example/back", None)
    clock.now += 601.0
    assert server.redeem(late, "https://app.example/back", None) is None
    assert server.client_id_ok("id") and not server.client_id_ok("other")
