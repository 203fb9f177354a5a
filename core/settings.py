"""Configuration: ``SYNCLEDGER_*`` environment variables (and a ``syncledger.toml``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, TomlConfigSettingsSource
from pydantic_settings.sources import PydanticBaseSettingsSource

from syncledger.core.alert_config import DEFAULT_RETRY_DELAYS_S, AlertChannelConfig
from syncledger.core.customer_details import CUSTOMER_FIELDS
from syncledger.core.data_map import TransferRules
from syncledger.core.key_environment import Environment
from syncledger.core.redact import mask_url
from syncledger.core.rollout import RolloutRule

Authority = Literal["source", "ledger"]
_NATS_SCHEMES = frozenset({"nats", "tls", "ws", "wss"})
_REPLICAS = frozenset({1, 3, 5})
_URL_FIELDS = frozenset({"nats_url", "database_url", "ledger_url", "source_url"})
#: what an ``[entity_ledgers.<name>]`` table may set for its entity
_TABLE_FIELDS = ("ledger", "ledger_url", "home_currency")


def nats_servers(url: str) -> list[str]:
    """The servers a NATS URL setting names: ``nats://a:4222,nats://b:4222`` is two (a
    cluster's nodes), as NATS clients take them (a list)."""
    return [one.strip() for one in url.split(",") if one.strip()]


def _default_authority() -> dict[str, Authority]:
    return {"customer": "source", "invoice": "ledger", "credit_note": "ledger"}


class EntityLedger(BaseModel):
    """One entity's ledger for ``run --entities`` (a ``[entity_ledgers.<name>]`` table in
    syncledger.toml); what is left out is the top-level setting's. Its tokens are kept in
    ``<data dir>/tokens/<entity>/<ledger>.json``; the app's client id and secret stay in
    ``SYNCLEDGER_<LEDGER>_*`` (one app, many companies)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ledger: str | None = Field(default=None, description="ledger id, e.g. qbo")
    ledger_url: str | None = Field(default=None, description="the ledger's API base URL")
    tenant: str | None = Field(
        default=None, description="realm / tenant / organisation id; unset: the one connected"
    )
    home_currency: str | None = Field(default=None, description="the ledger company's currency")

    @field_validator("ledger", mode="before")
    @classmethod
    def _ledger_id(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYNCLEDGER_", toml_file="syncledger.toml", extra="ignore"
    )

    data_dir: Path = Field(default=Path(".syncledger"), description="local state")
    nats_url: str | None = Field(default=None, description="unset: embedded nats-server")
    nats_user: str | None = Field(
        default=None, description="with SYNCLEDGER_NATS_URL: the app's NATS user (README Security)"
    )
    nats_password_file: Path | None = Field(
        default=None, description="file holding the app user's NATS password (a secret)"
    )
    nats_admin_user: str | None = Field(
        default=None,
        description=(
            "with SYNCLEDGER_NATS_URL: a NATS user that may create streams, used only at "
            "first-time setup to create the log; unset it afterwards"
        ),
    )
    nats_admin_password_file: Path | None = Field(
        default=None, description="file holding the admin user's NATS password"
    )
    nats_reconnect_s: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description=(
            "how long a process tries to reconnect after losing NATS before it stops with "
            "an error (`run` exits non-zero)"
        ),
    )
    stream: str = "SYNCLEDGER"
    stream_replicas: int = Field(
        default=1,
        description=(
            "copies of the log stream and the SL_LEASES bucket kept by a NATS cluster (1, 3 "
            "or 5; more than 1 needs SYNCLEDGER_NATS_URL naming a JetStream cluster); used "
            "when they are created, an existing stream keeps its own"
        ),
    )
    database_url: str | None = Field(
        default=None, description="projections DB; unset: SQLite in the data dir"
    )
    entity: str = "demo"
    entities: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "`run`: the entities this worker shares with the other workers (a,b,c); each "
            "worker owns its fair share of them (docs/operations.md, Scaling out)"
        ),
    )
    entity_ledgers: dict[str, EntityLedger] = Field(
        default_factory=dict,
        description=(
            "per entity of `entities`: its ledger, ledger URL, tenant and home currency "
            "(`[entity_ledgers.<name>]` tables in syncledger.toml)"
        ),
    )
    ledger: str = "qbo"
    ledger_url: str | None = Field(
        default=None, description="ledger API base URL; unset: the in-process sandbox"
    )
    home_currency: str = Field(default="USD", description="the ledger company's currency")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="`run` and `sync` serve Prometheus metrics on /metrics at this port",
    )
    metrics_addr: str = Field(default="127.0.0.1", description="the address /metrics listens on")
    rate_scale: float = Field(
        default=1.0,
        gt=0,
        allow_inf_nan=False,
        description=(
            "in-process sandbox only: multiply its request limits and the adapter's client-side "
            "ones (1 = the platform's own); a ledger URL is always reached at 1"
        ),
    )
    ack_wait_s: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description="a crashed worker's message is redelivered after this",
    )
    ledger_wait_s: float = Field(
        default=30.0,
        gt=0,
        allow_inf_nan=False,
        description=(
            "`sync --once`: how long to wait for a ledger that does not answer before "
            "stopping with one line (the records wait in the log)"
        ),
    )
    lease_ttl_s: float = Field(
        default=15.0,
        ge=1.0,
        allow_inf_nan=False,
        description=(
            "push lease (one owner per entity+ledger): a killed owner's lease lapses after "
            "this and the owner renews it every third of it; the SL_LEASES bucket is created "
            "with it, and an existing bucket keeps its own"
        ),
    )
    field_authority: dict[str, Authority] = Field(
        default_factory=_default_authority,
        description=(
            "per record kind, who wins when the ledger record was edited since our last write: "
            "`source` overwrites (and logs the conflict), `ledger` keeps the edit for review"
        ),
    )
    customer_field_authority: dict[str, Authority] = Field(
        default_factory=dict,
        description=(
            "per customer detail (email, phone, billing_address), who owns it: `ledger` "
            "writes a bookkeeper's change back to the source record; unset or `source`: "
            "one-way, nothing flows back"
        ),
    )
    backsync_every_s: float = Field(
        default=60.0, gt=0, allow_inf_nan=False, description="`run`: poll ledger changes"
    )
    checkpoint_every_s: float = Field(
        default=300.0, gt=0, allow_inf_nan=False, description="`run`: sign audit checkpoints"
    )
    source: str = Field(
        default="csv",
        description="the source system: csv, webhooks, hubspot, jobber, google-contacts",
    )
    source_url: str | None = Field(
        default=None, description="the source's API base URL; unset: its in-process sandbox"
    )
    source_dir: Path | None = Field(
        default=None, description="`run`: a CSV directory to poll for source changes"
    )
    serve_port: int = Field(
        default=8089, ge=0, le=65535, description="`serve`: the port webhooks are posted to"
    )
    serve_addr: str = Field(default="127.0.0.1", description="`serve`: the address it listens on")
    serve_public_url: str | None = Field(
        default=None,
        description=(
            "`serve` behind a proxy: the public base URL senders post to (signatures cover it)"
        ),
    )
    console_token_file: Path | None = Field(
        default=None,
        description=(
            "`serve`: a file holding the console's operator token; unset, the console is "
            "read-only (docs/console.md)"
        ),
    )
    source_poll_every_s: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, description="`run`: source poll interval"
    )
    reconcile_every_s: float = Field(
        default=900.0, gt=0, allow_inf_nan=False, description="`run`: reconcile interval"
    )
    reconcile_full_every_s: float = Field(
        default=86_400.0,
        gt=0,
        description=(
            "a full reconciliation sweep (every ledger record read) at most this often; "
            "runs in between read only the ledger's changes (docs/reconciliation.md)"
        ),
    )
    kek_file: Path | None = Field(default=None, description="key-encryption key file")
    environment: Environment = Field(
        default="dev",
        description=(
            "dev | staging | prod: the keys (keys.db, KEK, signing keyring, escrow shares) "
            "record it and refuse another; production sets prod (docs/audit.md §3)"
        ),
    )
    alert_channels: list[AlertChannelConfig] = Field(
        default_factory=list,
        description=(
            "finance alert channels: `[[alert_channels]]` tables in syncledger.toml "
            "(docs/alerts.md); `run` raises and delivers their alerts"
        ),
    )
    alert_retry_delays_s: tuple[float, ...] = Field(
        default=DEFAULT_RETRY_DELAYS_S,
        min_length=1,
        description="seconds between an alert's attempts (default 5s, 5m, 30m, 2h, 5h, 10h, 10h)",
    )
    alerts_every_s: float = Field(
        default=2.0, gt=0, allow_inf_nan=False, description="`run`: how often due alerts are tried"
    )
    rollout: RolloutRule | None = Field(
        default=None,
        description=(
            "incremental rollout: a `[rollout]` table in syncledger.toml (customers, tags + "
            "tag_field, regions + region_field); only records of customers in scope are "
            "pushed, the others wait for rollout (docs/operations.md); unset: everything"
        ),
    )
    data_regions: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "where each connection holds data: `[data_regions]` in syncledger.toml, "
            'connection id -> region (e.g. hubspot = "EU", qbo = "US"); the data map '
            "(`syncledger audit data-map`) and transfer rules read it"
        ),
    )
    transfer: TransferRules | None = Field(
        default=None,
        description=(
            "transfer rules for personal data: a `[transfer]` table (allowed_regions, "
            "mechanism, approved_by, approved_on); customers whose personal data may not go "
            "to the ledger's region are refused transfer_not_allowed; unset: none refused"
        ),
    )
    witnesses: str | None = Field(
        default=None,
        description=(
            "checkpoint witnesses (C2SP tlog-witness): '<URL> <witness vkey>' entries "
            "separated by commas; `audit checkpoint` asks each to cosign (docs/audit.md §2)"
        ),
    )
    worm_url: str | None = Field(
        default=None, description="S3 endpoint to publish each checkpoint to (Object Lock)"
    )
    worm_bucket: str | None = Field(
        default=None, description="the S3 bucket (created with Object Lock enabled)"
    )
    worm_region: str = Field(default="us-east-1", description="the S3 region (SigV4)")
    worm_prefix: str = Field(default="checkpoints/", description="object key prefix")
    worm_retain_days: int = Field(
        default=2557, gt=0, description="COMPLIANCE-mode retention of each object, in days"
    )
    worm_access_key_id: str | None = Field(default=None, description="S3 access key id")
    worm_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key (never logged)"
    )
    actor: str = "syncledger"
    _top_ledger: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    database_url_file: Path | None = Field(
        default=None, description="file holding the database URL (a container secret)"
    )

    @field_validator("nats_url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        """NATS server URLs (``nats://host:4222``; ``tls://``, ``ws://``, ``wss://``;
        several separated by commas)."""
        if not value:
            return value
        servers = [urlsplit(one.strip()) for one in value.split(",")]
        if any(p.scheme not in _NATS_SCHEMES or not p.hostname for p in servers):
            raise ValueError(
                "not a NATS server URL: give nats://host:4222 (or tls://, ws://, wss://), "
                "or unset it to use the embedded server"
            )
        return value

    @field_validator("serve_public_url")
    @classmethod
    def _serve_public_url(cls, value: str | None) -> str | None:
        """An absolute ``http(s)://host[:port][/prefix]`` with no query, fragment or
        credentials: the base a webhook's path is joined to before its signature is checked
        (``core/serve.py``). The value is not echoed back: it may carry a secret."""
        if not value:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "give the public base URL senders post to, e.g. https://hooks.example.com"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(
                "give only scheme, host, port and path prefix: a query, fragment or "
                "credentials cannot be part of the base webhook paths are joined to"
            )
        return value.strip().rstrip("/")

    @field_validator("stream_replicas")
    @classmethod
    def _stream_replicas(cls, value: int, info: ValidationInfo) -> int:
        """1, 3 or 5 (a RAFT group of an odd size; JetStream allows at most 5), and more
        than 1 only on a server named by URL: the embedded server is a single node."""
        if value not in _REPLICAS:
            raise ValueError("give 1, 3 or 5 (copies of the log in a NATS cluster)")
        if value > 1 and not info.data.get("nats_url"):
            raise ValueError(
                f"{value} copies need a NATS cluster: set SYNCLEDGER_NATS_URL to its servers "
                "(the embedded nats-server is a single node), or leave this at 1"
            )
        return value

    @field_validator("customer_field_authority", mode="before")
    @classmethod
    def _customer_fields(cls, value: object) -> object:
        """Only the customer details the reverse direction knows (one line for another)."""
        if isinstance(value, dict):
            unknown = sorted(str(k) for k in value if k not in CUSTOMER_FIELDS)
            if unknown:
                raise ValueError(
                    f"unknown customer field {unknown[0]!r}: give {', '.join(CUSTOMER_FIELDS)}"
                )
        return value

    @field_validator("ledger", mode="before")
    @classmethod
    def _ledger_id(cls, value: object) -> object:
        """Ledger ids are case-insensitive: ``QBO`` is ``qbo``."""
        return value.strip().lower() if isinstance(value, str) else value

    def model_post_init(self, context: Any, /) -> None:
        """The entity's ``[entity_ledgers.<name>]`` table, if it has one, names its ledger
        (the top-level values are kept for :meth:`for_entity`)."""
        self._top_ledger = {name: getattr(self, name) for name in _TABLE_FIELDS}
        table = self.entity_ledgers.get(self.entity)
        if table is not None:
            for name, value in table.model_dump(include=set(_TABLE_FIELDS)).items():
                if value is not None:
                    object.__setattr__(self, name, value)

    def for_entity(self, name: str) -> Settings:
        """These settings for entity ``name``: the top-level ledger, or its table's."""
        values = {**self.model_dump(), **self._top_ledger, "entity": name}
        return Settings.model_validate(values)

    @property
    def ledger_tenant(self) -> str | None:
        """The tenant the entity's table names (None: the one ``connect`` chose)."""
        table = self.entity_ledgers.get(self.entity)
        return table.tenant if table is not None else None

    def ledger_token_file(self, ledger: str) -> Path:
        """Where ``ledger``'s tokens are kept: per entity for an entity whose table names
        its own ledger URL (its own company), else ``<data dir>/tokens/<ledger>.json``."""
        table = self.entity_ledgers.get(self.entity)
        if table is None or table.ledger_url is None:
            return self.data_dir / "tokens" / f"{ledger}.json"
        safe = re.sub(r"[^A-Za-z0-9_.=-]", "_", self.entity).lstrip(".") or "_"
        return self.data_dir / "tokens" / safe / f"{ledger}.json"

    @field_validator("entities", mode="before")
    @classmethod
    def _entity_names(cls, value: object) -> object:
        """``a,b,c`` (a variable or ``--entities``) or a list; each name once, in order."""
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list):
            return names
        cleaned = [str(n).strip() for n in names if str(n).strip()]
        return list(dict.fromkeys(cleaned))

    @property
    def projections_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.database_url_file is not None:
            return self.database_url_file.read_text().strip()
        return f"sqlite:///{self.data_dir / 'syncledger.projections.db'}"

    @property
    def key_file(self) -> Path:
        return self.kek_file or self.data_dir / "kek.key"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The repr (and str) shows URLs without their passwords."""
        for name, value in super().__repr_args__():
            masked = name in _URL_FIELDS and isinstance(value, str)
            yield name, mask_url(value) if masked else value
