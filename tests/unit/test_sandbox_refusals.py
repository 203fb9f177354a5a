"""Every sandbox's refusal table (``adapters/<platform>/sandbox/refusals.py``): complete
rows, each with its documented source, and each rule used by the sandbox's code."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

REPO = Path(__file__).resolve().parents[2]
TABLES = sorted(p.parent.parent.name for p in REPO.glob("adapters/*/sandbox/refusals.py"))


def _table(folder: str) -> RefusalTable:
    module = importlib.import_module(f"syncledger.adapters.{folder}.sandbox.refusals")
    table = module.REFUSALS
    assert isinstance(table, RefusalTable)
    return table


def test_every_platform_with_a_sandbox_has_its_table() -> None:
    with_sandbox = sorted(p.parent.parent.name for p in REPO.glob("adapters/*/sandbox/server.py"))
    assert with_sandbox == TABLES


def test_a_rule_listed_twice_is_refused() -> None:
    row = Refusal("x.y", 400, "", "no", "test")
    with pytest.raises(ValueError, match="listed twice"):
        RefusalTable("test", row, row)


def test_an_unknown_rule_names_the_platform() -> None:
    with pytest.raises(KeyError, match=r"test sandbox has no refusal named 'x\.z'"):
        RefusalTable("test", Refusal("x.y", 400, "", "no", "test"))["x.z"]


@pytest.mark.parametrize("folder", TABLES)
def test_every_row_is_complete(folder: str) -> None:
    table = _table(folder)
    assert len(table) > 0
    for row in table:
        assert 400 <= row.status < 600, row
        assert row.rule and row.message.strip() and row.source.strip(), row


@pytest.mark.parametrize("folder", TABLES)
def test_every_rule_is_used_by_the_sandbox(folder: str) -> None:
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (REPO / "adapters" / folder / "sandbox").glob("*.py")
        if p.name != "refusals.py"
    )
    unused = [row.rule for row in _table(folder) if f'"{row.rule}"' not in code]
    assert unused == []


def test_an_answer_builds_its_rows_with_its_status_and_code() -> None:
    invalid = answered(422, "RecordInvalid")
    row = invalid("field.required", "This field is required.", "the models")
    assert row == Refusal(
        "field.required", 422, "RecordInvalid", "This field is required.", "the models"
    )
