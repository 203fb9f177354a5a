"""What a company configures for finance alerts: ``[[alert_channels]]`` tables.

```toml
[[alert_channels]]
name = "finance-slack"            # [a-z0-9_-], unique; events and `alerts` name it
kind = "slack"                    # slack | teams | webhook | email
url_env = "FINANCE_SLACK_URL"     # the variable holding the URL (Slack/Teams URLs are secrets)
topics = ["mismatch", "abandoned"]
min_amount = { USD = "100.00" }   # per currency; no exchange rate is ever assumed
open_longer_than = "2h"           # tell only once a mismatch stayed open this long
digest = "daily"                  # one message a day instead of one per alert
digest_at = "08:00"               # UTC
```

Secrets (a Slack or Teams URL, a ``whsec_`` signing secret, an SMTP password) are never
written in the file: it names the environment variable that holds them.
"""

from __future__ import annotations

import os
import re
from datetime import time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncledger.core.errors import ConfigurationError

ChannelKind = Literal["slack", "teams", "webhook", "email"]
#: what can raise an alert: a mismatch found (and, if asked, cleared), a push abandoned
#: after its attempts ran out, a legal hold placed, a retention run done
Topic = Literal["mismatch", "resolved", "abandoned", "hold", "retention"]
TOPICS: tuple[Topic, ...] = ("mismatch", "resolved", "abandoned", "hold", "retention")
#: seconds to wait after failed attempt 1, 2, … (SOURCES §4.5, Svix: immediately, 5 s,
#: 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): eight attempts over about 27.5 h
DEFAULT_RETRY_DELAYS_S: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str | float) -> float:
    """``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration (e.g. 90s, 5m, 2h, 1d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


class AlertChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: ChannelKind
    # ---------------------------------------------------------------- where
    url: str | None = Field(default=None, description="a URL that is no secret (webhook)")
    url_env: str | None = Field(default=None, description="variable holding the URL")
    secret_env: str | None = Field(
        default=None, description="webhook: variable holding the whsec_ signing secret"
    )
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    password_env: str | None = Field(default=None, description="variable holding the password")
    mail_from: str | None = None
    mail_to: tuple[str, ...] = ()
    timeout_s: float = Field(default=15.0, gt=0, le=60, allow_inf_nan=False)
    # ---------------------------------------------------------------- what
    topics: tuple[Topic, ...] = ("mismatch", "abandoned")
    entities: tuple[str, ...] = Field(default=(), description="empty: every entity")
    ledgers: tuple[str, ...] = Field(default=(), description="empty: every ledger")
    mismatch_types: tuple[str, ...] = Field(default=(), description="empty: every type")
    min_amount: dict[str, Decimal] = Field(
        default_factory=dict,
        description=(
            "per currency: a mismatch whose amount at stake is below this is not told; "
            "a currency without an entry is always told"
        ),
    )
    open_longer_than: float = Field(
        default=0.0, description="tell a mismatch only once it stayed open this long"
    )
    digest: Literal["none", "daily"] = "none"
    digest_at: time = Field(default=time(8, 0), description="UTC time the daily digest goes")

    @field_validator("open_longer_than", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        if isinstance(value, str | int | float):
            return parse_duration(value)
        raise ValueError("a duration: 90s, 5m, 2h or 1d")

    @field_validator("min_amount")
    @classmethod
    def _currencies(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise ValueError(f"{currency!r} is not an ISO 4217 currency code (e.g. USD)")
            if amount < 0:
                raise ValueError(f"min_amount for {currency} is negative")
        return value

    @model_validator(mode="after")
    def _where(self) -> AlertChannelConfig:
        if self.kind == "email":
            if not self.smtp_host or not self.mail_from or not self.mail_to:
                raise ValueError(f"email channel {self.name}: set smtp_host, mail_from, mail_to")
        elif not (self.url or self.url_env):
            raise ValueError(f"{self.kind} channel {self.name}: set url_env (or url)")
        if self.kind in ("slack", "teams") and self.url:
            raise ValueError(
                f"{self.kind} channel {self.name}: its URL is a secret: put it in an "
                "environment variable and name that variable in url_env"
            )
        if self.kind == "webhook" and not self.secret_env:
            raise ValueError(f"webhook channel {self.name}: set secret_env (a whsec_ secret)")
        return self

    def secret(self, variable: str | None) -> str:
        """The value of the environment variable ``variable`` names (never logged)."""
        if variable is None:
            raise ConfigurationError(f"alert channel {self.name}: no variable named")
        value = os.environ.get(variable)
        if not value:
            raise ConfigurationError(
                f"alert channel {self.name}: environment variable {variable} is not set"
            )
        return value

    def target_url(self) -> str:
        return self.url if self.url else self.secret(self.url_env)
