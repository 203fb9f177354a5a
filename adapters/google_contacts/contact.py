"""One contact of a Google Contacts export, whatever its layout (``csv_export.py`` reads the
two Google CSV layouts, ``outlook_csv.py`` the Outlook CSV one), and its labels as tags.

Labels become the customer's canonical ``tags`` (never sent to a ledger; a ``[rollout]``
scope can select on them): Google CSV writes them in ``Labels``/``Group Membership`` as
``* myContacts ::: Customers`` (a system group marked ``"* "``), Outlook CSV in
``Categories`` as ``myContacts;starred`` (SOURCES.md §3.2; GitHub file ids 15878252217,
38890953963). The tag is the label's name without the mark, so both layouts give the same
tags (``myContacts``, ``Customers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SEPARATOR: Final = " ::: "
PRIMARY_MARK: Final = "* "


def split_values(cell: str, separator: str = SEPARATOR) -> list[str]:
    """The values of one cell (``" ::: "`` between them), blanks dropped."""
    return [v.strip() for v in cell.split(separator) if v.strip()]


def tags_of(labels: tuple[str, ...]) -> list[str]:
    """Label names without their system mark, each once, in the export's order."""
    names = (label.removeprefix(PRIMARY_MARK).strip() for label in labels)
    return list(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True, slots=True)
class Contact:
    """One row of the export, read; ``problems`` say what could not be."""

    line: int
    person: str
    organisation: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    addresses: tuple[str, ...]
    groups: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.organisation or self.person
