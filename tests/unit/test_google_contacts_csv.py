"""The Google Contacts CSV export reader: both Google CSV layouts with a BOM, ` ::: ` values,
labels as tags, the Outlook CSV layout, stable ids, bad files and bad rows."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from syncledger.adapters.google_contacts.csv_export import GoogleCsvExport, SeenIds
from syncledger.core.errors import SourceError
from syncledger.core.model import Customer
from syncledger.core.ports import SourceItem
from syncledger.core.rollout import RolloutRule
from syncledger.core.validation import MALFORMED_FIELD, LedgerRules, Validated, validate

FIXTURES = Path(__file__).parent.parent / "fixtures" / "google"
CURRENT = FIXTURES / "contacts_google_csv.csv"
LEGACY = FIXTURES / "contacts_legacy_csv.csv"
#: Google's Outlook CSV export: labels in Categories, a formatted Home Address
OUTLOOK = FIXTURES / "contacts_outlook_csv.csv"
#: the same layout as outlook.live.com writes it (Country/Region, no labels)
OUTLOOK_LIVE = FIXTURES / "contacts_outlook_live_csv.csv"
EVERY_LAYOUT = [CURRENT, LEGACY, OUTLOOK, OUTLOOK_LIVE]


def by_email_id(email: str) -> str:
    """The documented identity: gc- + 20 hex digits of SHA-256 of the case-folded e-mail."""
    return "gc-" + hashlib.sha256(f"email:{email.casefold()}".encode()).hexdigest()[:20]


def read(path: Path, **kw: object) -> dict[str, SourceItem]:
    items = GoogleCsvExport(path, **kw).read()  # type: ignore[arg-type]
    return {i.id: i for i in items}


@pytest.mark.parametrize("path", EVERY_LAYOUT)
def test_every_layout_gives_the_same_customer(path: Path) -> None:
    items = read(path, currency="USD")
    maple = items[by_email_id("jamal@maple.example.com")]
    assert maple.kind == "customer"
    assert maple.fields["name"] == "Maple Pest Control"
    assert maple.fields["contact_name"] == "Jamal Garcia"
    assert maple.fields["email"] == "jamal@maple.example.com"
    assert maple.fields["phone"] == "+1 555 758 5553"
    assert maple.fields["currency"] == "USD"
    assert MALFORMED_FIELD not in maple.fields


@pytest.mark.parametrize("path", [CURRENT, LEGACY, OUTLOOK])
def test_labels_are_the_customers_tags_and_a_rollout_scope_selects_on_them(path: Path) -> None:
    """``* myContacts ::: Customers`` (Google CSV) and ``myContacts;Customers`` (Outlook
    CSV) give the same tags; a ``[rollout] tags = ["customers"]`` scope admits the
    customer; further e-mails and phones are not carried."""
    items = read(path, currency="USD")
    maple = items[by_email_id("jamal@maple.example.com")]
    assert maple.fields["tags"] == ["myContacts", "Customers"]
    assert "emails" not in maple.fields and "phones" not in maple.fields
    scope = RolloutRule(tags=("customers",), tag_field="tags")
    assert scope.admits(f"google-contacts/customer/{maple.id}", maple.fields)
    ana = items[by_email_id("ana@thames.example.com")]
    assert not scope.admits(f"google-contacts/customer/{ana.id}", ana.fields)
    verdict = validate(maple, LedgerRules("xero"))
    assert isinstance(verdict, Validated)
    assert isinstance(verdict.record, Customer)
    assert verdict.record.tags == ("myContacts", "Customers")


@pytest.mark.parametrize("path", EVERY_LAYOUT)
def test_only_canonical_fields_leave_the_reader_and_validate(path: Path) -> None:
    allowed = {"name", "contact_name", "email", "phone", "billing_address", "currency", "tags"}
    for item in read(path, currency="EUR").values():
        assert set(item.fields) <= allowed
        assert isinstance(validate(item, LedgerRules("qbo")), Validated), item.fields["name"]


def test_a_person_without_organisation_is_named_by_person_and_address_kept() -> None:
    items = read(CURRENT)
    ana = items[by_email_id("ana@thames.example.com")]
    assert ana.fields["name"] == "Ana Evans"
    assert "contact_name" not in ana.fields
    assert "currency" not in ana.fields  # validation reports it missing
    maple = items[by_email_id("jamal@maple.example.com")]
    assert maple.fields["billing_address"] == "8172 Elm St\nBoise, ID 83702"


def test_a_phone_only_contact_gets_an_id_from_name_and_phone() -> None:
    key = "name:phone only|phone:442079460958"
    expected = "gc-" + hashlib.sha256(key.encode()).hexdigest()[:20]
    only = read(CURRENT)[expected]
    assert only.fields["phone"] == "+44 20 7946 0958"


def test_a_reimport_of_the_same_export_is_identical(tmp_path: Path) -> None:
    copy = tmp_path / "again.csv"
    shutil.copy(CURRENT, copy)
    first, second = GoogleCsvExport(CURRENT).read(), GoogleCsvExport(copy).read()
    assert [(i.id, i.version, i.fields) for i in first] == [
        (i.id, i.version, i.fields) for i in second
    ]


@pytest.mark.parametrize("path", [OUTLOOK, OUTLOOK_LIVE])
def test_outlook_csv_is_read_by_header_name(path: Path) -> None:
    items = read(path)
    assert [i.id for i in items.values()] == [i.id for i in read(CURRENT).values()]
    maple = items[by_email_id("jamal@maple.example.com")]
    assert maple.fields["billing_address"] == "8172 Elm St\nBoise, ID 83702"
    ana = items[by_email_id("ana@thames.example.com")]
    assert ana.fields["name"] == "Ana Evans"
    assert "contact_name" not in ana.fields
    assert ana.fields["billing_address"] in (
        "14 Thames St\nLondon SE10 9BT\nUnited Kingdom",  # the export's formatted Home Address
        "14 Thames St\nLondon, SE10 9BT\nUnited Kingdom",  # composed from its parts
    )
    key = "name:phone only|phone:442079460958"  # Primary Phone before Home Phone
    only = items["gc-" + hashlib.sha256(key.encode()).hexdigest()[:20]]
    assert only.fields["phone"] == "+44 20 7946 0958"


def test_columns_are_found_by_name_not_by_position(tmp_path: Path) -> None:
    path = tmp_path / "shuffled.csv"
    path.write_text(
        "Categories,Business Phone,E-mail Address,Company,Last Name,First Name,Mobile Phone\n"
        "VIP,+1 555 0100,ops@oak.example.com,Oak Ltd,Lee,Kim,+1 555 0199\n",
        encoding="utf-8",
    )
    [item] = GoogleCsvExport(path).read()
    assert item.id == by_email_id("ops@oak.example.com")
    assert (item.fields["name"], item.fields["contact_name"]) == ("Oak Ltd", "Kim Lee")
    assert (item.fields["phone"], item.fields["tags"]) == ("+1 555 0100", ["VIP"])


def test_an_unknown_header_or_a_vcard_is_a_source_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Title,First Name,Middle Name,Last Name,Email\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"other\.csv line 1: .*Google CSV"):
        GoogleCsvExport(path).read()
    card = tmp_path / "contacts.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Ana Evans\nEND:VCARD\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"contacts\.vcf line 1: .*vCard is not read"):
        GoogleCsvExport(card).read()


def test_an_empty_or_missing_file_is_a_source_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty\.csv line 1"):
        GoogleCsvExport(empty).read()
    with pytest.raises(SourceError, match="not found"):
        GoogleCsvExport(tmp_path / "nope.csv").read()


def test_broken_quoting_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('First Name,Last Name,Labels\nA,B,C\n"unterminated,x\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"broken\.csv line 3"):
        GoogleCsvExport(path).read()


def test_a_bad_row_is_an_item_with_problems_and_the_rest_flows(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    header = "First Name,Last Name,Labels,E-mail 1 - Label,E-mail 1 - Value\n"
    path.write_bytes(
        header.encode()
        + b"Ok,Person,* myContacts,,ok@example.com\n"
        + b"Too,Many,cells,,x@example.com,extra\n"
        + b"Bad\xff,Bytes,,,bad@example.com\n"
        + b",,* myContacts,,\n"
        + b"Dup,Licate,,,OK@example.com\n"
    )
    items = GoogleCsvExport(path).read()
    problems = {i.fields["name"]: i.fields.get(MALFORMED_FIELD) for i in items}
    assert problems["Ok Person"] is None
    assert "line 3 has 6 cells" in problems["Too Many"][0]
    assert "line 4: text is not valid UTF-8" in problems["Bad\ufffd Bytes"][0]
    assert "line 5: no name, e-mail or phone" in problems[""][0]
    assert "the same contact as line 2" in problems["Dup Licate"][0]
    assert len({i.id for i in items}) == len(items)


def test_missing_contacts_are_deleted_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    shutil.copy(CURRENT, path)
    seen = SeenIds(tmp_path / "seen.json")
    assert not [i for i in GoogleCsvExport(path, seen=seen).read() if i.deleted]
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if "Ana" not in line), encoding="utf-8-sig")
    assert not [i for i in GoogleCsvExport(path).read() if i.deleted]
    gone = [i for i in GoogleCsvExport(path, seen=seen).read() if i.deleted]
    assert [i.id for i in gone] == [by_email_id("ana@thames.example.com")]
    again = [i for i in GoogleCsvExport(path, seen=seen).read() if i.deleted]
    assert [i.id for i in again] == [i.id for i in gone]  # re-reported; ingest keeps one
