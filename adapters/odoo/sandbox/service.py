"""The Odoo sandbox database as a service: API-key authentication, the request limit,
one transaction per call, fault injection, and the handle tests use (``count``,
``records``, ``fail_next_writes``, ``throttle_next``, ``commit_then_timeout_next``,
``throttled``, ``close``)."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Unpack

from syncledger.adapters.odoo.sandbox.accounting import Accounting
from syncledger.adapters.odoo.sandbox.book import OdooBook, Record
from syncledger.adapters.odoo.sandbox.countries import seed_countries
from syncledger.adapters.odoo.sandbox.errors import refuse
from syncledger.adapters.odoo.sandbox.fields import FIELDS, present
from syncledger.adapters.odoo.sandbox.orm import READ_METHODS, OdooOrm
from syncledger.adapters.odoo.sandbox.versions import Release, release
from syncledger.adapters.sandbox.scaffold import HandleOptions, SandboxHandle
from syncledger.adapters.sandbox.throttle import WindowThrottle

ADMIN_UID = 2
ADMIN_LOGIN = "admin"
MAX_KEY_DAYS = 90  # refusals.py: apikey.too_long
PROGRAMMATIC_KEYS = 10  # refusals.py: apikey.too_many
CURRENCIES = (
    ("USD", "$", 2), ("EUR", "€", 2), ("GBP", "£", 2), ("CAD", "$", 2), ("AUD", "$", 2),
    ("NZD", "$", 2), ("CHF", "CHF", 2), ("JPY", "¥", 0), ("SEK", "kr", 2), ("NOK", "kr", 2),
    ("DKK", "kr", 2), ("INR", "₹", 2), ("ZAR", "R", 2), ("MXN", "$", 2), ("SGD", "$", 2),
    ("KWD", "KD", 3),
)  # fmt: skip
# common sale taxes a new company starts with, incl. US state + local rates
SALE_TAX_RATES = ("0", "5", "6.25", "7", "8", "8.25", "10", "13", "15", "19", "20", "21", "25")
Wanted = Callable[[Record], bool]
KIND_MODELS: dict[str, tuple[str, Wanted]] = {
    "customer": ("res.partner", lambda r: int(r.get("customer_rank") or 0) > 0),
    "invoice": ("account.move", lambda r: r.get("move_type") == "out_invoice"),
    "credit_note": ("account.move", lambda r: r.get("move_type") == "out_refund"),
    "payment": ("account.payment", lambda r: _customer_payment(r, "inbound")),
    "refund": ("account.payment", lambda r: _customer_payment(r, "outbound")),
    "item": ("product.product", lambda r: True),  # archived ones too
}
_EVERY: Wanted = lambda r: True  # noqa: E731


class OdooSandbox(SandboxHandle[OdooBook]):
    """One sandbox database. Every operation raises ``OdooError`` on refusal."""

    def __init__(
        self,
        book: OdooBook,
        *,
        database: str,
        throttle: WindowThrottle,
        clock: Callable[[], float] = time.time,
        version: int = 19,
        **options: Unpack[HandleOptions],
    ) -> None:
        """``version``: the Odoo release played (``odoo_versions``: 17, 18 or 19)."""
        super().__init__(book, **options)
        self.release: Release = release(version)
        self.database = database
        self._throttle = throttle
        self._clock = clock
        self._stalling = False
        with book.transaction():
            company_currency = _seed(book, self.home_currency)
        self.orm = OdooOrm(
            book,
            Accounting(
                book, company_currency=company_currency, rate_field=self.release.major >= 18
            ),
            user_context={"lang": "en_US", "tz": "UTC", "uid": ADMIN_UID},
            odoo=self.release,
        )

    # ------------------------------------------------------ handle for tests

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of a kind (``customer`` …) or a model, as ``read`` shows them in the
        release played."""
        model, wanted = KIND_MODELS.get(kind, (kind, _EVERY))
        if model not in FIELDS:
            raise KeyError(kind)
        rows = [r for r in self.book.all(model) if wanted(r)]
        shown = [present(model, r, None, self.orm._name_of) for r in rows]
        return [self.release.outward(model, row) for row in shown]

    def set_currency_rate(self, code: str, day: str, rate: Decimal) -> None:
        """A ``res.currency.rate`` row: ``rate`` units of ``code`` per company unit from
        ``day`` on (what a person enters under Accounting > Currencies)."""
        with self.book.transaction():
            self.book.add(
                "res.currency.rate",
                {"name": day, "rate": rate, "currency_id": _currency_id(self.book, code)},
            )

    # --------------------------------------------------------------- gates

    def admit(self) -> None:
        """Injected then real throttling (per database), before any work."""
        injected = self.injected_throttle()
        if injected is not None:
            raise refuse("limit.requests", retry_after=injected)
        wait = self._throttle.admit(self.database)
        if wait is not None and self.over_limit(wait):
            raise refuse("limit.requests", retry_after=float(max(1, math.ceil(wait))))

    def bearer_uid(self, authorization: str | None) -> int:
        scheme, _, key = (authorization or "").partition(" ")
        uid = self.key_uid(key.strip()) if scheme.lower() == "bearer" else None
        if uid is None:
            if self.require_auth:
                raise refuse("auth.invalid_apikey")
            return ADMIN_UID
        return uid

    def key_uid(self, key: str) -> int | None:
        row = self.book.db.execute(
            "SELECT uid, expires FROM apikeys WHERE digest = ?", (_digest(key),)
        ).fetchone()
        return int(row[0]) if row and row[1] > self._clock() else None

    def login_uid(self, login: str, key: str) -> int | None:
        uid = self.key_uid(key)
        return uid if uid is not None and login == ADMIN_LOGIN else None

    def stall_after(self, write: bool) -> bool:
        """True when this answer must be withheld (commit-then-timeout). A write's stall
        goes on over the API calls after it until the injected stalls were served: Odoo's
        idempotency is a read (the reference lookup), so a retry's lookup meets the same
        outage a QBO replay does."""
        if (write or self._stalling) and self.faults.take("commit_then_timeout"):
            self._stalling = self.faults.commit_then_timeout > 0
            return True
        self._stalling = False
        return False

    # ----------------------------------------------------------- execution

    def execute(
        self,
        model: str,
        method: str,
        ids: list[int],
        kwargs: dict[str, Any],
        context: dict[str, Any],
        *,
        key: str | None = None,
    ) -> Any:
        """``model.method`` in one transaction (committed on success, else rolled back)."""
        if model == "res.users.apikeys":
            return self._apikeys(method, kwargs, key)
        if is_write(method) and self.faults.take("fail_writes"):
            raise refuse("server.injected", status=self.faults.fail_status)
        with self.book.transaction():
            return self.orm.call(model, method, ids, kwargs, context)

    # ------------------------------------------------------------ API keys

    def issue_key(
        self, name: str = "sandbox", days: float = MAX_KEY_DAYS, *, programmatic: bool = False
    ) -> str:
        key = secrets.token_hex(20)  # 160 bits, as Odoo's "Generate Key"
        self.book.db.execute(
            "INSERT INTO apikeys VALUES (?, ?, ?, ?, ?)",
            (_digest(key), ADMIN_UID, name, self._clock() + days * 86400, int(programmatic)),
        )
        return key

    def register_key(self, key: str, name: str = "sandbox") -> None:
        self.book.db.execute(
            "INSERT OR IGNORE INTO apikeys VALUES (?, ?, ?, ?, 0)",
            (_digest(key), ADMIN_UID, name, self._clock() + MAX_KEY_DAYS * 86400),
        )

    def expire_keys(self) -> None:
        self.book.db.execute("UPDATE apikeys SET expires = 0")

    def _apikeys(self, method: str, kwargs: dict[str, Any], caller: str | None) -> Any:
        if method == "generate":
            return self._generate(kwargs)
        if method == "revoke":
            return self._revoke(kwargs)
        raise refuse("apikey.unknown_method", method=method)

    def _generate(self, kwargs: dict[str, Any]) -> str:
        if self.key_uid(str(kwargs.get("key", ""))) is None:
            raise refuse("auth.access_denied")
        days = _days_until(kwargs.get("expiration_date"))
        if not 0 < days <= MAX_KEY_DAYS:
            raise refuse("apikey.too_long", days=MAX_KEY_DAYS)
        (count,) = self.book.db.execute(
            "SELECT count(*) FROM apikeys WHERE programmatic = 1 AND expires > ?", (self._clock(),)
        ).fetchone()
        if count >= PROGRAMMATIC_KEYS:
            raise refuse("apikey.too_many", count=PROGRAMMATIC_KEYS)
        return self.issue_key(str(kwargs.get("name") or "rpc"), days, programmatic=True)

    def _revoke(self, kwargs: dict[str, Any]) -> bool:
        key = str(kwargs.get("key", ""))
        if self.key_uid(key) is None:
            raise refuse("apikey.revoke_invalid")
        self.book.db.execute("DELETE FROM apikeys WHERE digest = ?", (_digest(key),))
        return True


def _customer_payment(record: Record, direction: str) -> bool:
    """Money received from (``inbound``) or paid back to (``outbound``) a customer."""
    return record.get("partner_type") == "customer" and record.get("payment_type") == direction


def is_write(method: str) -> bool:
    return method not in READ_METHODS


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _days_until(expiration: Any) -> float:
    try:
        day = date.fromisoformat(str(expiration))
    except ValueError:
        raise refuse("apikey.bad_expiration", value=expiration) from None
    moment = datetime.combine(day, datetime.min.time(), UTC)
    return (moment - datetime.now(UTC)) / timedelta(days=1)


def _seed(book: OdooBook, home_currency: str) -> int:
    """Currencies, the income account, journals, sale taxes, the company, countries and
    states on a new database (no product: the mapping names none); returns the company
    currency's id."""
    if book.empty:
        codes = [c for c in CURRENCIES if c[0] == home_currency] or [
            (home_currency, home_currency, 2)
        ]
        for code, symbol, places in codes + [c for c in CURRENCIES if c[0] != home_currency]:
            book.add(
                "res.currency",
                {"name": code, "symbol": symbol, "decimal_places": places, "active": True},
            )
        income = book.add(
            "account.account",
            {"code": "400000", "name": "Product Sales", "account_type": "income"},
        )
        book.add(
            "account.journal",
            {
                "name": "Customer Invoices",
                "code": "INV",
                "type": "sale",
                "default_account_id": income["id"],
            },
        )
        book.add("account.journal", {"name": "Bank", "code": "BNK1", "type": "bank"})
        for rate in SALE_TAX_RATES:
            book.add("account.tax", _tax(rate))
        book.add(
            "res.partner",
            {"name": "My Company", "is_company": True, "customer_rank": 0, "active": True},
        )
        seed_countries(book)
    return _currency_id(book, home_currency)


def _tax(rate: str) -> Record:
    return {
        "name": f"{rate}%",
        "amount_type": "percent",
        "amount": Decimal(rate),
        "type_tax_use": "sale",
        "price_include": False,
        "active": True,
    }


def _currency_id(book: OdooBook, code: str) -> int:
    for currency in book.all("res.currency"):
        if currency["name"] == code:
            return int(currency["id"])
    raise refuse("setup.unknown_currency", code=code)
