"""The disk under the embedded server's log: say plainly when it is full, and get the
server storing again by itself once it has room.

nats-server does not recover from a full disk while it runs: a stream whose store
failed a write keeps refusing every later write (the failure is remembered until the
server restarts), and JetStream may switch itself off. So when the store reports that
the server answers but stores nothing (``JetStreamEventStore.recovery``), this
restarts the data directory's embedded server on its port — once the disk has room, at
most once per ``RESTART_EVERY_S`` — and the connected clients reconnect by themselves.
While the disk is still full, the one line names the place to free.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass, field

from syncledger.core.embedded import EmbeddedNats, _exclusive

log = logging.getLogger(__name__)

#: less free space than this under the store is a full disk: nats-server writes its
#: message blocks in pieces of up to a few MiB
FULL_BELOW_BYTES = 1 << 20
#: a server that was just restarted and still stores nothing is not restarted again yet
RESTART_EVERY_S = 30.0


@dataclass
class LogDisk:
    """The embedded ``server`` of this process's data directory, as the store's
    ``StoreRecovery``."""

    server: EmbeddedNats
    full_below: int = FULL_BELOW_BYTES
    restart_every_s: float = RESTART_EVERY_S
    _restarted_at: float | None = field(default=None, init=False)

    def free(self) -> int:
        path = self.server.store_dir if self.server.store_dir.exists() else self.server.nats_dir
        return shutil.disk_usage(path).free

    def full(self) -> bool:
        return self.free() < self.full_below

    def why(self) -> str:
        where, free = self.server.store_dir, _size(self.free())
        if self.full():
            return (
                f"the log's disk is full at {where} ({free} free): free space there, "
                "syncledger resumes by itself (what was not written is written when you run "
                "the command again)"
            )
        return (
            f"the log's server stores nothing although its disk at {where} has {free} free "
            f"(a failing disk?): see {self.server.log_file}"
        )

    async def recover(self) -> bool:
        if self.full() or not self._may_restart():
            return False
        self._restarted_at = asyncio.get_running_loop().time()
        await asyncio.to_thread(restart, self.server)
        return True

    def _may_restart(self) -> bool:
        if self._restarted_at is None:
            return True
        return asyncio.get_running_loop().time() - self._restarted_at >= self.restart_every_s


def restart(server: EmbeddedNats) -> None:
    """Stop and start the data directory's running server on the same port, under the
    lock every process takes to start or stop it. A server another process restarted
    since ``server`` was seen is left as it is."""
    with _exclusive(server.nats_dir / "setup.lock"):
        running = EmbeddedNats(server.data_dir, stream=None)  # the log exists: no setup
        if running.adopt_running():
            if server.pid is not None and running.pid != server.pid:
                server.pid = running.pid  # restarted by another process already
                return
            running.stop()
        running.start()
        server.pid, server.port = running.pid, running.port
    log.warning(
        "restarted the embedded nats-server of %s: its store had stopped writing (the disk "
        "was full) and the disk has room again",
        server.data_dir,
    )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024**2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024**2:.1f} MiB"
