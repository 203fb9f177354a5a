"""The Zoho Books sandbox organisation behind the HTTP app: request gates (auth,
organisation, limits), fault injection, and the handle tests use (``count``,
``records``, ``seed_item``, ``fail_next_writes``, ``throttle_next``, ``commit_then_timeout_next``,
``throttled``, ``close``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Unpack

from syncledger.adapters.sandbox.scaffold import HandleOptions, SandboxHandle, bearer_ok
from syncledger.adapters.sandbox.throttle import WindowThrottle
from syncledger.adapters.zoho.sandbox.book import ZohoBook, resource
from syncledger.adapters.zoho.sandbox.errors import refuse
from syncledger.adapters.zoho.sandbox.items import seed_item
from syncledger.adapters.zoho.sandbox.oauth import ZohoAccounts
from syncledger.adapters.zoho.sandbox.org import Answer, ZohoOrganization

AUTH_SCHEME = "zoho-oauthtoken"


@dataclass
class DailyQuota:
    """Requests per calendar day of the organisation (UTC here), as Zoho's plan cap."""

    limit: int
    today: Callable[[], date] = field(default=lambda: datetime.now(UTC).date())
    _counts: dict[date, int] = field(default_factory=dict)

    def admit(self) -> bool:
        day = self.today()
        used = self._counts.get(day, 0)
        if used >= self.limit:
            return False
        self._counts = {day: used + 1}
        return True

    def remaining(self) -> int:
        return self.limit - self._counts.get(self.today(), 0)


class ZohoSandbox(SandboxHandle[ZohoBook]):
    """One sandbox organisation. Operations raise ``ZohoError`` on refusal."""

    def __init__(
        self,
        org: ZohoOrganization,
        accounts: ZohoAccounts,
        *,
        window: WindowThrottle,
        daily: DailyQuota,
        max_concurrent: int = 10,
        **options: Unpack[HandleOptions],
    ) -> None:
        super().__init__(org.book, **options)
        self.org = org
        self.accounts = accounts
        self._window = window
        self._daily = daily
        self._max_concurrent = max_concurrent
        self._in_flight = 0
        self._stalled: set[tuple[str, str]] = set()

    # ------------------------------------------------------ handle for tests

    @property
    def organization_id(self) -> str:
        return self.org.organization_id

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of ``kind`` (``customer``/``contact``, ``item``, ``invoice``,
        ``payment``, ``credit_note``, ``refund``: of credit notes and of payments) in the
        book."""
        return [r for name in _resources(kind) for r in self.book.records(name)]

    def seed_item(self, name: str, **fields: Any) -> str:
        """An item someone entered by hand in Zoho Books; its ``item_id``."""
        with self.book.transaction():
            return str(seed_item(self.org, name, **fields)["item_id"])

    def daily_remaining(self) -> int:
        return self._daily.remaining()

    # --------------------------------------------------------------- gates

    @contextlib.contextmanager
    def admitted(self, organization_id: str | None, authorization: str | None) -> Iterator[None]:
        """Token, organisation, injected throttling, the daily cap, the per-minute window
        and concurrency, in that order; held for the whole request."""
        if self.require_auth and not bearer_ok(self.accounts, authorization, AUTH_SCHEME):
            raise refuse("auth.unauthorized")
        if organization_id != self.organization_id:
            raise refuse("request.wrong_organization", organization_id=organization_id or "")
        injected = self.injected_throttle()
        if injected is not None:
            raise refuse("limit.per_minute", retry_after=injected)
        self._limits()
        self._in_flight += 1
        try:
            if self._in_flight > self._max_concurrent:
                self.throttled += 1
                raise refuse("limit.concurrent")
            yield
        finally:
            self._in_flight -= 1

    def _limits(self) -> None:
        if self.over_limit(self._window.admit(self.organization_id)):
            raise refuse("limit.per_minute")
        if not self._daily.admit():
            self.throttled += 1
            raise refuse("limit.daily")

    # ----------------------------------------------------- fault injection

    def stall_after_write(self, done: Answer) -> float | None:
        """Seconds to stall a committed write before answering, if one is injected;
        the records it touched stay marked until the injections are used up."""
        if not self.faults.take("commit_then_timeout"):
            return None
        self._stalled.update(done.records)
        return self.faults.stall_seconds

    def stall_lookup(self, done: Answer) -> float | None:
        """A lookup that finds a record of a stalled write is that write's retry (Zoho
        has no idempotency key: the retry is "look it up by our reference"), and stalls
        too while injections remain, as a replayed ``requestid`` does at QBO."""
        if not self._stalled or not self._stalled.intersection(done.records):
            return None
        if not self.faults.take("commit_then_timeout"):
            self._stalled.clear()
            return None
        if self.faults.commit_then_timeout == 0:
            self._stalled.clear()
        return self.faults.stall_seconds


def _resources(kind: str) -> tuple[str, ...]:
    if kind == "refund":
        return ("creditnoterefund", "paymentrefund")
    return (resource(kind),)
