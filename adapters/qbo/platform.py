"""QuickBooks Online as a :class:`syncledger.adapters.platforms.Platform`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.applications import Starlette

from syncledger.adapters.kit import wire_oauth
from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.platforms import Connection, checked_rate_scale
from syncledger.adapters.qbo.ledger import QBO_BATCH_RATE, QBO_RATES, QboLedger
from syncledger.adapters.qbo.oauth import CONNECT
from syncledger.adapters.qbo.sandbox import server as sandbox
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.core.errors import ConfigurationError
from syncledger.core.ports import LedgerAdapter


class QboPlatform(kit.ServedSandbox):
    id = "qbo"
    title = "QuickBooks Online"
    sandbox_url = "http://qbo.sandbox.local"
    credential_names = (
        "client_id",
        "client_secret",
        "refresh_token",
        "realm_id",
        # tuning, e.g. for a sandbox configured differently from QBO's published limits
        "requests_per_second",
        "requests_per_minute",
        "timeout",
    )
    requests_per_minute = QboLedger.capabilities.requests_per_minute
    server = sandbox

    def sandbox_app(
        self, book: Path | None, *, home_currency: str = "USD", rate_scale: float = 1.0
    ) -> Starlette:
        """QBO's published limits (the adapter's ``QBO_RATES`` and ``QBO_BATCH_RATE``, the
        sandbox's defaults) times ``rate_scale``."""
        scale = checked_rate_scale(rate_scale)
        per_second, per_minute = (rate.scaled(scale).limit for rate in QBO_RATES)
        return sandbox.create_app(
            book,
            home_currency=home_currency,
            per_second=per_second,
            per_minute=per_minute,
            batch_per_minute=QBO_BATCH_RATE.scaled(scale).limit,
        )

    def connect(self, connection: Connection) -> LedgerAdapter:
        creds = connection.credentials
        base = connection.base_url.rstrip("/")
        wire_oauth.live_granted(connection, CONNECT, base)
        return QboLedger.connect(
            realm_id=connection.tenant or creds.get("realm_id") or CONNECT.sandbox.tenant,
            auth=wire_oauth.ledger_auth(connection, CONNECT, sandbox, base),
            base_url=base,
            transport=connection.transport,
            limiter=_limiter(creds, connection.rate_scale),
            batch_limiter=RateLimiter(QBO_BATCH_RATE.scaled(connection.rate_scale)),
            timeout=_number(creds, "timeout", 30.0),
        )


def _number(creds: Mapping[str, str], name: str, default: float) -> float:
    raw = creds.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"SYNCLEDGER_QBO_{name.upper()}={raw!r} is not a number") from exc
    if value <= 0:
        raise ConfigurationError(f"SYNCLEDGER_QBO_{name.upper()} must be positive")
    return value


def _limiter(creds: Mapping[str, str], rate_scale: float) -> RateLimiter:
    """QBO's published limits (10/s, 500/min per realm) unless told otherwise, times
    ``rate_scale``."""
    per_second, per_minute = (rate.limit for rate in QBO_RATES)
    return RateLimiter(
        Rate(int(_number(creds, "requests_per_second", per_second)), 1.0).scaled(rate_scale),
        Rate(int(_number(creds, "requests_per_minute", per_minute)), 60.0).scaled(rate_scale),
    )


PLATFORM = QboPlatform()
