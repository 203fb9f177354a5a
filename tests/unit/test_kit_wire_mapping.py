"""The shared wire-mapping pieces (adapters/kit/wire_mapping.py): paths written and read,
references noted and found, the mapping file loaded or refused with the platform named; a
payment's applied part and a document's total checked before anything is sent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from tests.support import documents

_REFS = st.text(alphabet=st.characters(blacklist_categories=("Z", "C")), min_size=1)


@given(_REFS, st.text())
def test_a_noted_reference_is_found_in_any_text_around_it(ref: str, before: str) -> None:
    assert kit.ref_in(f"{before}\n{kit.ref_note(ref)}\nmore") == ref


def test_text_without_the_marker_carries_no_reference() -> None:
    assert kit.ref_in("paid by cheque") is None
    assert kit.ref_in(None) is None


def test_fields_go_to_every_path_named_and_dates_as_days() -> None:
    table = {"name": ("Name", "Contact.Name"), "due": ("Due",), "absent": ("X",)}
    values = {"name": "Ada", "due": date(2026, 1, 31), "absent": None}
    body = kit.fields_body(table, values)
    assert body == {"Name": "Ada", "Contact": {"Name": "Ada"}, "Due": "2026-01-31"}
    assert kit.get_path(body, "Contact.Name") == "Ada"
    assert kit.get_path(body, "Contact.Missing.Deeper") is None


def test_a_platform_steps_down_its_own_way() -> None:
    def listed(node: dict[str, Any], part: str) -> dict[str, Any]:
        item: dict[str, Any] = {"part": part}
        node.setdefault("items", []).append(item)
        return item

    body: dict[str, Any] = {}
    kit.set_path(body, "a.b", 1, listed)
    assert body == {"items": [{"part": "a", "b": 1}]}


def test_amounts_and_text_keep_none() -> None:
    assert kit.amount("12.30") == Decimal("12.30")
    assert kit.amount(None) is None
    assert kit.text(7) == "7"
    assert kit.text(None) is None


def test_a_mapping_file_is_built_with_its_digest(tmp_path: Path) -> None:
    file = tmp_path / "mapping.toml"
    file.write_text('version = "3"\n[invoice.fields]\nnumber = ["DocNumber", "Ref.Number"]\n')

    def build(raw: Any, digest: str) -> tuple[str, dict[str, tuple[str, ...]], str]:
        return raw["version"], kit.paths(raw["invoice"]["fields"]), digest

    version, fields, digest = kit.load_toml_mapping("syncledger.adapters.qbo", "QBO", file, build)
    assert (version, fields) == ("3", {"number": ("DocNumber", "Ref.Number")})
    assert len(digest) == 64


@pytest.mark.parametrize("content", ["version = ", "other = 1", 'version = "x"'])
def test_a_broken_mapping_file_is_a_configuration_error_naming_the_platform(
    tmp_path: Path, content: str
) -> None:
    file = tmp_path / "mapping.toml"
    file.write_text(content)

    def build(raw: Any, _digest: str) -> int:
        return int(raw["version"])

    with pytest.raises(ConfigurationError, match=r"^Zoho Books mapping .*mapping\.toml is invalid"):
        kit.load_toml_mapping("syncledger.adapters.zoho", "Zoho Books", file, build)


def test_the_default_file_is_the_platform_packages(tmp_path: Path) -> None:
    version = kit.load_toml_mapping("syncledger.adapters.sage", "Sage", None, lambda r, _d: r)
    assert "version" in version


def test_the_applied_part_is_all_of_the_payment_or_between_nothing_and_it() -> None:
    paid = documents.payment("250.00")
    assert kit.applied_part(paid, None) == Decimal("250.00")
    assert kit.applied_part(paid, Decimal("0")) == Decimal("0")
    assert kit.applied_part(paid, Decimal("250.00")) == Decimal("250.00")
    for wrong in ("-0.01", "250.01"):
        with pytest.raises(PermanentLedgerError) as refused:
            kit.applied_part(paid, Decimal(wrong), code="platform.code")
        assert refused.value.code == "platform.code"
        assert f"cannot apply {wrong} of a 250.00 payment" in str(refused.value)


def test_a_total_the_platform_would_work_out_otherwise_is_refused_naming_both() -> None:
    note = documents.credit_note("5.00")
    kit.check_total(note, Decimal("5.00"), "Books")
    with pytest.raises(PermanentLedgerError) as refused:
        kit.check_total(note, Decimal("5.01"), "Books", "lines to the cent")
    assert refused.value.code == "syncledger.total_mismatch"
    assert str(refused.value).startswith(
        "credit note CN-1: Books would total 5.01 (lines to the cent) but the source says 5.00"
    )
    with pytest.raises(PermanentLedgerError, match=r"^POST /x: Books would total 4\.99"):
        kit.check_total(note, Decimal("4.99"), "Books", where="POST /x")


def test_a_kind_the_table_lacks_is_one_the_adapter_does_not_handle() -> None:
    table = {"invoice": "Invoices"}
    assert kit.handled(table, "invoice", "Books") == "Invoices"
    with pytest.raises(PermanentLedgerError, match="Books adapter does not handle 'bill'") as no:
        kit.handled(table, "bill", "Books")
    assert no.value.code == "unsupported"


def test_a_marker_carries_its_value_anywhere_in_a_note() -> None:
    void = kit.Marker("syncledger-void:")
    assert void.note("CM-7") == "syncledger-void: CM-7"
    assert void.found_in(f"typed by a person\n{void.note('CM-7')}\nmore") == "CM-7"
    assert void.found_in(kit.ref_note("INV-1")) is None
    assert void.found_in(None) is None
