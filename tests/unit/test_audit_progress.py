"""Long audit work (retention, export) reports its progress through the context's meter:
what it is doing, how much there is, and every step counted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from syncledger.audit.context import AuditContext
from syncledger.audit.package import export_package
from syncledger.audit.retention import RetentionPolicy, run_retention
from syncledger.audit.sample import memory_context, write_sample_log
from syncledger.audit.scope import Scope
from syncledger.core.progress import Advance


@dataclass
class Work:
    description: str
    total: int | None
    done: int = 0


class Recorder:
    """A meter that keeps each piece of work: what, how much, and the steps counted."""

    def __init__(self) -> None:
        self.work: list[Work] = []

    @contextlib.contextmanager
    def __call__(self, description: str, total: int | None = None) -> Iterator[Advance]:
        work = Work(description, total)
        self.work.append(work)

        def advance(n: int) -> None:
            work.done += n

        yield advance

    def of(self, description: str) -> tuple[int | None, int]:
        for work in self.work:
            if work.description == description:
                return work.total, work.done
        raise AssertionError(f"no progress for {description!r}: {self.work}")


def _context(tmp_path: Path) -> tuple[AuditContext, Recorder]:
    ctx = memory_context(tmp_path / "data", actor="compliance@acme")
    asyncio.run(write_sample_log(ctx.store, ctx.keystore, start=datetime(2020, 5, 1, tzinfo=UTC)))
    recorder = Recorder()
    ctx.meter = recorder
    return ctx, recorder


def test_retention_shows_the_log_read_and_each_key_shredded(tmp_path: Path) -> None:
    ctx, recorder = _context(tmp_path)
    events = asyncio.run(ctx.store.last_seq())

    report = asyncio.run(
        run_retention(ctx, RetentionPolicy(default_years=1), as_of=date(2030, 1, 1), apply=True)
    )

    assert recorder.of("reading the log") == (events, events)
    shredded = len(report.with_status("shred"))
    assert shredded > 0
    assert recorder.of("shredding expired keys") == (shredded, shredded)


def test_export_shows_the_log_read(tmp_path: Path) -> None:
    ctx, recorder = _context(tmp_path)
    events = asyncio.run(ctx.store.last_seq())
    auditor = x25519.X25519PrivateKey.generate()

    asyncio.run(
        export_package(
            ctx, Scope.parse("entity:" + ctx.entity), [auditor.public_key()], tmp_path / "p.slpkg"
        )
    )

    assert recorder.of("reading the log") == (events, events)
    assert recorder.of("checkpointing the log")[0] is None
