"""The working set: read-model rows held in memory while a batch is folded.

Rows are plain dicts keyed by their primary key. Each table is loaded a *group* at a time
(``entity`` + one column, e.g. every ``sync_state`` row of one source record), so the fold
can ask "all ledgers of this record" without a query per event. Changed keys are tracked
and written back in one transaction per batch.

The set may be kept between batches (the runner is the only writer: its checkpoint guard
proves it). When it is *complete* — a build into fresh, empty tables — nothing is ever
loaded: a missing row is known not to exist. A complete set that grows past its cap
*evicts* its rows (:meth:`WorkingSet.evict`, once they are written) and stays complete:
the groups it let go are remembered in a fixed-size Bloom filter
(:class:`EvictedGroups`), and only a group the filter may hold is read back from the
database (a false positive costs one query that finds nothing). So a rebuild's memory
stays flat in the length of the log.

Every change is journaled until the next :meth:`WorkingSet.mark`, so the fold can take
back what one event half-did (:meth:`WorkingSet.undo`) and go on with the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from syncledger.core.errors import ProjectionError

Row = dict[str, Any]
Key = tuple[str, ...]
Group = tuple[str, str]  # (entity, value of the group column)
Loader = Callable[["TableSpec", list[Group]], list[Row]]


class RowsUnavailable(ProjectionError):
    """Rows could not be loaded from the database: the batch fails, whatever event asked."""


class TableSpec:
    """Primary key (``entity`` first) and group column of one read-model table."""

    __slots__ = ("_group_of", "group", "group_index", "key", "key_of", "name")

    def __init__(self, name: str, key: tuple[str, ...], group: str) -> None:
        self.name = name
        self.key = key
        self.group = group  # with entity, names a group of rows loaded together
        # where the group column sits in the key (None: rows are found by group only)
        self.group_index = key.index(group) if group in key else None
        self.key_of: Callable[[Row], Key] = itemgetter(*key)
        self._group_of: Callable[[Row], Group] = itemgetter("entity", group)

    def group_of_key(self, key: Key) -> Group:
        if self.group_index is None:
            raise ProjectionError(f"{self.name} rows are read by group, not by key")
        return key[0], key[self.group_index]

    def group_of(self, row: Row) -> Group:
        return self._group_of(row)


SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("records", ("entity", "source_ref"), "source_ref"),
        TableSpec("sync_state", ("entity", "source_ref", "ledger"), "source_ref"),
        TableSpec("links", ("entity", "source_ref", "ledger"), "source_ref"),
        TableSpec("errors", ("entity", "source_ref", "ledger"), "source_ref"),
        TableSpec("balances", ("entity", "customer_ref", "currency"), "customer_ref"),
        TableSpec("mismatches", ("entity", "ledger", "key"), "key"),
        TableSpec("ledger_records", ("entity", "ledger", "ledger_ref"), "ledger_ref"),
        TableSpec("unfoldable", ("entity", "seq"), "source_ref"),
    )
}


class EvictedGroups:
    """A Bloom filter of (table, group) pairs written to the database and let go: no false
    negatives, so a group it does not hold was never written."""

    BITS = 1 << 25  # 4 MiB; a million groups leave a false positive well under 0.1 %
    _MASK = BITS - 1

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS >> 3)
        self.count = 0

    def _positions(self, table: str, group: Group) -> tuple[int, int, int]:
        h = hash((table, group))  # Python ints: ``&`` of a negative one is still in range
        step = (h >> 32) | 1
        return h & self._MASK, (h + step) & self._MASK, (h + 2 * step) & self._MASK

    def add(self, table: str, group: Group) -> None:
        for bit in self._positions(table, group):
            self._bits[bit >> 3] |= 1 << (bit & 7)
        self.count += 1

    def may_hold(self, table: str, group: Group) -> bool:
        bits = self._bits
        one, two, three = self._positions(table, group)
        return bool(
            bits[one >> 3] & (1 << (one & 7))
            and bits[two >> 3] & (1 << (two & 7))
            and bits[three >> 3] & (1 << (three & 7))
        )


#: one undoable change: (table, key, group, row before, key was dirty before)
Change = tuple["TableState", Key, Group, Row | None, bool]


@dataclass(slots=True)
class TableState:
    spec: TableSpec
    complete: bool = False
    loader: Loader | None = None
    evicted: EvictedGroups | None = None  # a complete set's groups let go (None: none)
    rows: dict[Key, Row] = field(default_factory=dict)
    groups: dict[Group, set[Key]] = field(default_factory=dict)
    dirty: set[Key] = field(default_factory=set)
    journal: list[Change] = field(default_factory=list)

    def missing(self, groups: Iterable[Group]) -> list[Group]:
        """Groups not held yet (none, when the set is complete)."""
        if self.complete:
            return []
        return [g for g in set(groups) if g not in self.groups]

    def add_loaded(self, groups: Iterable[Group], rows: Iterable[Row]) -> None:
        for g in groups:
            self.groups.setdefault(g, set())
        for row in rows:
            key = self.spec.key_of(row)
            self.rows[key] = row
            self.groups.setdefault(self.spec.group_of(row), set()).add(key)

    def _ensure(self, group: Group) -> set[Key]:
        keys = self.groups.get(group)
        if keys is not None:
            return keys
        if not self.complete or self._was_evicted(group):
            self.add_loaded([group], self._load(group))
            return self.groups[group]
        keys = self.groups[group] = set()
        return keys

    def _load(self, group: Group) -> list[Row]:
        if self.loader is None:
            raise RowsUnavailable(f"{self.spec.name}: group {group} not loaded, no loader")
        try:
            return self.loader(self.spec, [group])
        except Exception as exc:
            raise RowsUnavailable(f"loading {self.spec.name} rows failed: {exc}") from exc

    def _remember(self, key: Key, group: Group) -> None:
        self.journal.append((self, key, group, self.rows.get(key), key in self.dirty))

    def restore(self, key: Key, group: Group, row: Row | None, dirty: bool) -> None:
        """Put ``key`` back as it was before a journaled change."""
        if row is None:
            self.rows.pop(key, None)
            self.groups.get(group, set()).discard(key)
        else:
            self.rows[key] = row
            self.groups.setdefault(group, set()).add(key)
        if dirty:
            self.dirty.add(key)
        else:
            self.dirty.discard(key)

    def _was_evicted(self, group: Group) -> bool:
        return self.evicted is not None and self.evicted.may_hold(self.spec.name, group)

    def get(self, key: Key) -> Row | None:
        found = self.rows.get(key)
        if found is not None or (self.complete and self.evicted is None):
            return found  # a held row is current; a complete set holds every row
        group = self.spec.group_of_key(key)
        if self.complete and group not in self.groups and not self._was_evicted(group):
            return None  # never written, never held
        self._ensure(group)
        return self.rows.get(key)

    def evict(self, evicted: EvictedGroups) -> None:
        """Let every row go (all written: nothing dirty), remembering their groups."""
        if self.dirty:
            raise ProjectionError(f"{self.spec.name}: rows not written yet cannot be evicted")
        for group, keys in self.groups.items():
            if keys:  # an empty group has nothing in the database either
                evicted.add(self.spec.name, group)
        self.rows, self.groups, self.evicted = {}, {}, evicted

    def group_rows(self, group: Group) -> list[Row]:
        return [self.rows[k] for k in sorted(self._ensure(group))]

    def put(self, row: Row) -> None:
        key, group = self.spec.key_of(row), self.spec.group_of(row)
        keys = self._ensure(group)
        self._remember(key, group)
        keys.add(key)
        self.rows[key] = row
        self.dirty.add(key)

    def delete(self, key: Key) -> None:
        group = self.spec.group_of_key(key)
        keys = self._ensure(group)
        self._remember(key, group)
        keys.discard(key)
        if self.rows.pop(key, None) is not None:
            self.dirty.add(key)

    def take_changes(self) -> tuple[list[Row], list[Key]]:
        """(rows to upsert, keys to delete) since the last call."""
        upserts = [self.rows[k] for k in self.dirty if k in self.rows]
        deletes = [k for k in self.dirty if k not in self.rows]
        self.dirty = set()
        return upserts, deletes


class WorkingSet:
    """One :class:`TableState` per read-model table (checkpoints excluded)."""

    def __init__(self, *, complete: bool = False) -> None:
        self._journal: list[Change] = []
        self._evicted: EvictedGroups | None = None  # made at the first eviction
        self.tables = {
            name: TableState(spec, complete, journal=self._journal) for name, spec in SPECS.items()
        }
        self.records = self.tables["records"]
        self.sync = self.tables["sync_state"]
        self.links = self.tables["links"]
        self.errors = self.tables["errors"]
        self.balances = self.tables["balances"]
        self.mismatches = self.tables["mismatches"]
        self.ledger_records = self.tables["ledger_records"]
        self.unfoldable = self.tables["unfoldable"]

    @property
    def complete(self) -> bool:
        return all(t.complete for t in self.tables.values())

    def set_loader(self, loader: Loader | None) -> None:
        for table in self.tables.values():
            table.loader = loader

    def size(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())

    def evict(self) -> None:
        """A complete set lets its written rows go and stays complete (see the module
        docstring); a table read by group only (``unfoldable``: few rows) keeps them."""
        if not self.complete:
            raise ProjectionError("only a complete working set evicts; drop an incomplete one")
        if self._evicted is None:
            self._evicted = EvictedGroups()
        evicted = self._evicted
        for table in self.tables.values():
            if table.spec.group_index is not None:
                table.evict(evicted)
            else:  # every row held: a group without rows has none in the database either
                table.groups = {group: keys for group, keys in table.groups.items() if keys}

    def mark(self) -> None:
        """Start journaling afresh: :meth:`undo` takes back the changes made after this."""
        self._journal.clear()

    def undo(self) -> None:
        """Take back every change since :meth:`mark` (rows loaded meanwhile stay)."""
        while self._journal:
            table, key, group, row, dirty = self._journal.pop()
            table.restore(key, group, row, dirty)
