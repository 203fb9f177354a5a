"""A Google Contacts CSV export as a source of customers.

Facts (each [S]/[P] as tagged; /work/shared/SOURCES.md §3.2 holds the citations):

* the export offers Google CSV, Outlook CSV and vCard [S]
  ``phuchungbhutia/cheatsheets:cheatsheets/contacts.md``. The two **Google CSV** layouts
  are read here, the **Outlook CSV** one by ``outlook_csv.py``; a vCard (or any other
  header) is refused with a message saying to export as Google CSV;
* the **current** Google CSV header: fixed columns ``First Name, Middle Name, Last Name,
  ..., Organization Name, Organization Title, ..., Notes, Photo, Labels`` then numbered
  groups emitted only as needed: ``E-mail N - Label/Value``, ``Phone N - Label/Value``,
  ``Address N - Label/Formatted/Street/City/PO Box/Region/Postal Code/Country/Extended
  Address`` [S] GitHub file ids 71518587879, 67110882322, 52487203887, 55664784669;
* the **legacy** header: ``Name, Given Name, Additional Name, Family Name, ...,
  Group Membership, E-mail 1 - Type, E-mail 1 - Value, Phone 1 - Type, Phone 1 - Value,
  Organization 1 - Name, ...`` [S] GitHub file ids 34716822775, 10315740851, 35491025949.
  Columns are found **by name, never by position**; the layout is told from the header;
* quirks: a UTF-8 **BOM**, multi-line quoted ``Notes``, several values in one cell
  joined by ``" ::: "``, labels such as ``* myContacts ::: Customers`` (``* Other
  Contacts`` for Gmail's other contacts), a primary value's label prefixed ``"* "``
  (``* Work``), phone-only rows [S] same files.

Mapping to the canonical customer fields (docs/csv.md): ``name`` is the organisation
when the row has one, else the person's name (then ``contact_name`` is the person);
``email``/``phone``/``billing_address`` are the primary value (the group whose label is
marked ``* ``, else the first); the labels are the customer's ``tags`` (``contact.py``:
never sent to a ledger, a ``[rollout]`` scope may select on them). Further e-mails, phones
and addresses are not carried: no ledger receives them, nothing in syncledger reads them,
and personal data with no use is not kept (the canonical customer has one of each).
``currency``: the export has none; it is the connection's ``currency`` setting, else left
absent so validation reports ``currency`` as missing. ``tax_id`` and ``updated_at``: the
export has neither.

**Identity.** The export carries no id. A contact's id is ``gc-`` and the first 20 hex
digits of SHA-256 over ``email:<primary e-mail, case-folded>``; without an e-mail over
``name:<person or organisation, case-folded>|phone:<primary phone's digits>``. So a
re-import of the same export yields the same ids and content (a no-op for ingest), and a
renamed contact with an e-mail keeps its id; renaming one without an e-mail makes a new
customer (say so to users). A row with nothing to identify it, or a second row with the
same identity, becomes an item with problems (``MALFORMED_FIELD``) and a stand-in id.

**Deletions.** A contact deleted in Google is simply missing from the next export, and an
export of one label also leaves others out. So missing contacts are reported deleted only
when the connection says so (``missing_is_deleted``); the ids ever seen are kept in a
state file, and every read re-reports each missing one (ingest keeps one deletion).

A bad **file** (unreadable, empty, a header of neither layout, broken quoting) raises
:class:`~syncledger.core.errors.SourceError` naming the file and line; a bad **row**
(wrong cell count, text not valid UTF-8) is an item carrying its problems.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

from syncledger.adapters.google_contacts import outlook_csv
from syncledger.adapters.google_contacts.contact import (
    PRIMARY_MARK,
    Contact,
    split_values,
    tags_of,
)
from syncledger.adapters.sources.csv_source import numbered_rows
from syncledger.core.errors import SourceError
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import SourceChanges
from syncledger.core.validation import MALFORMED_FIELD

_ADDRESS_PARTS: Final = ("Street", "PO Box", "Extended Address", "City", "Region")
_ADDRESS_TAIL: Final = ("Postal Code", "Country")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where one Google CSV layout keeps what a customer needs."""

    name: str
    given: str
    middle: str
    family: str
    full: str | None
    organisation: str
    groups: str
    label_word: str  # "Label" (current) or "Type" (legacy) in "E-mail N - <word>"

    def fits(self, header: set[str]) -> bool:
        return {self.given, self.family, self.groups} <= header


CURRENT: Final = Layout(
    "Google CSV",
    "First Name",
    "Middle Name",
    "Last Name",
    None,
    "Organization Name",
    "Labels",
    "Label",
)
LEGACY: Final = Layout(
    "Google CSV (legacy)",
    "Given Name",
    "Additional Name",
    "Family Name",
    "Name",
    "Organization 1 - Name",
    "Group Membership",
    "Type",
)
LAYOUTS: Final = (CURRENT, LEGACY)


#: reads one row of a layout: (header, line, row, problems) -> Contact
ContactReader = Callable[[list[str], int, Mapping[str, str], list[str]], Contact]


# --------------------------------------------------------------------------- cells


def _numbers(header: list[str], what: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(what)} (\d+) - ")
    found = {m.group(1) for h in header if (m := pattern.match(h))}
    return sorted(found, key=int)


def _multi(
    row: Mapping[str, str], header: list[str], what: str, word: str, value: str
) -> list[str]:
    """Every value of a numbered group (``E-mail N - Value``), the primary group first."""
    primary: list[str] = []
    rest: list[str] = []
    for n in _numbers(header, what):
        values = split_values(row.get(f"{what} {n} - {value}", ""))
        marked = row.get(f"{what} {n} - {word}", "").startswith(PRIMARY_MARK)
        (primary if marked else rest).extend(values)
    return primary + rest


def _address(row: Mapping[str, str], n: str) -> str:
    formatted = row.get(f"Address {n} - Formatted", "").strip()
    if formatted:
        return formatted
    head = [row.get(f"Address {n} - {p}", "").strip() for p in _ADDRESS_PARTS]
    tail = [row.get(f"Address {n} - {p}", "").strip() for p in _ADDRESS_TAIL]
    return "\n".join(p for p in [*head, " ".join(t for t in tail if t)] if p)


def _addresses(row: Mapping[str, str], header: list[str], word: str) -> list[str]:
    primary: list[str] = []
    rest: list[str] = []
    for n in _numbers(header, "Address"):
        text = _address(row, n)
        if text:
            marked = row.get(f"Address {n} - {word}", "").startswith(PRIMARY_MARK)
            (primary if marked else rest).append(text)
    return primary + rest


def _person(row: Mapping[str, str], layout: Layout) -> str:
    parts = [row.get(c, "").strip() for c in (layout.given, layout.middle, layout.family)]
    joined = " ".join(p for p in parts if p)
    return joined or (row.get(layout.full, "").strip() if layout.full else "")


def contact_of(
    layout: Layout, header: list[str], line: int, row: Mapping[str, str], problems: list[str]
) -> Contact:
    word = layout.label_word
    return Contact(
        line=line,
        person=_person(row, layout),
        organisation=row.get(layout.organisation, "").strip(),
        emails=tuple(_multi(row, header, "E-mail", word, "Value")),
        phones=tuple(_multi(row, header, "Phone", word, "Value")),
        addresses=tuple(_addresses(row, header, word)),
        groups=tuple(split_values(row.get(layout.groups, ""))),
        problems=tuple(problems),
    )


# --------------------------------------------------------------------------- identity


def identity(contact: Contact) -> str | None:
    """What identifies the contact (see the module docstring); None when nothing does."""
    if contact.emails:
        return "email:" + contact.emails[0].casefold()
    digits = re.sub(r"\D", "", contact.phones[0]) if contact.phones else ""
    if not contact.name and not digits:
        return None
    return f"name:{contact.name.casefold()}|phone:{digits}"


def contact_id(key: str) -> str:
    return "gc-" + hashlib.sha256(key.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------- file


def _file_error(path: Path, line: int, problem: str) -> SourceError:
    return SourceError(f"{path.name} line {line}: {problem}")


def reader_of(path: Path, header: list[str]) -> ContactReader:
    """How to read the rows under ``header``: a Google CSV layout, else Outlook CSV."""
    names = set(header)
    for layout in LAYOUTS:
        if layout.fits(names):
            return partial(contact_of, layout)
    if outlook_csv.fits(names):
        return outlook_csv.contact_of
    raise _file_error(
        path,
        1,
        "the header is not a Google Contacts CSV export (Google CSV: First Name/Last Name/"
        "Labels or Given Name/Family Name/Group Membership; Outlook CSV: First Name/Last "
        "Name/E-mail Address): export again choosing 'Google CSV' (vCard is not read)",
    )


def _has_surrogates(text: str) -> bool:
    return any(0xDC80 <= ord(c) <= 0xDCFF for c in text)


def _row_problems(path: Path, line: int, header: list[str], cells: list[str]) -> list[str]:
    problems = []
    if len(cells) != len(header):
        problems.append(
            f"{path.name} line {line} has {len(cells)} cells but the header has "
            f"{len(header)} columns"
        )
    if any(_has_surrogates(c) for c in cells):
        problems.append(f"{path.name} line {line}: text is not valid UTF-8")
    return problems


def _clean(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _contacts(path: Path, reader: Any) -> Iterator[Contact]:
    try:
        header = [h.strip() for h in next(reader, None) or []]
    except csv.Error as exc:
        raise _file_error(path, 1, f"the header cannot be read ({exc})") from exc
    if not header:
        raise _file_error(path, 1, "the file is empty: export again from Google Contacts")
    contact_of_row = reader_of(path, header)
    for line, cells in numbered_rows(reader, partial(_broken, path)):
        problems = _row_problems(path, line, header, cells)
        row = dict(zip(header, (_clean(c) for c in cells), strict=False))
        yield contact_of_row(header, line, row, problems)


def _broken(path: Path, line: int, exc: csv.Error) -> SourceError:
    return _file_error(path, line, f"broken quoting ({exc})")


def read_contacts(path: Path) -> list[Contact]:
    """Every contact of an export (UTF-8, with or without a BOM)."""
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
            return list(_contacts(path, csv.reader(fh, strict=True)))
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror}): check the path") from exc


# --------------------------------------------------------------------------- items


def _fields(contact: Contact, currency: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": contact.name}
    if contact.organisation and contact.person:
        fields["contact_name"] = contact.person
    firsts = {
        "email": contact.emails,
        "phone": contact.phones,
        "billing_address": contact.addresses,
    }
    fields |= {k: v[0] for k, v in firsts.items() if v}
    if currency:
        fields["currency"] = currency
    tags = tags_of(contact.groups)
    if tags:
        fields["tags"] = tags
    return fields


def _version(fields: Mapping[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ItemMaker:
    path: Path
    system: str
    currency: str | None

    def items(self, contacts: list[Contact]) -> list[SourceItem]:
        seen: dict[str, int] = {}
        return [self._item(c, seen) for c in contacts]

    def _item(self, contact: Contact, seen: dict[str, int]) -> SourceItem:
        problems = list(contact.problems)
        key = identity(contact)
        if key is None:
            problems.append(
                f"{self.path.name} line {contact.line}: no name, e-mail or phone identifies "
                "this contact: fill one in Google Contacts or delete the contact"
            )
        sid = contact_id(key) if key else f"{self.path.name}#L{contact.line}"
        if sid in seen:
            problems.append(
                f"{self.path.name} line {contact.line}: the same contact as line {seen[sid]} "
                "(same e-mail, or same name and phone): merge the duplicates in Google Contacts"
            )
            sid = f"{sid}~L{contact.line}"
        seen.setdefault(sid, contact.line)
        fields = _fields(contact, self.currency)
        if problems:
            fields[MALFORMED_FIELD] = problems
        return SourceItem(self.system, "customer", sid, _version(fields), fields)


# --------------------------------------------------------------------------- state


class SeenIds:
    """Ids read from earlier exports, in a JSON file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> set[str]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            raise SourceError(
                f"{self.path}: the list of contacts seen cannot be read ({exc}): delete the "
                "file (deletions already missing from the export will not be reported)"
            ) from exc
        return {str(i) for i in raw} if isinstance(raw, list) else set()

    def save(self, ids: set[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(sorted(ids)), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot be written ({exc.strerror})") from exc


# --------------------------------------------------------------------------- the reader


class GoogleCsvExport:
    """:class:`~syncledger.core.source_ports.SourceReader` over one export file, read
    whole each time (the export has no change time: ingest skips unchanged content)."""

    def __init__(
        self,
        path: Path,
        *,
        system: str = "google-contacts",
        currency: str | None = None,
        seen: SeenIds | None = None,
    ) -> None:
        self.system = system
        self._maker = ItemMaker(Path(path), system, currency or None)
        self._seen = seen

    def read(self) -> list[SourceItem]:
        path = self._maker.path
        if not path.is_file():
            raise SourceError(f"{path} not found: export Google Contacts as 'Google CSV' there")
        items = self._maker.items(read_contacts(path))
        return items + self._missing(items)

    def _missing(self, items: list[SourceItem]) -> list[SourceItem]:
        if self._seen is None:
            return []
        present = {i.id for i in items}
        known = self._seen.load()
        self._seen.save(known | present)
        return [
            SourceItem(self.system, "customer", sid, "deleted", {}, deleted=True)
            for sid in sorted(known - present)
        ]

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        return SourceChanges(tuple(await asyncio.to_thread(self.read)), None)

    async def aclose(self) -> None:
        """Nothing held: the file is opened per read."""
