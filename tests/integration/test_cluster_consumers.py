"""The 3-node test cluster holds as many consumers on a stream as the embedded server
(tests/support/cluster.py writes core/embedded.py's ``default_max_consumers`` line): the
1,001st consumer, which nats-server 2.15's own default of 1,000 refuses, is accepted, so
the cluster tests meet the limits ``run --entities`` meets in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import api as js_api

from syncledger.core.embedded import MAX_CONSUMERS_PER_STREAM, consumer_limits
from tests.support.cluster import NatsCluster, running_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
#: nats-server 2.15's own default_max_consumers (measured on 2.15.1; core/embedded.py)
SERVER_DEFAULT = 1000


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    async with running_cluster(tmp_path / "cluster") as stand:
        yield stand


async def test_every_node_is_configured_with_the_embedded_servers_consumer_limit(
    cluster: NatsCluster,
) -> None:
    for node in cluster.nodes:
        assert consumer_limits() in node.config_file.read_text(), node.name


async def test_a_stream_on_the_cluster_takes_more_consumers_than_the_servers_default(
    cluster: NatsCluster,
) -> None:
    if not consumer_limits():
        pytest.skip("this nats-server has no default_max_consumers (before 2.15)")
    nc = await cluster.connect()
    try:
        js = nc.jetstream(timeout=10)
        await js.add_stream(name="MANY", subjects=["many.>"], num_replicas=1)
        config = js_api.ConsumerConfig(
            ack_policy=js_api.AckPolicy.NONE, mem_storage=True, inactive_threshold=60.0
        )
        for _ in range(SERVER_DEFAULT + 1):
            await js.add_consumer("MANY", config)
        info = await js.stream_info("MANY")
        assert info.state.consumer_count == SERVER_DEFAULT + 1 < MAX_CONSUMERS_PER_STREAM
    finally:
        await nc.close()
