"""The shared wire-mapping pieces (adapters/kit/wire_mapping.py): paths written and read,
references noted and found, the mapping file loaded or refused with the platform named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.kit import wire_mapping as kit
from syncledger.core.errors import ConfigurationError

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
