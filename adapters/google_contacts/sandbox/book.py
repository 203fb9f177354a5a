"""The sandbox's contacts: a change sequence per person (``seq``), sync tokens naming a
sequence number, and the test helpers a person in Google Contacts would use.

Behaviour follows the facts cited in ``server.py``; the token and page-token formats are
the sandbox's own (Google's are opaque)."""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncledger.adapters.sandbox.faults import Faults

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL, deleted INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_tokens (
    token TEXT PRIMARY KEY, seq INTEGER NOT NULL, expired INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS contact_groups (
    n INTEGER PRIMARY KEY, resource TEXT UNIQUE NOT NULL, name TEXT NOT NULL
);
INSERT OR IGNORE INTO contact_groups (resource, name) VALUES
    ('contactGroups/myContacts', 'myContacts'), ('contactGroups/starred', 'starred');
"""
#: the system groups the book starts with (``ContactGroup.name`` "a system provided name
#: for system groups"; the two Google CSV exports show as ``* myContacts``, ``* starred``)
SYSTEM_GROUPS = ("contactGroups/myContacts", "contactGroups/starred")


def membership(resource: str) -> dict[str, Any]:
    """A Person's ``memberships[]`` entry for the group ``resource``."""
    return {"contactGroupMembership": {"contactGroupResourceName": resource}}


@dataclass(frozen=True, slots=True)
class Page:
    people: list[dict[str, Any]]
    last_seq: int | None  # the last row's seq when more rows follow


class ContactBook:
    """Contacts in SQLite (a file, or memory when ``path`` is None)."""

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            str(path) if path else ":memory:", isolation_level=None, check_same_thread=False
        )
        self.db.executescript(SCHEMA)
        self.faults = Faults()
        self.throttled = 0

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ helpers for tests

    def _next_seq(self) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM people").fetchone()
        return int(row[0]) + 1

    def put(self, person_id: str | None, name: str, **more: Any) -> str:
        """Create (``person_id`` None) or replace a contact named ``name``; ``more`` adds
        Person fields (``emailAddresses=[...]``, ``organizations=[...]``)."""
        pid = person_id or "c" + secrets.token_hex(8)
        body = {"names": [{"displayName": name, "metadata": {"primary": True}}], **more}
        self.db.execute(
            "INSERT OR REPLACE INTO people VALUES (?, ?, ?, 0)",
            (pid, self._next_seq(), json.dumps(body)),
        )
        return pid

    def put_group(self, name: str) -> str:
        """A label the person creates; its resource name (``contactGroups/<id>``)."""
        resource = "contactGroups/" + secrets.token_hex(6)
        self.db.execute(
            "INSERT INTO contact_groups (resource, name) VALUES (?, ?)", (resource, name)
        )
        return resource

    def rename_group(self, resource: str, name: str) -> None:
        self.db.execute("UPDATE contact_groups SET name = ? WHERE resource = ?", (name, resource))

    def groups(self, offset: int, size: int) -> tuple[list[dict[str, Any]], int]:
        """A page of contact groups from ``offset`` and how many there are in all."""
        rows = self.db.execute(
            "SELECT resource, name FROM contact_groups ORDER BY n LIMIT ? OFFSET ?", (size, offset)
        ).fetchall()
        total = int(self.db.execute("SELECT COUNT(*) FROM contact_groups").fetchone()[0])
        return [{"resourceName": r, "name": n} for r, n in rows], total

    def delete(self, person_id: str) -> None:
        self.db.execute(
            "UPDATE people SET deleted = 1, seq = ? WHERE id = ?", (self._next_seq(), person_id)
        )

    def expire_sync_tokens(self) -> None:
        """As seven days after the full sync: every token issued so far is refused."""
        self.db.execute("UPDATE sync_tokens SET expired = 1")

    # ------------------------------------------------------------ the API's side

    def head(self) -> int:
        return self._next_seq() - 1

    def issue(self, seq: int) -> str:
        token = f"st{seq}.{secrets.token_urlsafe(12)}"
        self.db.execute("INSERT INTO sync_tokens VALUES (?, ?, 0)", (token, seq))
        return token

    def token_seq(self, token: str) -> tuple[int | None, bool]:
        """The sequence a token names and whether it expired; (None, False) if unknown."""
        row = self.db.execute(
            "SELECT seq, expired FROM sync_tokens WHERE token = ?", (token,)
        ).fetchone()
        return (None, False) if row is None else (int(row[0]), bool(row[1]))

    def page(self, after: int, upto: int, size: int, *, with_deleted: bool) -> Page:
        rows = self.db.execute(
            "SELECT id, seq, body, deleted FROM people WHERE seq > ? AND seq <= ?"
            " AND (deleted = 0 OR ?) ORDER BY seq LIMIT ?",
            (after, upto, int(with_deleted), size + 1),
        ).fetchall()
        more = len(rows) > size
        rows = rows[:size]
        people = [_person(r[0], r[1], r[2], bool(r[3])) for r in rows]
        return Page(people, int(rows[-1][1]) if more else None)

    def count(self, kind: str) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM people WHERE deleted = 0").fetchone()[0])

    def records(self, kind: str) -> list[dict[str, Any]]:
        if kind != "customer":
            raise KeyError(kind)
        rows = self.db.execute("SELECT id, seq, body, deleted FROM people").fetchall()
        return [_person(r[0], r[1], r[2], bool(r[3])) for r in rows]


def _person(pid: str, seq: int, body: str, deleted: bool) -> dict[str, Any]:
    person: dict[str, Any] = {"resourceName": f"people/{pid}", "etag": f"%E{seq}"}
    if deleted:
        person["metadata"] = {"deleted": True}
        return person
    fields: dict[str, Any] = json.loads(body)
    return person | {"metadata": {"sources": [{"type": "CONTACT", "id": pid}]}} | fields
