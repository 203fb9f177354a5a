"""`syncledger serve` runs on uvloop (less CPU per webhook than asyncio's loop:
bench/ingest.py), and a coroutine's result and errors come through unchanged."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from syncledger.core.cli import _run_serving


def test_serve_runs_on_uvloop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def serving() -> None:
        loops.append(asyncio.get_running_loop())

    _run_serving(serving())
    assert [type(loop) for loop in loops] == [uvloop.Loop]


def test_an_error_in_serve_comes_through() -> None:
    async def failing() -> None:
        raise LookupError("the log is missing")

    with pytest.raises(LookupError, match="the log is missing"):
        _run_serving(failing())
