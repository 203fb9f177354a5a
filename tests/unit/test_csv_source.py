"""CsvSource: parsing, grouping, versions, and what happens to malformed rows and files."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from syncledger.adapters.sources.csv_source import CsvSource
from syncledger.core.errors import ConfigurationError, SourceError
from syncledger.core.ports import SourceAdapter, SourceItem
from syncledger.core.sample_data import sample_data_dir
from syncledger.core.validation import MALFORMED_FIELD, Rejected, Validated, validate
from tests.support.rules import rules_of

CUSTOMERS = "id,name,currency,email,updated_at\n"
INVOICES = (
    "id,number,customer_id,issue_date,currency,total,updated_at,"
    "description,quantity,unit_price,tax_amount\n"
)
PAYMENTS = "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
CREDIT_NOTES = (
    "id,number,customer_id,invoice_id,issue_date,currency,total,updated_at,"
    "description,quantity,unit_price\n"
)
INV_ROW = "I1,1001,C1,2024-03-01,USD,{total},2024-03-01T10:00:00Z,{desc},{qty},10.00,{tax}\n"


def write_dir(
    path: Path,
    customers: str = "",
    invoices: str = "",
    payments: str = "",
    credit_notes: str | None = None,
    *,
    encoding: str = "utf-8",
) -> Path:
    files = {
        "customers.csv": CUSTOMERS + customers,
        "invoices.csv": INVOICES + invoices,
        "payments.csv": PAYMENTS + payments,
    }
    if credit_notes is not None:
        files["credit_notes.csv"] = CREDIT_NOTES + credit_notes
    for name, text in files.items():
        (path / name).write_bytes(text.encode(encoding))
    return path


def inv_row(qty: str = "2", total: str = "20.00", desc: str = "Labour", tax: str = "0") -> str:
    return INV_ROW.format(qty=qty, total=total, desc=desc, tax=tax)


def read(path: Path, since: str | None = None) -> list[SourceItem]:
    return CsvSource(path).read(since)


def only(items: list[SourceItem], kind: str) -> list[SourceItem]:
    return [i for i in items if i.kind == kind]


def codes(item: SourceItem) -> list[str]:
    result = validate(item, rules_of("qbo"))
    return [r.code for r in result.reasons] if isinstance(result, Rejected) else []


# --------------------------------------------------------------------------- happy path


def test_customer_row_becomes_a_source_item(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Acme,USD,a@acme.example.com,2024-03-01T10:00:00Z\n")
    (item,) = read(tmp_path)
    assert item == SourceItem(
        system="csv",
        kind="customer",
        id="C1",
        version="2024-03-01T10:00:00+00:00",
        fields={"id": "C1", "name": "Acme", "currency": "USD", "email": "a@acme.example.com"},
    )
    assert isinstance(validate(item, rules_of("qbo")), Validated)


def test_system_name_is_configurable(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Acme,USD,,2024-03-01\n")
    (item,) = CsvSource(tmp_path, system="legacy-crm").read()
    assert item.system == "legacy-crm"


def test_invoice_rows_are_grouped_into_lines(tmp_path: Path) -> None:
    rows = inv_row("2", "35.00", "Labour", "1.00") + inv_row("1", "35.00", '"Parts, misc"', "4.00")
    write_dir(tmp_path, invoices=rows)
    (item,) = read(tmp_path)
    assert item.kind == "invoice"
    assert item.id == "I1"
    assert item.fields["total"] == "35.00"
    assert item.fields["lines"] == [
        {"description": "Labour", "quantity": "2", "unit_price": "10.00", "tax_amount": "1.00"},
        {
            "description": "Parts, misc",
            "quantity": "1",
            "unit_price": "10.00",
            "tax_amount": "4.00",
        },
    ]
    assert "updated_at" not in item.fields
    result = validate(item, rules_of("qbo"))
    assert isinstance(result, Validated), result


def test_rows_of_one_invoice_need_not_be_adjacent(tmp_path: Path) -> None:
    other = "I2,1002,C1,2024-03-01,USD,10.00,2024-03-01T10:00:00Z,Fee,1,10.00,0\n"
    write_dir(tmp_path, invoices=inv_row(total="30.00") + other + inv_row("1", "30.00"))
    items = read(tmp_path)
    assert [i.id for i in items] == ["I1", "I2"]
    assert len(items[0].fields["lines"]) == 2
    assert all(isinstance(validate(i, rules_of("qbo")), Validated) for i in items)


def test_items_come_in_dependency_order(tmp_path: Path) -> None:
    write_dir(
        tmp_path,
        customers="C1,Acme,USD,,2024-03-01\n",
        invoices=inv_row(),
        payments="P1,C1,I1,20.00,USD,2024-03-05,2024-03-05T00:00:00Z\n",
        credit_notes="CN1,CN-1,C1,I1,2024-03-02,USD,10.00,2024-03-02,Refund,1,10.00\n",
    )
    assert [i.kind for i in read(tmp_path)] == ["customer", "invoice", "credit_note", "payment"]


def test_credit_notes_carry_their_invoice(tmp_path: Path) -> None:
    write_dir(
        tmp_path, credit_notes="CN1,CN-1,C1,I1,2024-03-02,USD,10.00,2024-03-02,Refund,1,10.00\n"
    )
    (item,) = read(tmp_path)
    assert item.fields["invoice_id"] == "I1"
    result = validate(item, rules_of("qbo"))
    assert isinstance(result, Validated), result


def test_credit_notes_file_is_optional(tmp_path: Path) -> None:
    write_dir(tmp_path)
    assert read(tmp_path) == []


def test_header_is_case_insensitive_and_bom_is_ignored(tmp_path: Path) -> None:
    write_dir(tmp_path)
    text = "\ufeffID , Name,CURRENCY,Updated_At\nC1,Acme,USD,2024-03-01\n"
    (tmp_path / "customers.csv").write_text(text, encoding="utf-8")
    (item,) = read(tmp_path)
    assert item.fields == {"id": "C1", "name": "Acme", "currency": "USD"}


def test_blank_lines_are_skipped_and_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    write_dir(tmp_path)
    text = (
        "id,name,currency,billing_address,updated_at\n\n"
        'C1,Acme,USD,"1 Main St\nSpringfield",2024-03-01\n\n'
        "C2,Beta,USD,,2024-03-01,extra\n"
    )
    (tmp_path / "customers.csv").write_text(text, encoding="utf-8")
    first, second = read(tmp_path)
    assert first.fields["billing_address"] == "1 Main St\nSpringfield"
    assert MALFORMED_FIELD not in first.fields
    assert "line 6" in second.fields[MALFORMED_FIELD][0]


def test_async_changes_match_read_and_satisfy_the_port(tmp_path: Path) -> None:
    source: SourceAdapter = CsvSource(sample_data_dir())

    async def collect() -> list[SourceItem]:
        return [item async for item in source.changes()]

    assert asyncio.run(collect()) == CsvSource(sample_data_dir()).read()


def test_sample_data_reads_in_full() -> None:
    items = CsvSource(sample_data_dir()).read()
    kinds = [i.kind for i in items]
    assert kinds == sorted(kinds, key=["customer", "invoice", "payment", "refund"].index)
    counts = [kinds.count(kind) for kind in ("customer", "invoice", "payment", "refund")]
    assert counts == [62, 246, 122, 1]
    assert not any(MALFORMED_FIELD in i.fields for i in items)


# ------------------------------------------------------------------ versions, since, deletes


def test_versions_are_normalised_to_utc(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,A,USD,,2024-03-01T12:00:00+02:00\nC2,B,USD,,2024-03-01\n")
    assert [i.version for i in read(tmp_path)] == [
        "2024-03-01T10:00:00+00:00",
        "2024-03-01T00:00:00+00:00",
    ]


def test_since_filters_on_version(tmp_path: Path) -> None:
    write_dir(
        tmp_path,
        customers=(
            "C1,A,USD,,2024-03-01T10:00:00Z\n"
            "C2,B,USD,,2024-03-02T10:00:00Z\n"
            "C3,C,USD,,2024-03-03T10:00:00Z\n"
        ),
    )
    assert [i.id for i in read(tmp_path, "2024-03-02T10:00:00+00:00")] == ["C3"]
    assert [i.id for i in read(tmp_path, "2024-03-02T11:00:00+02:00")] == ["C2", "C3"]
    assert [i.id for i in read(tmp_path, "2024-03-01")] == ["C1", "C2", "C3"]
    assert read(tmp_path, "2024-12-31T00:00:00Z") == []


def test_since_applies_to_whole_invoices(tmp_path: Path) -> None:
    write_dir(tmp_path, invoices=inv_row(total="30.00") + inv_row("1", "30.00"))
    assert read(tmp_path, "2024-03-01T09:00:00Z")[0].fields["lines"][1]["quantity"] == "1"
    assert read(tmp_path, "2024-03-01T10:00:00Z") == []


def test_bad_cursor_is_a_source_error(tmp_path: Path) -> None:
    write_dir(tmp_path)
    with pytest.raises(SourceError, match="not an ISO 8601 timestamp"):
        read(tmp_path, "yesterday")


def test_row_with_unparseable_version_is_always_delivered_and_rejected(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,A,USD,,last tuesday\nC2,B,USD,,\n")
    items = read(tmp_path, "2030-01-01T00:00:00Z")
    assert [i.id for i in items] == ["C1", "C2"]
    assert items[0].version == "customers.csv line 2"  # the cell's text may be personal
    assert codes(items[0]) == ["malformed_row"]
    assert "line 2: updated_at is not an ISO 8601" in items[0].fields[MALFORMED_FIELD][0]
    assert "tuesday" not in items[0].fields[MALFORMED_FIELD][0]


@pytest.mark.parametrize(
    ("flag", "deleted"),
    [("true", True), ("TRUE", True), ("yes", True), ("1", True), ("false", False), ("", False)],
)
def test_deleted_column(tmp_path: Path, flag: str, deleted: bool) -> None:
    write_dir(tmp_path)
    text = f"id,name,currency,updated_at,deleted\nC1,A,USD,2024-03-01,{flag}\n"
    (tmp_path / "customers.csv").write_text(text, encoding="utf-8")
    (item,) = read(tmp_path)
    assert item.deleted is deleted
    assert "deleted" not in item.fields
    assert MALFORMED_FIELD not in item.fields


def test_unclear_deleted_flag_is_a_malformed_row(tmp_path: Path) -> None:
    write_dir(tmp_path)
    text = "id,name,currency,updated_at,deleted\nC1,A,USD,2024-03-01,maybe\n"
    (tmp_path / "customers.csv").write_text(text, encoding="utf-8")
    (item,) = read(tmp_path)
    assert item.deleted is False
    assert codes(item) == ["malformed_row"]


# --------------------------------------------------------------------------- malformed rows


def test_row_with_too_few_cells_is_delivered_and_rejected(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Acme,USD\nC2,Beta,USD,,2024-03-01\n")
    bad, good = read(tmp_path)
    assert bad.id == "C1"
    assert bad.fields["name"] == "Acme"
    assert bad.fields["email"] is None
    assert "3 cells but the header has 5 columns" in bad.fields[MALFORMED_FIELD][0]
    assert "malformed_row" in codes(bad)
    assert codes(good) == []


def test_row_with_too_many_cells_is_delivered_and_rejected(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Acme, Inc,USD,,2024-03-01\n")
    (item,) = read(tmp_path)
    assert "quote values that contain commas" in item.fields[MALFORMED_FIELD][0]
    assert "malformed_row" in codes(item)


def test_ragged_invoice_line_rejects_its_invoice_only(tmp_path: Path) -> None:
    other = "I2,1002,C1,2024-03-01,USD,10.00,2024-03-01T10:00:00Z,Fee,1,10.00,0\n"
    ragged = "I1,1001,C1,2024-03-01,USD,20.00,2024-03-01T10:00:00Z,Labour,2\n"
    write_dir(tmp_path, invoices=ragged + other)
    first, second = read(tmp_path)
    assert "malformed_row" in codes(first)
    assert codes(second) == []


def test_undecodable_bytes_reject_only_their_row(tmp_path: Path) -> None:
    write_dir(tmp_path)
    data = (CUSTOMERS + "C1,Caf\xe9 Lumi\xe8re,EUR,,2024-03-01\n").encode("latin-1")
    data += "C2,Café Noir,EUR,,2024-03-01\n".encode()
    (tmp_path / "customers.csv").write_bytes(data)
    bad, good = read(tmp_path)
    assert bad.fields["name"] == "Caf\ufffd Lumi\ufffdre"
    assert "column name: text is not valid" in bad.fields[MALFORMED_FIELD][0]
    assert set(codes(bad)) == {"malformed_row", "forbidden_character"}
    assert good.fields["name"] == "Café Noir"
    assert codes(good) == []


def test_another_encoding_can_be_chosen(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Café Lumière,EUR,,2024-03-01\n", encoding="cp1252")
    (item,) = CsvSource(tmp_path, encoding="cp1252").read()
    assert item.fields["name"] == "Café Lumière"
    assert codes(item) == []


def test_unknown_encoding_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown encoding"):
        CsvSource(tmp_path, encoding="klingon-8")


def test_invoice_rows_that_disagree_are_malformed(tmp_path: Path) -> None:
    write_dir(tmp_path, invoices=inv_row(total="30.00") + inv_row("1", total="31.00"))
    (item,) = read(tmp_path)
    (problem,) = item.fields[MALFORMED_FIELD]
    assert re.search(r"line 3: total differs from line 2: ", problem)
    assert "31.00" not in problem and "30.00" not in problem  # cells may hold personal data
    assert codes(item) == ["malformed_row"]


def test_row_without_usable_id_gets_a_stand_in_id(tmp_path: Path) -> None:
    write_dir(tmp_path, customers=",Acme,USD,,2024-03-01\nC 2,Beta,USD,,2024-03-01\n")
    first, second = read(tmp_path)
    assert (first.id, second.id) == ("customers.csv#L2", "customers.csv#L3")
    assert codes(first) == ["required_field_missing"]
    assert codes(second) == ["invalid_id"]


def test_invoice_rows_without_lines_become_an_invoice_without_lines(tmp_path: Path) -> None:
    write_dir(tmp_path, invoices="I1,1001,C1,2024-03-01,USD,0.00,2024-03-01,,,,\n")
    (item,) = read(tmp_path)
    assert item.fields["lines"] == []
    assert codes(item) == ["no_lines"]


# --------------------------------------------------------------------------- malformed files


def assert_source_error(path: Path, *fragments: str) -> None:
    with pytest.raises(SourceError) as caught:
        read(path)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_missing_required_column(tmp_path: Path) -> None:
    write_dir(tmp_path)
    (tmp_path / "invoices.csv").write_text(INVOICES.replace("total,", ""), encoding="utf-8")
    assert_source_error(
        tmp_path,
        "invoices.csv line 1",
        "missing required column(s) total",
        "add them to the header row",
    )


def test_unknown_column(tmp_path: Path) -> None:
    write_dir(tmp_path)
    (tmp_path / "customers.csv").write_text("id,name,currency,emial,updated_at\n", encoding="utf-8")
    assert_source_error(tmp_path, "customers.csv line 1", "unknown column(s) emial", "email")


def test_duplicate_and_unnamed_columns(tmp_path: Path) -> None:
    write_dir(tmp_path)
    (tmp_path / "customers.csv").write_text("id,name,name,currency,updated_at\n", encoding="utf-8")
    assert_source_error(tmp_path, "column(s) name appear more than once")
    (tmp_path / "customers.csv").write_text("id,name,currency,updated_at,\n", encoding="utf-8")
    assert_source_error(tmp_path, "column 5 of the header row has no name")


def test_empty_file(tmp_path: Path) -> None:
    write_dir(tmp_path)
    (tmp_path / "payments.csv").write_text("", encoding="utf-8")
    assert_source_error(tmp_path, "payments.csv line 1", "the file is empty", "id,customer_id")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    write_dir(tmp_path)
    (tmp_path / "payments.csv").unlink()
    assert_source_error(tmp_path, "payments.csv not found", "header row")
    assert_source_error(tmp_path / "nowhere", "is not a directory")


def test_broken_quoting_names_the_line(tmp_path: Path) -> None:
    write_dir(tmp_path, customers='C1,Acme,USD,,2024-03-01\nC2,"Beta" Inc,USD,,2024-03-01\n')
    assert_source_error(tmp_path, "customers.csv line 3", "double quotes")


def test_unterminated_quote(tmp_path: Path) -> None:
    write_dir(tmp_path, customers='C1,"Acme,USD,,2024-03-01\nC2,Beta,USD,,2024-03-01\n')
    assert_source_error(tmp_path, "customers.csv line 2: the row starting here", "double quotes")


def test_header_in_wrong_encoding(tmp_path: Path) -> None:
    write_dir(tmp_path)
    (tmp_path / "customers.csv").write_bytes(b"id,n\xe4me,currency,updated_at\n")
    assert_source_error(tmp_path, "customers.csv line 1", "save the file as UTF-8")


def test_utf16_file_is_a_file_error(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Acme,USD,,2024-03-01\n", encoding="utf-16")
    with pytest.raises(SourceError, match=r"customers\.csv line 1"):
        read(tmp_path)


def test_a_bad_file_yields_nothing_at_all(tmp_path: Path) -> None:
    write_dir(tmp_path, customers="C1,Acme,USD,,2024-03-01\n")
    (tmp_path / "payments.csv").write_text("id,amount\n", encoding="utf-8")

    async def collect() -> list[SourceItem]:
        return [item async for item in CsvSource(tmp_path).changes()]

    with pytest.raises(SourceError):
        asyncio.run(collect())


# ------------------------------------------------------------------ the documented examples


def _doc_examples() -> dict[str, str]:
    text = (Path(__file__).parents[2] / "docs" / "csv.md").read_text(encoding="utf-8")
    blocks = re.findall(r"## (\w+\.csv).*?```csv\n(.*?)```", text, flags=re.DOTALL)
    return dict(blocks)


def test_documented_examples_read_and_validate(tmp_path: Path) -> None:
    examples = _doc_examples()
    assert set(examples) == {
        "customers.csv",
        "invoices.csv",
        "credit_notes.csv",
        "payments.csv",
        "refunds.csv",
    }
    for name, body in examples.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    items = read(tmp_path)
    assert [i.kind for i in items] == ["customer"] * 2 + ["invoice"] * 2 + [
        "credit_note",
        "payment",
        "payment",
        "refund",
    ]
    for item in items:
        assert codes(item) == [], item
