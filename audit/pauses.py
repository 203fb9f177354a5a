"""Pausing the cyclic garbage collector around bulk work.

Indexing and packaging allocate hundreds of thousands of long-lived, acyclic objects
(parsed events, traces); every allocation threshold crossed triggers a collection that
walks all of them again, which more than doubles the run time. Reference counting still
frees everything as usual; the cyclic collector simply runs once, afterwards.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
