"""``SYNCLEDGER_STREAM_REPLICAS`` (issue 13): validated (1, 3 or 5; more than 1 only with
a NATS URL), and on a real 3-node cluster a command's first-time setup creates the log
stream and the ``SL_LEASES`` bucket with three copies, one on each node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncledger.core.bootstrap import open_runtime
from syncledger.core.errors import ConfigurationError
from syncledger.core.lease import LEASE_BUCKET
from syncledger.core.nats_users import LEASE_STREAM
from syncledger.core.pipeline import open_push_lease
from syncledger.core.settings import Settings
from syncledger.core.settings_check import load_settings
from tests.support.cluster import NatsCluster, running_cluster

URL = "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"


def test_replicas_default_to_one() -> None:
    assert load_settings({}, {}).stream_replicas == 1


@pytest.mark.parametrize("replicas", ["1", "3", "5"])
def test_one_three_or_five_copies_on_a_cluster(replicas: str) -> None:
    env = {"SYNCLEDGER_STREAM_REPLICAS": replicas, "SYNCLEDGER_NATS_URL": URL}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        assert load_settings({}, env).stream_replicas == int(replicas)


@pytest.mark.parametrize("replicas", ["0", "2", "4", "7", "three"])
def test_other_counts_are_refused_naming_the_variable(replicas: str) -> None:
    env = {"SYNCLEDGER_STREAM_REPLICAS": replicas, "SYNCLEDGER_NATS_URL": URL}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(ConfigurationError, match="SYNCLEDGER_STREAM_REPLICAS"):
            load_settings({}, env)


def test_copies_need_a_cluster_not_the_embedded_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCLEDGER_NATS_URL", raising=False)
    monkeypatch.setenv("SYNCLEDGER_STREAM_REPLICAS", "3")
    with pytest.raises(ConfigurationError, match="need a NATS cluster"):
        load_settings({}, {"SYNCLEDGER_STREAM_REPLICAS": "3"})


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    async with running_cluster(tmp_path / "cluster") as stand:
        yield stand


@pytest.mark.integration
@pytest.mark.slow
async def test_first_time_setup_on_a_cluster_keeps_three_copies(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    cfg = Settings(data_dir=tmp_path / "state", nats_url=cluster.url, stream_replicas=3)
    async with open_runtime(cfg) as rt:
        assert rt.store.replicated
        lease = await open_push_lease(rt)
        assert await lease.take() is None
        await lease.release()
        js = rt.nc.jetstream()
        for stream in (cfg.stream, LEASE_STREAM):
            info = await js.stream_info(stream)
            assert info.config.num_replicas == 3, stream
            assert info.cluster is not None and info.cluster.leader is not None
            nodes = {info.cluster.leader} | {p.name for p in info.cluster.replicas or []}
            assert nodes == {"n1", "n2", "n3"}, stream
        assert (await (await js.key_value(LEASE_BUCKET)).status()).ttl == cfg.lease_ttl_s
    async with open_runtime(cfg) as rt:  # the next command finds it replicated too
        assert rt.store.replicated
