"""One pushing entity per ledger tenant across processes (core/tenant_claim.py), on a real
nats-server as the app user: a second entity of a tenant is refused with one line while
the first is pushed — in another runtime, and in another process (``sync --once``) —
entities of different tenants are pushed at once, an entity whose tenant is not known
counts as any tenant at its URL, and a killed holder's claim of the same partition is
waited out, not refused."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import nats.js.errors
import pytest
from nats.js.kv import KeyValue

from syncledger.core.bootstrap import Runtime, open_runtime
from syncledger.core.embedded import EmbeddedNats
from syncledger.core.errors import ConfigurationError
from syncledger.core.lease import new_holder, open_bucket
from syncledger.core.partitions import lease_limits
from syncledger.core.pipeline import open_push_lease
from syncledger.core.settings import Settings
from syncledger.core.tenant_claim import CLAIM_PREFIX, claim_key

pytestmark = pytest.mark.integration
#: never called: the claim is taken before the ledger is opened
URL = "http://127.0.0.1:9/qbo"
TTL = 2.0


def settings(tmp_path: Path, server: EmbeddedNats, tenants: dict[str, str | None]) -> Settings:
    tables = {e: {"ledger_url": URL, "tenant": t} for e, t in tenants.items()}
    return Settings(
        data_dir=tmp_path / "state",
        nats_url=server.url,
        entity_ledgers=tables,
        lease_ttl_s=TTL,
    )


@contextlib.asynccontextmanager
async def pushing(cfg: Settings, entity: str) -> AsyncIterator[Runtime]:
    """A runtime of its own holding ``entity``'s push lease and its tenant claim."""
    async with open_runtime(cfg.for_entity(entity)) as rt:
        lease = await open_push_lease(rt)
        await lease.take_or_raise()
        try:
            async with lease_limits(rt, lease):
                yield rt
        finally:
            await lease.release()


async def claims(rt: Runtime) -> list[str]:
    kv, _ttl = await open_bucket(rt.nc, TTL)
    try:
        keys = await kv.keys()
    except nats.js.errors.NoKeysError:
        return []
    return sorted(k for k in keys if k.startswith(CLAIM_PREFIX))


async def test_a_second_entity_of_one_tenant_is_refused_while_the_first_is_pushed(
    tmp_path: Path, server: EmbeddedNats
) -> None:
    cfg = settings(tmp_path, server, {"north": "realm-1", "south": "realm-1"})
    async with pushing(cfg, "north") as north:
        with pytest.raises(ConfigurationError) as refused:
            async with pushing(cfg, "south"):
                pytest.fail("south was pushed beside north on one tenant")
        line = str(refused.value)
        assert "entity south may be the same tenant" in line and "entity north" in line
        assert "\n" not in line and "push one entity per tenant" in line
        assert len(await claims(north)) == 1, "the refused entity left its claim behind"
    async with pushing(cfg, "south") as south:  # north stopped: south may
        assert len(await claims(south)) == 1
    async with open_runtime(cfg) as rt:  # every claim released on the way out
        assert await claims(rt) == []


async def test_entities_of_different_tenants_are_pushed_at_once(
    tmp_path: Path, server: EmbeddedNats
) -> None:
    cfg = settings(tmp_path, server, {"north": "realm-1", "south": "realm-2"})
    async with pushing(cfg, "north"), pushing(cfg, "south") as south:
        assert len(await claims(south)) == 2


async def test_an_entity_whose_tenant_is_unknown_counts_as_any_tenant_at_its_url(
    tmp_path: Path, server: EmbeddedNats
) -> None:
    cfg = settings(tmp_path, server, {"north": "realm-1", "south": None})
    async with pushing(cfg, "north"):
        with pytest.raises(ConfigurationError, match="entity south may be the same tenant"):
            async with pushing(cfg, "south"):
                pytest.fail("an unknown tenant was pushed beside a known one at its URL")
    async with pushing(cfg, "south"):
        with pytest.raises(ConfigurationError, match="entity north may be the same tenant"):
            async with pushing(cfg, "north"):
                pytest.fail("a known tenant was pushed beside an unknown one at its URL")


async def test_a_killed_holders_claim_of_the_same_partition_is_waited_out(
    tmp_path: Path, server: EmbeddedNats
) -> None:
    cfg = settings(tmp_path, server, {"north": "realm-1"})
    one = cfg.for_entity("north")
    async with open_runtime(one) as rt:
        kv, _ttl = await open_bucket(rt.nc, TTL)
        await _left_by_a_killed_holder(kv, one)
    async with pushing(cfg, "north") as north:  # within about one TTL
        assert len(await claims(north)) == 1


async def _left_by_a_killed_holder(kv: KeyValue, one: Settings) -> None:
    """The claim a killed ``run`` of the partition left: never renewed, never released."""
    key = claim_key(one, "realm-1")
    assert key is not None
    dead = new_holder("syncledger run").model_copy(update={"pid": 1, "host": "elsewhere"})
    await kv.create(key.key, dead.model_dump_json().encode())


async def test_another_process_pushing_an_entity_of_the_tenant_is_refused_with_one_line(
    tmp_path: Path, server: EmbeddedNats
) -> None:
    cfg = settings(tmp_path, server, {"north": "realm-1", "south": "realm-1"})
    env = {
        "SYNCLEDGER_DATA_DIR": str(cfg.data_dir),
        "SYNCLEDGER_NATS_URL": str(cfg.nats_url),
        "SYNCLEDGER_ENTITY": "south",
        "SYNCLEDGER_ENTITY_LEDGERS": json.dumps(
            {e: {"ledger_url": URL, "tenant": "realm-1"} for e in ("north", "south")}
        ),
        "SYNCLEDGER_LEASE_TTL_S": str(TTL),
    }
    async with pushing(cfg, "north"):
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "syncledger.core.cli", "sync", "--once"],
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    stderr = err.decode()
    assert proc.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "entity south may be the same tenant" in lines[0] and "entity north" in lines[0]
    assert all(password not in stderr for password in server.passwords.values())
