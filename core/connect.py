"""``syncledger connect <ledger>`` and ``syncledger connections``: part of the composition
root (it reaches the platforms' connect facts in ``adapters/<platform>/oauth.py``).

Connecting (the OAuth ledgers: QuickBooks Online, Xero, FreshBooks, Zoho Books, Sage; each
one's facts are an ``OAuthPlatform`` in ``adapters/<platform>/oauth.py``):

1. the app's client id and secret: ``--client-id`` / ``--client-secret`` or
   ``SYNCLEDGER_<LEDGER>_CLIENT_ID`` / ``_CLIENT_SECRET``; a sandbox address
   (``SYNCLEDGER_LEDGER_URL`` naming a served sandbox) defaults to the sandbox's public ones;
2. the authorization URL (state, PKCE where the platform documents it:
   ``adapters/oauth2_connect.py``), opened in a browser with a loopback listener waiting
   for the redirect (``core/connect_listener.py``), or printed with ``--no-browser`` (or
   when the app's registered redirect URI is not on this machine: FreshBooks checks it)
   and the address the browser ended on pasted back;
3. the code exchanged for tokens, stored at once where ``sync`` reads them
   (``<data-dir>/tokens/<ledger>.json``, 0600, atomic; refreshed and rotated as before;
   with ``--entity <name>`` for an entity whose ``[entity_ledgers.<name>]`` table names its
   own ledger URL, its own company: ``<data-dir>/tokens/<name>/<ledger>.json``,
   ``Settings.ledger_token_file``, where its ``sync`` and ``run --entities`` partition read
   them);
4. the tenant: QBO's ``realmId`` from the redirect, Xero's from ``/connections``,
   FreshBooks' account from its identity, Zoho's organisation from ``/organizations``,
   Sage's business from ``/businesses``
   (``--tenant`` id or name, else the entity table's ``tenant``; one: taken; several:
   asked), stored beside the tokens
   (``<ledger>.connection.json``) where opening the ledger reads it;
5. ``LedgerConnected`` appended to the log (ledger, tenant, scopes, when; no token).

The token-based ledgers (NetSuite, Odoo) are connected by ``core/connect_credentials.py``
through the same command; ``connections`` tells both kinds: every ledger's shared
connection, then each entity's that has its own (its table's ledger), or with
``--entity`` only what that entity uses. An ``--entity`` the configuration does not name
(``SYNCLEDGER_ENTITY``, ``SYNCLEDGER_ENTITIES``, an ``[entity_ledgers.<name>]`` table) is
one line and exit 2: tokens stored under a misspelt name would never be read.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
from pydantic import SecretStr

from syncledger.adapters.oauth2 import FileTokenStore, OAuth2Client
from syncledger.adapters.oauth2_connect import (
    AuthorizationRequest,
    ConnectionRecord,
    OAuthLedger,
    Tenant,
    authorization_request,
    exchange_code,
    load_connection,
    redirect_of,
    save_connection,
)
from syncledger.core.connect_credentials import (
    CREDENTIAL_LEDGERS,
    CredentialField,
    CredentialLedger,
    CredentialsRefused,
    check,
    credential_ledger,
    credentials_file,
    gather,
    note_refusal,
    refused_at_last_check,
    store,
)
from syncledger.core.connect_listener import RedirectListener
from syncledger.core.errors import ConfigurationError
from syncledger.core.events import LedgerConnected, make_envelope, subject_for
from syncledger.core.ledgers import credentials
from syncledger.core.settings import Settings

OAUTH_LEDGERS: dict[str, str] = {
    "qbo": "syncledger.adapters.qbo.oauth",
    "xero": "syncledger.adapters.xero.oauth",
    "freshbooks": "syncledger.adapters.freshbooks.oauth",
    "zoho-books": "syncledger.adapters.zoho.oauth",
    "sage": "syncledger.adapters.sage.oauth",
}
#: the address a real platform's app registers; a sandbox takes any, so a free port is used
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8470/callback"
Status = Literal["connected", "expired", "revoked", "refused", "never"]


@dataclass(frozen=True)
class ConnectOptions:
    ledger: str
    client_id: str | None = None
    client_secret: SecretStr | None = None
    tenant: str | None = None
    no_browser: bool = False
    redirect_uri: str | None = None
    timeout: float = 300.0
    values: tuple[tuple[str, str], ...] = ()  # a token ledger's flags (name, value)
    entity: str | None = None  # --entity: the entity connected (its own tokens, if any)


@dataclass(frozen=True)
class Consent:
    """How the command talks to the person connecting (the CLI's prompts; tests' own)."""

    show: Callable[[str], None]
    paste: Callable[[str], str]
    choose: Callable[[list[Tenant]], Tenant]
    open_browser: Callable[[str], object]
    ask: Callable[[CredentialField], str] = lambda wanted: ""  # hidden input for secrets


def oauth_ledger(ledger: str) -> OAuthLedger:
    module = OAUTH_LEDGERS.get(ledger)
    if module is None:
        known = ", ".join([*OAUTH_LEDGERS, *CREDENTIAL_LEDGERS])
        raise ConfigurationError(
            f"`syncledger connect {ledger}` is not available: the ledgers are {known}"
        )
    found: OAuthLedger = importlib.import_module(module).CONNECT
    return found


def token_file(settings: Settings, ledger: str) -> Path:
    """Where ``open_ledger`` reads the ledger's tokens (per entity for an entity with a
    ledger of its own)."""
    return settings.ledger_token_file(ledger)


def configured_entities(settings: Settings) -> list[str]:
    """The entities the configuration names: the default one, ``entities``, and those
    with an ``[entity_ledgers.<name>]`` table, each once."""
    return list(dict.fromkeys([settings.entity, *settings.entities, *settings.entity_ledgers]))


def require_entity(settings: Settings, entity: str) -> None:
    """Refuse an entity ``settings`` (loaded without ``--entity``) does not name."""
    known = configured_entities(settings)
    if entity not in known:
        raise ConfigurationError(
            f"unknown entity {entity!r}: the configured ones are {', '.join(known)}; name it "
            "in SYNCLEDGER_ENTITIES or an [entity_ledgers.<name>] table in syncledger.toml"
        )


def own_ledger(settings: Settings, entity: str) -> bool:
    """Whether ``entity`` has a ledger of its own (its table names a ledger URL), so its
    tokens are its own."""
    table = settings.entity_ledgers.get(entity)
    return table is not None and table.ledger_url is not None


# ------------------------------------------------------------------ connect


async def connect_oauth(
    settings: Settings, options: ConnectOptions, consent: Consent
) -> ConnectionRecord:
    """The whole flow; the record stored (the event is appended by ``record_connected``)."""
    spec = oauth_ledger(options.ledger)
    client = _client(spec, settings.ledger_url, options)
    request, answer = _consent(spec, settings.ledger_url, client.client_id, options, consent)
    redirect = redirect_of(request, answer)
    tokens_at = token_file(settings, spec.id)
    client = replace(client, token_url=spec.token_url_for(settings.ledger_url, redirect))
    async with httpx.AsyncClient(timeout=30.0) as http:
        granted = await exchange_code(http, client, request, redirect)
        FileTokenStore(tokens_at).save(granted.tokens)  # before anything else can fail
        found = await spec.tenants(http, settings.ledger_url, granted.tokens, redirect)
    tenant = choose_tenant(spec, found, options.tenant or settings.ledger_tenant, consent)
    scopes = granted.scopes or spec.server(settings.ledger_url).scopes
    record = ConnectionRecord(
        ledger=spec.id,
        tenant=tenant.id,
        tenant_name=tenant.name,
        scopes=scopes,
        connected_at=time.time(),
        refresh_ttl=granted.refresh_expires_in or spec.refresh_ttl,
        ledger_url=settings.ledger_url,
    )
    save_connection(tokens_at, record)
    return record


def _client(spec: OAuthLedger, ledger_url: str | None, options: ConnectOptions) -> OAuth2Client:
    given = credentials(spec.id, ("client_id", "client_secret"))
    client_id = options.client_id or given.get("client_id")
    secret = options.client_secret.get_secret_value() if options.client_secret else None
    secret = secret or given.get("client_secret")
    if spec.is_sandbox(ledger_url):
        client_id = client_id or spec.sandbox.client_id
        secret = secret or spec.sandbox.client_secret
    if not (client_id and secret):
        prefix = f"SYNCLEDGER_{spec.id.upper()}"
        raise ConfigurationError(
            f"connecting {spec.title} needs your app's client id and secret: set "
            f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET (or --client-id / "
            f"--client-secret); docs/connect-*.md says where the developer portal shows them"
        )
    return OAuth2Client(
        token_url=spec.server(ledger_url).token_url,
        client_id=client_id,
        client_secret=SecretStr(secret),
        credentials_in=spec.credentials_in,
    )


def _consent(
    spec: OAuthLedger,
    ledger_url: str | None,
    client_id: str,
    options: ConnectOptions,
    consent: Consent,
) -> tuple[AuthorizationRequest, str]:
    """The authorization request and the answer: pasted, or caught by the listener."""
    server = spec.server(ledger_url)
    registered = options.redirect_uri or _registered_redirect(spec, ledger_url)
    if options.no_browser or not _loopback(registered):
        redirect_uri = registered or DEFAULT_REDIRECT_URI
        request = authorization_request(server, client_id, redirect_uri)
        consent.show(
            f"Open this address, allow access, then paste the address it ends on:\n{request.url}"
        )
        return request, consent.paste("address (or code)")
    host, port, path = _listen_at(registered, sandbox=spec.is_sandbox(ledger_url))
    with RedirectListener(host, port, path) as listener:
        request = authorization_request(server, client_id, listener.redirect_uri)
        consent.show(
            f"Opening {spec.title} in your browser. If it does not open, go to:\n{request.url}"
        )
        consent.open_browser(request.url)
        return request, listener.wait(options.timeout)


def _registered_redirect(spec: OAuthLedger, ledger_url: str | None) -> str | None:
    """The redirect URI the app registered, where the platform needs it on every grant
    (FreshBooks: ``SYNCLEDGER_FRESHBOOKS_REDIRECT_URI``; a sandbox's registered one)."""
    given = credentials(spec.id, ("redirect_uri",)).get("redirect_uri")
    if given is None and spec.is_sandbox(ledger_url):
        return spec.sandbox.redirect_uri
    return given


def _loopback(redirect_uri: str | None) -> bool:
    """No address yet (one is chosen), or an http address on this machine: the listener
    can catch it. Anything else is pasted back."""
    if redirect_uri is None:
        return True
    uri = httpx.URL(redirect_uri)
    return uri.scheme == "http" and uri.host in ("127.0.0.1", "localhost")


def _listen_at(redirect_uri: str | None, *, sandbox: bool) -> tuple[str, int, str]:
    """Host (as written in the URI), port and path the listener serves."""
    uri = httpx.URL(
        redirect_uri or ("http://127.0.0.1:0/callback" if sandbox else DEFAULT_REDIRECT_URI)
    )
    if uri.scheme != "http" or uri.host not in ("127.0.0.1", "localhost") or uri.port is None:
        raise ConfigurationError(
            f"--redirect-uri {redirect_uri} is not a loopback address with a port "
            "(http://127.0.0.1:<port>/<path>): use --no-browser for any other address"
        )
    return uri.host, uri.port, uri.path or "/"


def choose_tenant(
    spec: OAuthLedger, found: list[Tenant], wanted: str | None, consent: Consent
) -> Tenant:
    """``--tenant`` (id or name) among ``found``; else the only one; else the person picks."""
    word = spec.tenant_word
    if wanted is not None:
        return _named(spec, found, wanted)
    if not found:
        raise ConfigurationError(
            f"{spec.title} did not say which {word} was authorised: pass --{'tenant'} <id>"
        )
    return found[0] if len(found) == 1 else consent.choose(found)


def _named(spec: OAuthLedger, found: list[Tenant], wanted: str) -> Tenant:
    if not found:
        return Tenant(wanted)
    for tenant in found:
        if wanted == tenant.id or wanted.casefold() == (tenant.name or "").casefold():
            return tenant
    names = ", ".join(f"{t.id} ({t.name})" if t.name else t.id for t in found)
    raise ConfigurationError(
        f"--tenant {wanted} is not one this grant reaches; {spec.title} authorised: {names}"
    )


async def record_connected(
    settings: Settings,
    record: ConnectionRecord,
    method: Literal["oauth2", "credentials"] = "oauth2",
) -> None:
    """Append ``LedgerConnected`` to the log (no token, no secret)."""
    from syncledger.core.bootstrap import open_runtime

    payload = LedgerConnected(
        ledger=record.ledger,
        tenant=record.tenant,
        tenant_name=record.tenant_name,
        scopes=record.scopes,
        method=method,
        connected_at=datetime.fromtimestamp(record.connected_at, UTC),
    )
    subject = subject_for(
        settings.entity, "ledger", record.ledger, "connection", record.tenant or record.ledger
    )
    async with open_runtime(settings) as rt:
        envelope = make_envelope(
            payload, entity=settings.entity, subject=subject, actor=settings.actor
        )
        await rt.store.append([envelope])


async def connect_ledger(settings: Settings, options: ConnectOptions, consent: Consent) -> str:
    """``syncledger connect``: the flow, the event, and the line to print."""
    token_ledger = credential_ledger(options.ledger)
    if token_ledger is not None:
        record = await connect_token_ledger(settings, token_ledger, options, consent)
        await record_connected(settings, record, "credentials")
        return connected_line(token_ledger.title, record, token_ledger.tenant_word, options)
    spec = oauth_ledger(options.ledger)
    record = await connect_oauth(settings, options, consent)
    await record_connected(settings, record)
    return connected_line(spec.title, record, spec.tenant_word, options)


async def connect_token_ledger(
    settings: Settings, spec: CredentialLedger, options: ConnectOptions, consent: Consent
) -> ConnectionRecord:
    """Gather, check with one read, store (``core/connect_credentials.py``)."""
    if settings.ledger_url is None:
        raise ConfigurationError(
            f"set SYNCLEDGER_LEDGER_URL to your {spec.title}'s address ({spec.url_hint}) "
            f"and run `syncledger connect {spec.id}` again"
        )
    environment = credentials(spec.id, tuple(f.name for f in spec.fields))
    values = gather(spec, dict(options.values), environment, consent.ask)
    tokens_at = token_file(settings, spec.id)
    try:
        await check(spec, settings.ledger_url, values)
    except CredentialsRefused as refused:
        note_refusal(tokens_at, refused.code)
        raise
    return store(spec, tokens_at, values, settings.ledger_url)


def sandbox_connect_lines(ledger: str, port: int) -> list[str]:
    """What ``syncledger sandbox <ledger>`` prints: how to connect to it."""
    url = f"http://127.0.0.1:{port}"
    token_ledger = credential_ledger(ledger.lower())
    if token_ledger is not None:
        return _token_sandbox_lines(token_ledger, url)
    module = OAUTH_LEDGERS.get(ledger.lower())
    if module is None:
        return []
    spec: OAuthLedger = importlib.import_module(module).CONNECT
    login = spec.sandbox
    paste = " --no-browser" if login.redirect_uri is None else ""
    return [
        f"{spec.title} sandbox at {url}",
        f"  client id: {login.client_id}   client secret: {login.client_secret}",
        f"  {spec.tenant_word}: {login.tenant}",
        *_registered_line(login.redirect_uri),
        "  connect to it (its client id and secret are the defaults for a sandbox address):",
        f"    SYNCLEDGER_LEDGER_URL={url} syncledger connect {spec.id}{paste}",
        f"  then: SYNCLEDGER_LEDGER_URL={url} SYNCLEDGER_LEDGER={spec.id} syncledger sync --once",
    ]


def _registered_line(redirect_uri: str | None) -> list[str]:
    if redirect_uri is None:
        return []
    return [f"  registered redirect URI: {redirect_uri} (paste the address it ends on)"]


def _token_sandbox_lines(spec: CredentialLedger, url: str) -> list[str]:
    values = dict(spec.sandbox_values)
    flags = " ".join(
        f"--{f.name.replace('_', '-')} {values[f.name]}"
        for f in spec.fields
        if not f.secret and f.name in values
    )
    secrets = [f for f in spec.fields if f.secret]
    env = " ".join(
        f"SYNCLEDGER_{spec.id.upper()}_{f.name.upper()}={values[f.name]}" for f in secrets
    )
    shown = "   ".join(f"{name}: {value}" for name, value in spec.sandbox_values)
    return [
        f"{spec.title} sandbox at {url}",
        f"  {shown}",
        "  connect to it (the secrets by variable here; without them they are asked, hidden):",
        f"    SYNCLEDGER_LEDGER_URL={url} {env} syncledger connect {spec.id} {flags}",
        f"  then: SYNCLEDGER_LEDGER_URL={url} SYNCLEDGER_LEDGER={spec.id} syncledger sync --once",
    ]


def connected_line(
    spec_title: str, record: ConnectionRecord, word: str, options: ConnectOptions | None = None
) -> str:
    where = f" ({word} {record.tenant}" + (
        f", {record.tenant_name})" if record.tenant_name else ")"
    )
    entity = options.entity if options is not None else None
    return (
        f"connected {spec_title}{where if record.tenant else ''}"
        + (f" for entity {entity}" if entity else "")
        + f"; scopes: {' '.join(record.scopes) or '(none told)'}. Next: syncledger sync "
        + f"--once{_entity_flag(entity)}"
    )


def _entity_flag(entity: str | None) -> str:
    return f" --entity {entity}" if entity else ""


# -------------------------------------------------------------- connections


@dataclass(frozen=True)
class ConnectionStatus:
    ledger: str
    status: Status
    entity: str | None  # the entity whose own connection this is; None: the shared one
    tenant: str | None
    tenant_name: str | None
    last_refresh: str | None  # ISO 8601, UTC: when the stored tokens were last written
    refused: str | None  # the OAuth error a refresh was refused with
    reconnect: str


def connection_statuses(
    settings: Settings, now: float | None = None, entity: str | None = None
) -> list[ConnectionStatus]:
    """Every ledger's shared connection, then each entity's own (see the module
    docstring); given ``entity``, only what that entity uses."""
    when = time.time() if now is None else now
    if entity is not None:
        if own_ledger(settings, entity):
            return [_entity_status(settings, entity, when)]
        return _shared_statuses(settings, when)
    own = [e for e in configured_entities(settings) if own_ledger(settings, e)]
    return _shared_statuses(settings, when) + [_entity_status(settings, e, when) for e in own]


def _shared_statuses(settings: Settings, now: float) -> list[ConnectionStatus]:
    """The tokens every entity without a ledger of its own reads
    (``Settings.ledger_token_file``: ``<data dir>/tokens/<ledger>.json``)."""
    from syncledger.core.ledgers import ledger_ids

    tokens = settings.data_dir / "tokens"
    return [_status(tokens / f"{ledger}.json", ledger, now, None) for ledger in ledger_ids()]


def _entity_status(settings: Settings, entity: str, now: float) -> ConnectionStatus:
    mine = settings.for_entity(entity)
    return _status(token_file(mine, mine.ledger), mine.ledger, now, entity)


def _status(tokens_at: Path, ledger: str, now: float, entity: str | None) -> ConnectionStatus:
    if ledger in CREDENTIAL_LEDGERS:
        return _token_status(tokens_at, ledger, entity)
    store = FileTokenStore(tokens_at)
    record = load_connection(store.path)
    written = store.path.stat().st_mtime if store.path.exists() else None
    refused = store.refusal() if written is not None else None
    return ConnectionStatus(
        ledger=ledger,
        status=_state(record, written, refused, now),
        entity=entity,
        tenant=record.tenant if record else None,
        tenant_name=record.tenant_name if record else None,
        last_refresh=datetime.fromtimestamp(written, UTC).isoformat(timespec="seconds")
        if written is not None
        else None,
        refused=refused,
        reconnect=_reconnect(ledger, entity),
    )


def _token_status(tokens_at: Path, ledger: str, entity: str | None) -> ConnectionStatus:
    """Stored credentials: connected; the last check refused: refused; else never."""
    record = load_connection(tokens_at)
    stored = credentials_file(tokens_at)
    written = stored.stat().st_mtime if stored.exists() else None
    refused = refused_at_last_check(tokens_at)
    status: Status = "refused" if refused else ("connected" if written is not None else "never")
    return ConnectionStatus(
        ledger=ledger,
        status=status,
        entity=entity,
        tenant=record.tenant if record else None,
        tenant_name=None,
        last_refresh=datetime.fromtimestamp(written, UTC).isoformat(timespec="seconds")
        if written is not None
        else None,
        refused=refused,
        reconnect=_reconnect(ledger, entity),
    )


def _reconnect(ledger: str, entity: str | None = None) -> str:
    if ledger in OAUTH_LEDGERS or ledger in CREDENTIAL_LEDGERS:
        return f"syncledger connect {ledger}{_entity_flag(entity)}"
    prefix = "SYNCLEDGER_" + ledger.upper().replace("-", "_")
    return f"set {prefix}_* credentials (README, Configuration): no connect command yet"


def _state(
    record: ConnectionRecord | None, written: float | None, refused: str | None, now: float
) -> Status:
    if written is None:
        return "never"
    if refused is not None:
        return "revoked"
    ttl = record.refresh_ttl if record else None
    if ttl is not None and now > written + ttl:
        return "expired"
    return "connected"


def statuses_text(rows: list[ConnectionStatus]) -> str:
    """One line a connection: ``qbo`` (shared) or ``<entity>/qbo`` (the entity's own)."""
    labels = [f"{row.entity}/{row.ledger}" if row.entity else row.ledger for row in rows]
    width = max([11, *(len(label) + 1 for label in labels)])
    lines = []
    for row, label in zip(rows, labels, strict=True):
        tenant = (
            f"  {row.tenant}" + (f" ({row.tenant_name})" if row.tenant_name else "")
            if row.tenant
            else ""
        )
        refreshed = f"  last refresh {row.last_refresh}" if row.last_refresh else ""
        why = f" ({row.refused})" if row.refused else ""
        again = "" if row.status == "connected" else f"  → {row.reconnect}"
        lines.append(f"{label:<{width}} {row.status}{why}{tenant}{refreshed}{again}")
    return "\n".join(lines)
