"""One pushing entity per ledger tenant across processes (issue 13, "Shared rate limits").

A ledger's limits are the tenant's. The limiters of one entity+ledger hand their usage on
to that partition's next push-lease holder (adapters/rate_usage_kv.py), but two entities
whose ledgers are one tenant are two partitions: held at once by two processes (two
single-entity ``run`` processes, a ``run`` and another entity's ``sync --once``, two
workers of ``run --entities`` given different lists) they would each spend the tenant's
whole budget. ``run --entities`` refuses such a list at start
(``partitions.check_tenants``); this claim is the same rule between processes.

Every holder of a push lease that calls the ledger (``partitions.shared_limits``) first
takes a *tenant claim*: a key in the ``SL_LEASES`` bucket, taken, renewed and released
like the push lease (core/lease.py: create, revision-checked update every TTL/3, lapsing
one TTL after a killed holder's last renewal), named

    ``tenant.<site>.<tenant>.<entity>.<ledger>``

``site`` a hash of the ledger and its URL, ``tenant`` a hash of the tenant id, or
``any`` when it is not known (no ``tenant`` in the entity's table, none chosen by
``connect``): as in ``check_tenants`` such an entity may be any tenant at its URL. Hashes,
because a URL may carry a secret and the bucket never holds one.

Having created its key, the holder lists the site's keys: another entity's key for the
same tenant, or ``any`` on either side, means the tenant is pushed elsewhere, and the
holder deletes its key and stops with one line naming the other entity and who holds it.
Each holder writes before it reads, so of two starting together the second to write sees
the first: at most both are refused, never both admitted. A key of the same partition (a
killed holder's, lapsing within one TTL) is waited for: that partition's push lease is
ours, so its previous holder has stopped.

While the claim is held the limiters publish their usage; once it is lost (not renewed in
time) they stop starting requests within the usage horizon, as when the push lease is
lost (adapters/rate_usage.py). Only ledgers reached at a URL are claimed: the in-process
sandbox has its own limits in each process.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

import nats.js.errors
from nats.js.kv import KeyValue
from pydantic import ValidationError

from syncledger.core.errors import ConfigurationError, EventStoreUnavailable, LeaseHeld
from syncledger.core.lease import UNREACHABLE, LeaseHolder, PushLease, lease_key, new_holder
from syncledger.core.settings import Settings

CLAIM_PREFIX = "tenant."
#: the tenant part of an entity whose tenant is not known
ANY = "any"


def _hashed(*parts: str | None) -> str:
    """The parts (ledger, URL, tenant id) hashed: a URL may carry a secret, and the bucket
    never holds one (the same digest as adapters/rate_usage_kv.py's ``tenant_id``)."""
    said = "\n".join(part or "" for part in parts)
    return hashlib.sha256(said.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ClaimKey:
    """A tenant claim's key in its parts."""

    site: str
    tenant: str
    partition: str  # ``<entity>.<ledger>`` in KV key characters

    @property
    def key(self) -> str:
        return f"{CLAIM_PREFIX}{self.site}.{self.tenant}.{self.partition}"

    def rivals(self, other: ClaimKey) -> bool:
        """Whether ``other`` is another partition that may be the same tenant."""
        if other.site != self.site or other.partition == self.partition:
            return False
        return ANY in (self.tenant, other.tenant) or self.tenant == other.tenant

    @classmethod
    def parse(cls, key: str) -> ClaimKey | None:
        parts = key.removeprefix(CLAIM_PREFIX).split(".")
        if not key.startswith(CLAIM_PREFIX) or len(parts) != 4:
            return None
        return cls(parts[0], parts[1], f"{parts[2]}.{parts[3]}")


def claim_key(settings: Settings, tenant: str | None) -> ClaimKey | None:
    """The entity+ledger's claim (None for a ledger not reached at a URL)."""
    if settings.ledger_url is None:
        return None
    site = _hashed(settings.ledger, str(settings.ledger_url))
    partition = lease_key(settings.entity, settings.ledger).removeprefix("push.")
    return ClaimKey(site, ANY if tenant is None else _hashed(tenant), partition)


async def claim_tenant(
    kv: KeyValue, ttl: float, settings: Settings, tenant: str | None
) -> PushLease | None:
    """The entity's tenant claim, held (None when its ledger needs none); a
    ``ConfigurationError`` naming the other entity when the tenant is pushed elsewhere."""
    mine = claim_key(settings, tenant)
    if mine is None:
        return None
    scope = f"the tenant of {settings.entity}/{settings.ledger}"
    claim = PushLease(kv, ttl, scope, mine.key, new_holder())
    await _take(claim, ttl)
    try:
        await _refuse_rivals(kv, mine, settings)
    except BaseException:
        await claim.release()
        raise
    return claim


async def _take(claim: PushLease, ttl: float) -> None:
    """Take the key; a previous holder's of this partition lapses within one TTL."""
    end = time.monotonic() + 2 * ttl
    holder = await claim.take()
    while holder is not None and time.monotonic() < end:
        await asyncio.sleep(min(1.0, ttl / 5))
        holder = await claim.take()
    if holder is not None:
        raise LeaseHeld(claim.describe(holder))


async def _refuse_rivals(kv: KeyValue, mine: ClaimKey, settings: Settings) -> None:
    for key in await _site_keys(kv, mine.site):
        other = ClaimKey.parse(key)
        if other is not None and mine.rivals(other):
            raise ConfigurationError(_refusal(settings, other, await _holder(kv, key)))


async def _site_keys(kv: KeyValue, site: str) -> list[str]:
    try:
        keys = await kv.keys()  # a handful of keys; filters warn on old servers
    except nats.js.errors.NoKeysError:
        return []
    except UNREACHABLE as exc:
        raise EventStoreUnavailable(
            f"cannot list the tenant claims in NATS ({type(exc).__name__}); "
            "check that nats-server is running"
        ) from exc
    return [k for k in keys if k.startswith(f"{CLAIM_PREFIX}{site}.")]


async def _holder(kv: KeyValue, key: str) -> LeaseHolder | None:
    try:
        entry = await kv.get(key)
        return LeaseHolder.model_validate_json(entry.value or b"")
    except (nats.js.errors.KeyNotFoundError, ValidationError, *UNREACHABLE):
        return None


def _refusal(settings: Settings, other: ClaimKey, holder: LeaseHolder | None) -> str:
    from syncledger.core.redact import mask_url

    entity = other.partition.rsplit(".", 1)[0]
    who = (
        f"process {holder.pid} on host {holder.host} ({holder.command})"
        if holder is not None
        else "another process"
    )
    where = f"{settings.ledger} at {mask_url(str(settings.ledger_url))}"
    return (
        f"entity {settings.entity} may be the same tenant of {where} as entity {entity}, "
        f"which {who} pushes: two processes would each spend the tenant's whole rate "
        f"limits; push one entity per tenant (stop the other first), or name each "
        "entity's tenant in its [entity_ledgers.<name>] table when they differ"
    )
