"""Signed webhooks (Standard Webhooks) as a source: a system without its own connector
(a POS, an in-house CRM) posts its records, signed, to ``syncledger serve`` at
``POST /webhooks/<source id>``; ``serve`` calls :meth:`WebhookSource.verify` and appends
the records the delivery carries before answering (docs/sources/webhooks.md).

Settings (``SYNCLEDGER_WEBHOOKS_<NAME>``): ``secret`` (one ``whsec_`` secret),
``secrets`` and ``public_keys`` (several, separated by spaces or commas: a rotation, or
``whpk_`` ed25519 keys for ``v1a``), ``system`` (the record system name, default
``webhooks``). With no settings at all the reader trusts :data:`TEST_SECRET`, a fixed
published secret for the demo and tests; once any setting is given, a key must be too,
so a live deployment never falls back to the public one.

Records arrive only by webhook: :meth:`WebhookSource.read_changes` returns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from syncledger.adapters.sources.registry import SourceConnection, WithoutSandbox
from syncledger.adapters.webhooks.payload import items_of
from syncledger.adapters.webhooks.verify import TrustedKeys, verify_signature
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import SourceChanges, WebhookDelivery, WebhookRequest

#: the demo's and the tests' secret: public, so never trusted once any setting is given
TEST_SECRET: Final = "whsec_c3luY2xlZGdlci13ZWJob29rcy10ZXN0LXNlY3JldA=="  # noqa: S105 -- published test value
DEFAULT_SYSTEM: Final = "webhooks"
_SYSTEM = re.compile(r"^[a-z0-9_-]{1,40}$")


class WebhookSource:
    """A reader whose records come only through :meth:`verify`."""

    def __init__(self, keys: TrustedKeys, system: str = DEFAULT_SYSTEM) -> None:
        self.keys = keys
        self.system = system

    def verify(self, request: WebhookRequest) -> WebhookDelivery:
        """The records of a delivery whose signature holds and which is fresh."""
        delivery_id = verify_signature(self.keys, request)
        return WebhookDelivery(delivery_id, items=items_of(request.body, self.system))

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        """Nothing: a sender posts its records, there is nothing to read."""
        return SourceChanges((), None)

    async def aclose(self) -> None:
        """Nothing to release."""


def _listed(text: str | None) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text or "") if part]


def _system(credentials: Mapping[str, str]) -> str:
    system = credentials.get("system", DEFAULT_SYSTEM).strip()
    if not _SYSTEM.match(system):
        raise ConfigurationError(
            f"SYNCLEDGER_WEBHOOKS_SYSTEM {system!r}: use 1-40 lower-case letters, digits, - or _"
        )
    return system


def keys_from(credentials: Mapping[str, str]) -> TrustedKeys:
    """The trusted keys the settings name; the test secret when there are no settings."""
    if not any(v.strip() for v in credentials.values()):
        return TrustedKeys.parse([TEST_SECRET])
    secrets = _listed(credentials.get("secret")) + _listed(credentials.get("secrets"))
    public_keys = _listed(credentials.get("public_keys"))
    if not secrets and not public_keys:
        raise ConfigurationError(
            "set SYNCLEDGER_WEBHOOKS_SECRET (or _SECRETS / _PUBLIC_KEYS): the sender's "
            "whsec_ secret or whpk_ public key"
        )
    return TrustedKeys.parse(secrets, public_keys)


class WebhookPlatform(WithoutSandbox):
    id = "webhooks"
    title = "Signed webhooks"
    credential_names: tuple[str, ...] = ("secret", "secrets", "public_keys", "system")

    def connect(self, connection: SourceConnection) -> WebhookSource:
        credentials = connection.credentials
        return WebhookSource(keys_from(credentials), _system(credentials))


SOURCE = WebhookPlatform()
