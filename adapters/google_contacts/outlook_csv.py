"""The *Outlook CSV* layout of a Google Contacts export, read by header name.

Google Contacts' export offers Google CSV, Outlook CSV and vCard (SOURCES.md §3.2). The
Outlook CSV header uses Outlook's contact field names; real exports from
contacts.google.com reproduced in third-party projects show it in two versions:

* ``First Name, Middle Name, Last Name, Title, Suffix, Initials, Web Page, …, Notes,
  E-mail Address, E-mail 2 Address, E-mail 3 Address, Primary Phone, Home Phone, Home Phone
  2, Mobile Phone, Pager, Home Fax, Home Address, Home Street, Home Street 2, Home Street 3,
  Home Address PO Box, Home City, Home State, Home Postal Code, Home Country, …, Company
  Main Phone, Business Phone, Business Phone 2, Business Fax, Assistant's Phone, Company,
  Job Title, Department, …, Business Address, Business Street, …, Business Country, Other
  Phone, Other Fax, Other Address, Other Street, …, Other Country, …, Categories``, with
  labels in ``Categories`` as ``myContacts;starred`` and a multi-line ``Home Address``
  [S] GitHub file ids 15878252217 (a parser's test fixture), 38890953963 ("from
  google.com", a header noted beside outlook.live.com's);
* ``First Name, Middle Name, Last Name, Title, Suffix, Nickname, Given Yomi, Surname
  Yomi, E-mail Address, E-mail 2 Address, E-mail 3 Address, Home Phone, …, Business
  Phone, …, Mobile Phone, …, Primary Phone, …, Company, …, Business Street, Business City,
  Business State, Business Postal Code, Business Country/Region, Home Street, …, Notes``
  (no labels) [S] GitHub file ids 38890953963 (outlook.live.com and contacts.google.com),
  15878252217, 8379405639, 47390326733;
* Outlook's own field list (the same names; ``Country/Region``; ``Street 2``/``Street 3``;
  ``Categories``) [S] https://www.spstechnical.com/outlook_contacts_schema.htm.

Columns are found **by name, never by position**; absent ones are empty. Mapping to the
canonical customer fields, as for Google CSV (``csv_export.py``): the organisation is
``Company``, the person ``First/Middle/Last Name``; e-mails in the order ``E-mail
Address``, ``E-mail 2 Address``, ``E-mail 3 Address`` (the first is the primary: the
layout marks none); phones in the order :data:`PHONES` (``Primary Phone`` first, then the
business numbers; faxes, pagers and assistants' numbers are not the customer's); the
address the first of Business, Home, Other (:data:`ADDRESSES`) that has one: its
formatted ``… Address`` cell when the export has one, else its parts. Identity: the same
rule as Google CSV (``csv_export.identity``), so a contact with the same primary e-mail
gets the same id whichever CSV layout it was exported in.

Not documented, and the safe path taken: the text encoding (read as UTF-8 like the Google
layouts; Outlook's own desktop export may be ANSI: a row that is not UTF-8 is refused,
never guessed); whether Google joins extra values into one cell (a ``" ::: "`` is split
as in Google CSV).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from syncledger.adapters.google_contacts.contact import Contact, split_values

MARKS: Final = frozenset({"First Name", "Last Name", "E-mail Address"})
EMAILS: Final = ("E-mail Address", "E-mail 2 Address", "E-mail 3 Address")
PHONES: Final = (
    "Primary Phone",
    "Business Phone",
    "Company Main Phone",
    "Mobile Phone",
    "Home Phone",
    "Business Phone 2",
    "Home Phone 2",
    "Other Phone",
    "Car Phone",
)
ADDRESSES: Final = ("Business", "Home", "Other")
CATEGORIES: Final = "Categories"
_STREETS: Final = ("Street", "Street 2", "Street 3", "Address PO Box")


def fits(header: set[str]) -> bool:
    return header >= MARKS


def _cells(row: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    values = (v for name in names for v in split_values(row.get(name, "")))
    return list(dict.fromkeys(values))


def _cell(row: Mapping[str, str], name: str) -> str:
    return row.get(name, "").strip()


def _address(row: Mapping[str, str], kind: str) -> str:
    formatted = _cell(row, f"{kind} Address")
    if formatted:
        return formatted
    streets = [_cell(row, f"{kind} {part}") for part in _STREETS]
    region = (_cell(row, f"{kind} State"), _cell(row, f"{kind} Postal Code"))
    state = " ".join(p for p in region if p)
    town = ", ".join(p for p in (_cell(row, f"{kind} City"), state) if p)
    country = _cell(row, f"{kind} Country") or _cell(row, f"{kind} Country/Region")
    return "\n".join(p for p in (*streets, town, country) if p)


def contact_of(
    header: list[str], line: int, row: Mapping[str, str], problems: list[str]
) -> Contact:
    names = (_cell(row, n) for n in ("First Name", "Middle Name", "Last Name"))
    addresses = (_address(row, kind) for kind in ADDRESSES)
    return Contact(
        line=line,
        person=" ".join(n for n in names if n),
        organisation=_cell(row, "Company"),
        emails=tuple(_cells(row, EMAILS)),
        phones=tuple(_cells(row, PHONES)),
        addresses=tuple(a for a in addresses if a),
        groups=tuple(split_values(row.get(CATEGORIES, ""), ";")),
        problems=tuple(problems),
    )
