"""The HubSpot reader's cursor: opaque JSON text, one state per object type.

A backfill (no cursor) lists each type with ``after`` paging (no 10,000 cap on lists,
SOURCES.md §1.4), starting its delta watermark at the backfill's start less the clock
margin. A delta then searches ``modified GTE watermark`` in ascending order, one page per
query, and restarts the query from the page's last timestamp — a query is never paged,
so the search cap (10,000 results, §1.4) can never cut one short. Records already
delivered at the watermark's exact millisecond are kept by id (``ids``) and skipped, so
equal timestamps are neither lost nor repeated; when a whole page is such records (more
records share one millisecond than a page holds), that millisecond is split by id:
``modified EQ watermark AND hs_object_id GT split`` sorted by id, then the watermark moves
one millisecond on. Archived records come from the archived list (``gone``: the newest
``archivedAt`` delivered).

With the Webhooks Journal on (:mod:`syncledger.adapters.hubspot.journal`), ``journal``
holds its offset — in the cursor, so the log keeps it durably and a restart goes on from
it. ``live`` is false until one whole delta pass (the backfill's lists, then a search
pass) ended after the offset was taken: only then do the journal's entries take over
from searches.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from syncledger.core.errors import SourceError

KINDS = ("companies", "contacts", "deals")
VERSION = 1


@dataclass(frozen=True, slots=True)
class KindState:
    phase: str = "list"  # "list" (backfill) or "search"
    after: str | None = None  # list paging
    wm: int = 0  # epoch ms: searches ask for modified >= wm
    ids: tuple[str, ...] = ()  # delivered at exactly wm
    split: str | None = None  # splitting wm by id: the last id read
    gone: int = 0  # archivedAt (ms) of the newest archived record delivered
    gone_after: str | None = None  # archived list paging within a pass
    gone_top: int = 0  # the newest archivedAt seen so far in the pass

    def at(self, wm: int, ids: tuple[str, ...]) -> KindState:
        return replace(self, wm=wm, ids=ids)


@dataclass(frozen=True, slots=True)
class JournalState:
    offset: str | None = None  # the last journal entry whose hints are in the log
    live: bool = False  # hints come from the journal (else: delta passes catch up first)


@dataclass(frozen=True, slots=True)
class Cursor:
    kinds: dict[str, KindState] = field(default_factory=dict)
    journal: JournalState | None = None

    @classmethod
    def start(cls, now_ms: int) -> Cursor:
        return cls({k: KindState(wm=now_ms, gone=now_ms - 1) for k in KINDS})

    def encode(self) -> str:
        kinds = {k: asdict(s) for k, s in self.kinds.items()}
        body: dict[str, Any] = {"v": VERSION, "kinds": kinds}
        if self.journal is not None:
            body["journal"] = asdict(self.journal)
        return json.dumps(
            body,
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw: Any = json.loads(text)
            if raw["v"] != VERSION:
                raise ValueError(f"version {raw['v']}")
            kinds = {k: _state(v) for k, v in raw["kinds"].items() if k in KINDS}
            journal = _journal(raw.get("journal"))
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(
                "the HubSpot cursor is not one this reader wrote: reset the source's cursor "
                "to backfill again"
            ) from exc
        return cls(kinds, journal)

    def with_kind(self, kind: str, state: KindState) -> Cursor:
        return Cursor({**self.kinds, kind: state}, self.journal)

    def with_journal(self, journal: JournalState | None) -> Cursor:
        return Cursor(self.kinds, journal)


def _journal(raw: Any) -> JournalState | None:
    if raw is None:
        return None
    offset = raw.get("offset")
    return JournalState(None if offset is None else str(offset), bool(raw["live"]))


def _state(raw: dict[str, Any]) -> KindState:
    return KindState(
        phase=str(raw["phase"]),
        after=raw.get("after"),
        wm=int(raw["wm"]),
        ids=tuple(str(i) for i in raw.get("ids", [])),
        split=raw.get("split"),
        gone=int(raw.get("gone", 0)),
        gone_after=raw.get("gone_after"),
        gone_top=int(raw.get("gone_top", 0)),
    )
