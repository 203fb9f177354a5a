"""Sections about a sandbox's own answers on the wire, below the adapter, subclassed in a
platform's sandbox tests (``tests/unit/test_<platform>_sandbox.py``):

- :class:`RequestWindowSection`: the requests a window allows are answered, the next one
  is a 429 naming the platform's code, with or without a ``Retry-After`` as the platform
  sends it, and the sandbox counts it as throttled.

A platform says only its difference: how to send one signed-in read to a fresh sandbox
whose window allows ``limit`` requests (:meth:`RequestWindowSection.windowed`), how its
error body names the code (:meth:`RequestWindowSection.error_code`), and the code, words,
headers and wait its refusal carries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import ClassVar, Protocol, TypeVar

import httpx


class Throttling(Protocol):
    """The sandbox's count of the requests its own limits refused."""

    @property
    def throttled(self) -> int: ...


class Closing(Protocol):
    def close(self) -> None: ...


class SandboxClient(Protocol):
    """A platform's bare client of its sandbox app (the sandbox tests' ``Qbo``, ``Sage``…)."""

    http: httpx.AsyncClient

    @property
    def sandbox(self) -> Closing: ...

    async def login(self) -> None: ...


Client = TypeVar("Client", bound=SandboxClient)


@asynccontextmanager
async def signed_in(client: Client) -> AsyncIterator[Client]:
    """``client`` signed in to its sandbox; client and sandbox closed afterwards."""
    await client.login()
    try:
        yield client
    finally:
        await client.http.aclose()
        client.sandbox.close()


@dataclass(frozen=True)
class Window:
    """A signed-in client of one sandbox: ``read`` sends one read of a list."""

    read: Callable[[], Awaitable[httpx.Response]]
    sandbox: Throttling


@dataclass(frozen=True)
class Wait:
    """The ``Retry-After`` a refusal carries: seconds within [least, most], an integer
    where ``whole``."""

    least: float
    most: float
    whole: bool = True

    def holds(self, header: str) -> bool:
        seconds = float(header)
        return self.least <= seconds <= self.most and (not self.whole or seconds.is_integer())


class RequestWindowSection:
    #: requests the window allows in the test
    limit: ClassVar[int] = 3
    #: the code the platform's refusal names (as :meth:`error_code` reads it)
    window_code: ClassVar[str]
    #: the Retry-After the refusal carries; None: the platform sends none
    retry_after: ClassVar[Wait | None] = None
    #: words the refusal's body carries
    window_words: ClassVar[str] = ""
    #: headers the refusal carries, (name, value) pairs
    window_headers: ClassVar[tuple[tuple[str, str], ...]] = ()

    def windowed(self, limit: int) -> AbstractAsyncContextManager[Window]:
        """A signed-in client of a fresh sandbox whose window allows ``limit`` requests."""
        raise NotImplementedError  # the platform's sandbox tests provide it

    def error_code(self, answer: httpx.Response) -> str:
        """The code the platform's error body names."""
        raise NotImplementedError  # the platform's sandbox tests provide it

    async def answers(self) -> tuple[list[httpx.Response], int]:
        async with self.windowed(self.limit) as window:
            answers = [await window.read() for _ in range(self.limit + 1)]
            return answers, window.sandbox.throttled

    async def test_a_request_beyond_the_window_is_a_429_with_the_platforms_code(self) -> None:
        answers, throttled = await self.answers()
        refused = answers[-1]
        assert [a.status_code for a in answers] == [200] * self.limit + [429]
        assert self.error_code(refused) == self.window_code
        assert self.window_words in refused.text
        carried = tuple((name, refused.headers.get(name)) for name, _ in self.window_headers)
        assert carried == self.window_headers
        assert throttled == 1
        wait = refused.headers.get("Retry-After")
        if self.retry_after is None:
            assert wait is None
        else:
            assert wait is not None and self.retry_after.holds(wait), wait
