"""Progress of long work (import, backfill, sync --once, replay, retention, export) on a
terminal: a rich bar on stderr, only when stderr is a TTY. In a pipe, a log file or a
test nothing is drawn, so stdout stays the command's answer and stderr its errors.

A command asks for a :data:`Meter`; the work calls it with what it is doing and how much
there is (``None``: not known in advance, a spinner with the time elapsed) and gets a
function to call with each step done.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

#: called with each step done (how many)
Advance = Callable[[int], None]
#: ``meter(description, total)`` → a context in which ``advance(n)`` counts steps
Meter = Callable[[str, int | None], contextlib.AbstractContextManager[Advance]]


def _nothing(_n: int) -> None:
    return None


@contextlib.contextmanager
def silent(_description: str, _total: int | None = None) -> Iterator[Advance]:
    """The meter for pipes, tests and library callers: draws nothing."""
    yield _nothing


def terminal_meter(stream: TextIO | None = None) -> Meter:
    """A rich bar on ``stream`` (default stderr) when it is a terminal, else :func:`silent`."""
    out = stream if stream is not None else sys.stderr
    if not _is_terminal(out):
        return silent

    @contextlib.contextmanager
    def meter(description: str, total: int | None = None) -> Iterator[Advance]:
        console = Console(file=out)
        with _bar(console, total) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)

    return meter


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def _bar(console: Console, total: int | None) -> Progress:
    counted = (BarColumn(), MofNCompleteColumn()) if total is not None else (SpinnerColumn(),)
    return Progress(
        TextColumn("{task.description}"),
        *counted,
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
