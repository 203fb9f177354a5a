"""`syncledger serve` runs on uvloop (less CPU per webhook than asyncio's loop:
bench/ingest.py), errors come through unchanged, and once it listens what it holds is
frozen out of the garbage collector's full collections."""

from __future__ import annotations

import asyncio
import gc

import pytest
import uvloop

from syncledger.core.cli import _frozen_once_serving, _run_serving
from syncledger.core.pipeline import Served


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


def test_what_serve_holds_once_listening_is_kept_out_of_full_collections() -> None:
    told: list[Served] = []
    served = Served(port=8089, webhooks=("webhooks",), writable=False)
    held = [{"a live object": n} for n in range(1000)]
    try:
        _frozen_once_serving(told.append)(served)
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert told == [served]
    assert frozen >= len(held)
