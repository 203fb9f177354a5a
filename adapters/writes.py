"""What an adapter knows of its own writes, by idempotency key, for platforms that take no
idempotency key: a write is looked for in the ledger (by our reference) only when its
outcome is unknown, never before every create.

The sync's log already says when a write's outcome is unknown (its intent is logged and
its outcome is not): it then asks ``find`` or the step's own ``find`` first. Within one
process this memo keeps the port's promise that the same key sent twice makes one record:
a key whose answer was had returns that answer again (``recovered``), and a key whose
write failed other than by a refusal (timeout, 5xx, lost connection: it may have landed)
is looked up before it is written again. Bounded: the oldest keys are forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.ports import PushResult

#: keys remembered per adapter (answers had, and writes whose outcome is unknown)
REMEMBERED = 10_000
V = TypeVar("V")


class WriteMemo:
    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._done: OrderedDict[str, PushResult] = OrderedDict()
        self._unknown: OrderedDict[str, None] = OrderedDict()

    def unknown(self, key: str) -> bool:
        """True when a write with ``key`` was sent and its outcome never learnt."""
        return key in self._unknown

    async def once(self, key: str, write: Callable[[bool], Awaitable[PushResult]]) -> PushResult:
        """The earlier answer for ``key``, else ``write(look_first)``: ``look_first`` is
        True when an earlier write with ``key`` may have landed unseen."""
        done = self._done.get(key)
        if done is not None:
            return replace(done, recovered=True)
        try:
            result = await write(self.unknown(key))
        except PermanentLedgerError:
            raise
        except Exception:
            self._keep(self._unknown, key, None)
            raise
        self._unknown.pop(key, None)
        self._keep(self._done, key, result)
        return result

    def _keep(self, memo: OrderedDict[str, V], key: str, value: V) -> None:
        memo[key] = value
        memo.move_to_end(key)
        while len(memo) > self._size:
            memo.popitem(last=False)
