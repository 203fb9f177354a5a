"""Sections of the ledger contract about the sandbox itself, mixed into a platform's
contract class (``tests/unit/test_<platform>_contract.py``):

- :class:`AdminSection`: the shared ``/_sandbox/*`` admin routes set faults and show the
  book the adapter wrote.
- :class:`AdminOAuthSection`: ``/_sandbox/oauth/grant`` and ``/_sandbox/oauth/expire``
  (platforms whose sandbox runs a token server).
- :class:`InjectedThrottleSection`: a 429 a test injects carries its ``Retry-After`` to
  the adapter and is not counted as throttling (``sandbox.throttled`` counts only the
  sandbox's own limits).
- :class:`SecretsSection`: tokens, keys and customers' emails stay out of the logs and
  of the error a lost credential raises.
- :class:`PersistenceSection`: a sandbox on a book file keeps what was written, and the
  grants it issued, across a restart.
- :class:`TokenServerSection`: the sandbox's OAuth token route rotates refresh tokens,
  refuses a spent one and a wrong client secret as the platform does.

Each asks the platform for one factory, ``book_ledger(book, store)``: the adapter on a
fresh sandbox whose book is the SQLite file ``book`` (in memory when None), signing in
through ``store`` where the platform uses OAuth.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from syncledger.adapters.http import NO_RETRY
from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.oauth2 import MemoryTokenStore, TokenStore
from syncledger.core.errors import AuthExpiredError, TransientLedgerError
from tests.contracts.ledger_contract import LedgerContract
from tests.contracts.ledger_sections import SectionLedger, opened

#: the kinds every sandbox's ``/_sandbox/counts`` counts
KINDS = ("customer", "invoice", "payment", "credit_note", "refund", "item")


@asynccontextmanager
async def admin(env: SectionLedger) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the sandbox's own routes, beside the adapter."""
    transport = httpx.ASGITransport(app=env.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield http


async def read(http: httpx.AsyncClient, method: str, path: str, body: object = None) -> Any:
    content = None if body is None else encode_json(body)
    answer = await http.request(method, path, content=content)
    assert answer.status_code == 200, (method, path, answer.status_code)
    return decode_json(answer.content)


class BookLedger(LedgerContract):
    #: items a new book already holds (a company's default service item, …)
    seeded_items: ClassVar[int] = 0
    #: the field of the sandbox's customer record holding the customer's name
    customer_name_field: ClassVar[str] = "name"
    #: the kinds ``/_sandbox/counts`` shows
    counted_kinds: ClassVar[tuple[str, ...]] = KINDS
    #: a create repeated under its key after a restart gives the first record back (the
    #: sandbox keeps its idempotency keys, or the adapter finds by reference before
    #: writing); False where the adapter looks up only when an outcome is unknown and the
    #: platform has no keys (the sync's journal says so after a restart, not the key)
    repeat_finds_the_first: ClassVar[bool] = True

    def book_ledger(self, book: Path | None, store: TokenStore, **options: Any) -> SectionLedger:
        """``options`` go to ``tests.support.<platform>.in_process_<platform>`` (``retry``)."""
        raise NotImplementedError  # the platform's contract class provides it

    def secret_ledger(self, store: TokenStore) -> SectionLedger:
        """The adapter on a fresh sandbox, its credentials ones ``lose_credentials`` loses."""
        return self.book_ledger(None, store)

    def lose_credentials(self, env: SectionLedger, store: TokenStore) -> None:
        """The grant is used up elsewhere and the access token expires."""
        held = store.load()
        assert held is not None and env.redeem is not None
        env.redeem(held.refresh_token)  # someone else used it: the adapter's copy is spent
        env.expire_access_tokens()

    def counts(self, env: SectionLedger, **held: int) -> dict[str, int]:
        """What ``/_sandbox/counts`` shows for a new book plus ``held``."""
        return dict.fromkeys(self.counted_kinds, 0) | {"item": self.seeded_items} | held


class AdminSection(BookLedger):
    async def test_admin_endpoints_set_faults_and_show_the_book(self) -> None:
        env = self.book_ledger(None, MemoryTokenStore())
        attempts = env.under_test.attempts
        faults = {"fail_writes": attempts, "fail_status": 503}
        async with opened(env), admin(env) as http:
            set_ = await read(http, "POST", "/_sandbox/faults", faults)
            with pytest.raises(TransientLedgerError):
                await self.push_customer(env.under_test)  # every attempt answered 503
            failed = await read(http, "GET", "/_sandbox/counts")
            unknown_fault = await http.post("/_sandbox/faults", content=encode_json({"nope": 1}))
            cleared = await read(http, "DELETE", "/_sandbox/faults")
            shown = await read(http, "GET", "/_sandbox/faults")
            await self.push_customer(env.under_test)
            counts = await read(http, "GET", "/_sandbox/counts")
            records = await read(http, "GET", "/_sandbox/records/customer")
            held = decode_json(encode_json(env.under_test.sandbox.records("customer")))  # type: ignore[attr-defined]  # every sandbox has records; the protocol leaves it out
            unknown_kind = await http.get("/_sandbox/records/nope")
            stats = await read(http, "GET", "/_sandbox/stats")
        assert (set_["fail_writes"], set_["fail_status"]) == (attempts, 503)
        assert failed == self.counts(env)
        assert unknown_fault.status_code == 400
        assert cleared["fail_writes"] == 0 and shown == cleared
        assert counts == self.counts(env, customer=1)
        assert records == held
        assert [r[self.customer_name_field] for r in records] == [self.customer().name]
        assert unknown_kind.status_code == 404
        assert stats["throttled"] == 0


class AdminOAuthSection(BookLedger):
    async def test_admin_routes_grant_a_refresh_token_and_expire_access_tokens(self) -> None:
        store = MemoryTokenStore()
        env = self.book_ledger(None, store)
        async with opened(env), admin(env) as http:
            customer_id = await self.push_customer(env.under_test)
            first = store.load()
            granted = (await read(http, "POST", "/_sandbox/oauth/grant"))["refresh_token"]
            expired = await read(http, "POST", "/_sandbox/oauth/expire")
            found = await env.adapter.get("customer", customer_id)  # after a 401: refreshed
            second = store.load()
            assert env.redeem is not None
            redeemed = env.redeem(granted)
        assert expired == {"expired": True}
        assert found is not None and found.ledger_id == customer_id
        assert first is not None and second is not None
        assert second.access_token != first.access_token
        assert redeemed


class InjectedThrottleSection(BookLedger):
    async def test_an_injected_429_carries_its_retry_after_and_is_not_counted(self) -> None:
        env = self.book_ledger(None, MemoryTokenStore(), retry=NO_RETRY)
        async with opened(env):
            customer_id = await self.push_customer(env.under_test)
            env.under_test.sandbox.throttle_next(1, retry_after=0.25)
            with pytest.raises(TransientLedgerError) as throttled:
                await env.adapter.get("customer", customer_id)
            counted = env.under_test.sandbox.throttled
            after = await env.adapter.get("customer", customer_id)  # the injection is used up
        assert throttled.value.retry_after == 0.25
        assert counted == 0
        assert after is not None and after.ledger_id == customer_id


class PersistenceSection(BookLedger):
    async def test_the_book_and_its_grants_survive_a_restart(self, tmp_path: Path) -> None:
        book = tmp_path / "data" / "book.sqlite3"
        store = MemoryTokenStore()
        async with opened(self.book_ledger(book, store)) as first:
            customer_id = await self.push_customer(first.under_test)
            invoice_id = await self.push_invoice(first.under_test, customer_id)
            before = {kind: first.under_test.sandbox.count(kind) for kind in self.counted_kinds}
        async with opened(self.book_ledger(book, store)) as again:
            kept = store.load()
            customer = await again.adapter.get("customer", customer_id)  # the kept access token
            unrefreshed = store.load()
            again.expire_access_tokens()  # the next call refreshes with the kept refresh token
            invoice = await self.fetch(again.under_test, "invoice", invoice_id)
            refreshed = store.load()
            repeated = customer_id
            if self.repeat_finds_the_first:
                repeated = await self.push_customer(again.under_test)  # same key and reference
            held = {kind: again.under_test.sandbox.count(kind) for kind in self.counted_kinds}
            spent = again.initial_refresh_token
            reused = None if again.redeem is None or spent is None else again.redeem(spent)
        assert customer is not None and customer.name == self.customer().name
        assert unrefreshed == kept  # the sandbox still knew the access token
        assert kept is None or (refreshed is not None and refreshed != kept)
        assert (invoice.total, invoice.external_ref) == (Decimal("225.45"), "csv/invoice/INV-1")
        assert repeated == customer_id
        assert (before["customer"], before["invoice"]) == (1, 1)
        assert held == before  # nothing lost, nothing seeded twice
        assert reused in (None, False)  # a refresh token spent before the restart stays spent


class SecretsSection(BookLedger):
    """Tokens, keys, secrets and customers' emails stay out of the logs and of the error a
    lost credential raises, through a throttled retry, writes, finds and matches."""

    #: the platform's own secrets (client secret, API key, token secret, …)
    secrets: ClassVar[tuple[str, ...]] = ()
    #: what the logs show in a secret's stead (a masked parameter, a request's path)
    logged_instead: ClassVar[str] = ""

    def more_text(self) -> str:
        """Further text that must name no secret (the reprs of the platform's credentials)."""
        return ""

    async def test_tokens_and_secrets_stay_out_of_logs(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        store = MemoryTokenStore()
        private = self.customer(email="private@example.test")
        caplog.set_level(logging.DEBUG)
        async with opened(self.secret_ledger(store)) as env:
            env.under_test.sandbox.throttle_next(1, retry_after=0.01)  # a retry is logged
            customer_id = await self.push_customer(env.under_test, customer=private)
            await self.push_invoice(env.under_test, customer_id)
            await env.adapter.find("customer", "csv/customer/C-1")
            await env.adapter.match_customer(private)
            held = store.load()
            self.lose_credentials(env, store)
            with pytest.raises(AuthExpiredError) as refused:
                await env.adapter.get("customer", customer_id)
        tokens = () if held is None else (held.access_token, held.refresh_token)
        text = caplog.text + str(refused.value) + self.more_text()
        assert caplog.records and self.logged_instead in caplog.text
        assert [s for s in (*tokens, *self.secrets, "private@") if s in text] == []


class TokenServerSection(BookLedger):
    """The sandbox's token server as the platform's: a refresh token is spent by its use
    and rotated (a spent one is an ``invalid_grant``, 400), and a wrong client secret is an
    ``invalid_client``, 401."""

    #: the token endpoint's path, and the client the sandbox knows
    token_path: ClassVar[str] = ""
    client_id: ClassVar[str] = ""
    client_secret: ClassVar[str] = ""
    #: True where the client authenticates in the form, not with HTTP Basic
    client_in_body: ClassVar[bool] = False
    #: further fields the platform's refresh grant carries (FreshBooks' redirect_uri)
    grant_extras: ClassVar[dict[str, str]] = {}
    #: fields of the token answer and what they hold (token type, lifetimes), and those
    #: holding an integer time (FreshBooks' created_at)
    token_answer: ClassVar[dict[str, object]] = {}
    token_answer_times: ClassVar[tuple[str, ...]] = ()

    async def token(
        self, http: httpx.AsyncClient, refresh: str, secret: str | None = None
    ) -> httpx.Response:
        client = {"client_id": self.client_id, "client_secret": secret or self.client_secret}
        form = {"grant_type": "refresh_token", "refresh_token": refresh} | self.grant_extras
        if self.client_in_body:
            return await http.post(self.token_path, data=form | client)
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
        headers = {"Authorization": f"Basic {basic.decode()}"}
        return await http.post(self.token_path, data=form, headers=headers)

    async def test_a_refresh_token_rotates_and_a_spent_one_is_an_invalid_grant(self) -> None:
        env = self.book_ledger(None, MemoryTokenStore())
        initial = env.initial_refresh_token
        assert initial is not None
        async with opened(env), admin(env) as http:
            first = await self.token(http, initial)
            tokens = decode_json(first.content)
            replay = await self.token(http, initial)
            rotated = await self.token(http, tokens["refresh_token"])
        assert first.status_code == 200
        assert {k: tokens[k] for k in self.token_answer} == self.token_answer
        assert all(isinstance(tokens[k], int) for k in self.token_answer_times)
        assert tokens["refresh_token"] != initial
        assert (replay.status_code, decode_json(replay.content)) == (
            400,
            {"error": "invalid_grant"},
        )
        assert rotated.status_code == 200

    async def test_a_wrong_client_secret_is_an_invalid_client_and_spends_nothing(self) -> None:
        env = self.book_ledger(None, MemoryTokenStore())
        initial = env.initial_refresh_token
        assert initial is not None
        async with opened(env), admin(env) as http:
            refused = await self.token(http, initial, secret="wrong")
            after = await self.token(http, initial)
        assert (refused.status_code, decode_json(refused.content)) == (
            401,
            {"error": "invalid_client"},
        )
        assert after.status_code == 200
