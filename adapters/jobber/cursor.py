"""The delta cursor: opaque JSON with one window per object type.

A window reads every record with ``updatedAt`` after ``since``, page by page (``after`` =
the last ``pageInfo.endCursor``; Relay paging, GitHub file id 67521459086), with ``since``
held fixed until ``hasNextPage`` is false. Jobber's timestamps are whole seconds and the
filter's inclusiveness is not documented, so the next window starts one second *before*
the newest ``updatedAt`` seen, and records at or before that time are skipped when the
previous window delivered them with the same content (``floor``: timestamp + digest per id).
A record edited twice within one second thus still flows the second time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from syncledger.core.errors import SourceError
from syncledger.core.ports import SourceItem

TYPES = ("clients", "invoices", "payments")


def when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def digest(item: SourceItem) -> str:
    content = json.dumps([item.fields, item.deleted], sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Window:
    since: str | None = None
    page: str | None = None
    floor_at: str | None = None
    floor_seen: dict[str, str] = field(default_factory=dict)
    top_at: str | None = None
    top_seen: dict[str, str] = field(default_factory=dict)

    def delivered(self, item: SourceItem) -> bool:
        """Already delivered by the window before this one."""
        if self.floor_at is None or not item.version:
            return False
        at, floor = when(item.version), when(self.floor_at)
        return at < floor or (at == floor and self.floor_seen.get(item.id) == digest(item))

    def saw(self, item: SourceItem) -> Window:
        if not item.version:
            return self
        if self.top_at is None or when(item.version) > when(self.top_at):
            return replace(self, top_at=item.version, top_seen={item.id: digest(item)})
        if when(item.version) == when(self.top_at):
            return replace(self, top_seen={**self.top_seen, item.id: digest(item)})
        return self

    def next_page(self, end_cursor: str | None, has_next: bool) -> Window:
        if has_next:
            return replace(self, page=end_cursor)
        if self.top_at is None:  # nothing new in this window: read it again next time
            return replace(self, page=None)
        since = (when(self.top_at) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Window(since, None, self.top_at, self.top_seen)


def load(text: str | None) -> dict[str, Window]:
    if text is None:
        return {t: Window() for t in TYPES}
    try:
        raw = json.loads(text)
        return {t: Window(**raw[t]) for t in TYPES}
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(
            "the Jobber cursor cannot be read: pass a cursor a previous Jobber read returned, "
            "or none for a backfill"
        ) from exc


def dump(windows: dict[str, Window]) -> str:
    return json.dumps(
        {
            t: {
                "since": w.since,
                "page": w.page,
                "floor_at": w.floor_at,
                "floor_seen": w.floor_seen,
                "top_at": w.top_at,
                "top_seen": w.top_seen,
            }
            for t, w in windows.items()
        },
        sort_keys=True,
    )
