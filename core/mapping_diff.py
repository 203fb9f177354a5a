"""``syncledger mapping diff``: what a new version of a ledger's mapping file changes, as
text (a unified diff) and as records (a dry run), before anything is published.

The dry run judges each source record's latest version twice, the way the worker judges
it (``core/sync.py``: the mapping's transforms and item policy, then every validation rule
of the ledger, ``core/validation.py``), once under the version in force and once under
the new file, and sorts the records into

* **rejected → accepted**: the new version lets it through (the worker re-flows it by
  itself once the version is in force, ``core/reflow.py``);
* **accepted → rejected**: the new version refuses it, with its reasons;
* **fields change**: accepted by both, with different canonical fields (named, never
  their values: they may be personal);
* unchanged (counted only).

Pure: the records, mappings and rules are given (``core/mapping_diff_log.py`` reads them
from the log). What it does not judge, because the mapping is not what decides it or
because it needs the ledger: dependencies (a customer not in the ledger), duplicate
customer names, whether a mapped item exists in the ledger (``ledger_item_missing``), the
ledger's figures. A record rejected for those alone shows as accepted by both.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from syncledger.core.events import RejectionReason
from syncledger.core.mapping import Mapping as MappingFile
from syncledger.core.pii_text import echoable, strip_reasons
from syncledger.core.ports import SourceItem
from syncledger.core.validation import LedgerRules, Rejected, validate

#: how many records each list shows (the total is always given)
LIST_CAP: Final = 20


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one mapping version makes of one record."""

    reasons: tuple[RejectionReason, ...]  #: empty: accepted
    fields: Mapping[str, Any]  #: the canonical record as JSON (accepted only)

    @property
    def accepted(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class Judge:
    """Judges records the way the worker does, for one ledger's rules and currency."""

    rules: LedgerRules
    home_currency: str

    def verdict(self, mapping: MappingFile, item: SourceItem) -> Verdict:
        fields, mapped = mapping.apply(item.kind, item.fields)
        shaped = SourceItem(item.system, item.kind, item.id, item.version, fields)
        result = validate(shaped, self.rules, home_currency=self.home_currency)
        found = result.reasons if isinstance(result, Rejected) else ()
        reasons = (*mapped, *found)
        if reasons or isinstance(result, Rejected):
            shown = strip_reasons(reasons, echoable(item.kind, item.fields))
            return Verdict(shown or _unexplained(), {})
        return Verdict((), result.record.model_dump(mode="json"))


def _unexplained() -> tuple[RejectionReason, ...]:
    return (RejectionReason(code="invalid_record", message="rejected without a reason"),)


@dataclass(frozen=True, slots=True)
class Change:
    ref: str
    detail: str  #: the reasons (newly rejected), the earlier reasons, or the fields


@dataclass
class DryRun:
    """The records a new mapping version changes, by how."""

    judged: int = 0
    now_accepted: list[Change] = field(default_factory=list)
    now_rejected: list[Change] = field(default_factory=list)
    fields_change: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return len(self.now_accepted) + len(self.now_rejected) + len(self.fields_change)

    def add(self, ref: str, old: Verdict, new: Verdict) -> None:
        self.judged += 1
        if not old.accepted and new.accepted:
            self.now_accepted.append(Change(ref, f"was {_codes(old.reasons)}"))
        elif old.accepted and not new.accepted:
            self.now_rejected.append(Change(ref, _reasons(new.reasons)))
        elif old.accepted and (names := changed_fields(old.fields, new.fields)):
            self.fields_change.append(Change(ref, ", ".join(names)))
        else:
            self.unchanged += 1


def dry_run(
    judge: Judge, old: MappingFile, new: MappingFile, items: Iterable[tuple[str, SourceItem]]
) -> DryRun:
    """Each ``(ref, item)`` judged under ``old`` and ``new``."""
    run = DryRun()
    for ref, item in items:
        run.add(ref, judge.verdict(old, item), judge.verdict(new, item))
    return run


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The canonical fields whose values differ (a field only one side has included)."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def _codes(reasons: Sequence[RejectionReason]) -> str:
    return ", ".join(dict.fromkeys(r.code for r in reasons))


def _reasons(reasons: Sequence[RejectionReason]) -> str:
    return "; ".join(f"{r.code}: {r.message}" for r in reasons)


def unified_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    """The unified diff of two mapping files, line by line (no trailing newlines)."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm=""
    )
    return list(lines)


@dataclass(frozen=True, slots=True)
class MappingDiff:
    """The diff between the version in force and a file, and its dry run."""

    ledger: str
    in_force: str | None  #: the version in force (None: none published yet)
    proposed: str  #: the file's version
    path: str
    diff: list[str]
    run: DryRun

    @property
    def exit_code(self) -> int:
        """0: no record changes; 1: records change (they need a look)."""
        return 1 if self.run.changed else 0

    def text(self) -> str:
        return "\n".join([*self._head(), *self.diff, *self._records()])

    def _head(self) -> list[str]:
        if self.in_force is None:
            return [
                f"no {self.ledger} mapping version in the log yet: {self.proposed} "
                f"({self.path}) is published by the first sync or `syncledger mapping publish`"
            ]
        if self.in_force == self.proposed:
            return [f"{self.path} is {self.proposed}, the version in force: nothing changes"]
        return [f"{self.ledger}: {self.in_force} in force, {self.proposed} in {self.path}"]

    def _records(self) -> list[str]:
        if self.in_force is None or self.in_force == self.proposed:
            return []
        run = self.run
        out = [
            f"dry run over the latest version of {run.judged} records (nothing written): "
            f"{len(run.now_accepted)} rejected → accepted, {len(run.now_rejected)} accepted "
            f"→ rejected, {len(run.fields_change)} with other fields, {run.unchanged} unchanged"
        ]
        out += _listed("rejected → accepted", run.now_accepted)
        out += _listed("accepted → rejected", run.now_rejected)
        out += _listed("fields change", run.fields_change)
        return out

    def as_json(self) -> dict[str, object]:
        run = self.run
        return {
            "ledger": self.ledger,
            "in_force": self.in_force,
            "proposed": self.proposed,
            "file": self.path,
            "diff": self.diff,
            "records": run.judged,
            "rejected_to_accepted": _json_list(run.now_accepted),
            "accepted_to_rejected": _json_list(run.now_rejected),
            "fields_change": _json_list(run.fields_change),
            "unchanged": run.unchanged,
        }


def _listed(title: str, changes: list[Change]) -> list[str]:
    if not changes:
        return []
    rows = [f"  {c.ref}: {c.detail}" for c in changes[:LIST_CAP]]
    more = len(changes) - LIST_CAP
    return [f"{title} ({len(changes)}):", *rows, *([f"  … and {more} more"] if more > 0 else [])]


def _json_list(changes: list[Change]) -> dict[str, object]:
    listed = [{"ref": c.ref, "detail": c.detail} for c in changes[:LIST_CAP]]
    return {"count": len(changes), "listed": listed}
