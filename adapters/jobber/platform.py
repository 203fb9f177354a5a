"""Jobber as a :class:`~syncledger.adapters.sources.registry.SourcePlatform`.

Settings (``SYNCLEDGER_JOBBER_<NAME>``): ``client_id``, ``client_secret`` (also the webhook
signing key), ``refresh_token`` (the first grant; rotated ones live in the token file),
``api_version`` (``X-JOBBER-GRAPHQL-VERSION``, default 2025-04-16), ``currency`` (Jobber
documents no currency on clients or invoices). OAuth: ``POST /api/oauth/token`` with the
client credentials in the form (Jobber's examples send ``client_id``/``client_secret`` in
the body: tainora/jobber-python-client, GitHub file id 18569944209); refresh tokens rotate
(https://developer.getjobber.com/docs/building_your_app/refresh_token_rotation) and
``adapters.oauth2`` persists each new pair atomically before using it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.jobber.client import VERSION_HEADER, JobberGraphQL
from syncledger.adapters.jobber.errors import translate
from syncledger.adapters.jobber.mapping import SourceMapping
from syncledger.adapters.jobber.sandbox import server as sandbox
from syncledger.adapters.jobber.sandbox.person import JobberDemo
from syncledger.adapters.jobber.source import JobberSource
from syncledger.adapters.kit import wire_platform as kit
from syncledger.adapters.ratelimit import Rate, RateLimiter
from syncledger.adapters.sources.registry import (
    DemoSandbox,
    SourceConnection,
    personal_from_table,
)
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceReader

PRODUCTION_URL = "https://api.getjobber.com"
DEFAULT_VERSION = "2025-04-16"
#: https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits/
REQUESTS = Rate(2500, 300.0)
_SETTINGS = ("client_id", "client_secret", "refresh_token", "api_version", "currency")


class JobberPlatform:
    id = "jobber"
    title = "Jobber"
    sandbox_url: str | None = "http://jobber.sandbox.local"
    ref_aliases: dict[str, tuple[str, str]] = {}  # noqa: RUF012 - read only
    credential_names = _SETTINGS

    def connect(self, connection: SourceConnection) -> SourceReader:
        creds = connection.credentials
        base = (connection.base_url or self.sandbox_url or "").rstrip("/")
        live = base == PRODUCTION_URL
        if live and not all(
            creds.get(n) for n in ("client_id", "client_secret", "refresh_token", "currency")
        ):
            raise ConfigurationError(
                "set SYNCLEDGER_JOBBER_CLIENT_ID, SYNCLEDGER_JOBBER_CLIENT_SECRET, "
                "SYNCLEDGER_JOBBER_REFRESH_TOKEN and SYNCLEDGER_JOBBER_CURRENCY to read from Jobber"
            )
        token_url = f"{base}/api/oauth/token"
        client = kit.oauth_client(connection, token_url, sandbox, credentials_in="body")
        auth = kit.refresh_auth(connection, client, sandbox)
        http = LedgerHttp(
            platform="jobber",
            base_url=base,
            auth=auth,
            limiter=RateLimiter(REQUESTS.scaled(connection.rate_scale)),
            translate=translate,
            transport=connection.transport,
            headers={VERSION_HEADER: creds.get("api_version") or DEFAULT_VERSION},
        )
        return JobberSource(
            JobberGraphQL(http),
            SourceMapping.load(),
            currency=creds.get("currency") or "USD",
            client_secret=client.client_secret.get_secret_value(),
        )

    def sandbox_app(self, book: Path | None, *, rate_scale: float = 1.0) -> Starlette | None:
        return sandbox.create_app(book, rate_scale=rate_scale)

    def demo_sandbox(self, *, rate_scale: float = 1.0) -> DemoSandbox | None:
        return JobberDemo(rate_scale=rate_scale)

    def mapping_file(self) -> Path | None:
        return Path(str(resources.files("syncledger.adapters.jobber") / "source_mapping.toml"))

    def personal_fields(self) -> Mapping[str, tuple[str, ...]]:
        """The ``[customer]`` table of the source mapping."""
        path = self.mapping_file()
        assert path is not None
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return personal_from_table(raw.get("customer") or {})


SOURCE = JobberPlatform()
