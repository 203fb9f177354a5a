"""Every sandbox's refusal table carries its examples, and a sandbox test fires them
(``tests/contracts/refusal_examples_section.py``), so a rule added without an example (or
a reasoned exemption) fails."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from syncledger.adapters.sandbox.examples import Example, Examples, Exempt

REPO = Path(__file__).resolve().parents[2]
TABLES = sorted(p.parent.parent.name for p in REPO.glob("adapters/*/sandbox/refusals.py"))


@pytest.mark.parametrize("folder", TABLES)
def test_every_table_has_its_examples_and_a_test_fires_them(folder: str) -> None:
    module = importlib.import_module(f"syncledger.adapters.{folder}.sandbox.refusals")
    assert isinstance(module.EXAMPLES, Examples)
    assert module.EXAMPLES.table is module.REFUSALS
    fired = f"from syncledger.adapters.{folder}.sandbox.refusals import"
    texts = (p.read_text(encoding="utf-8") for p in REPO.glob("tests/unit/test_*.py"))
    assert any(fired in text and "(RefusalExamplesSection)" in text for text in texts)


def test_examples_of_a_rule_the_table_lacks_are_refused() -> None:
    module = importlib.import_module("syncledger.adapters.jobber.sandbox.refusals")
    with pytest.raises(ValueError, match="not in the table"):
        Examples(module.REFUSALS, {"no.such_rule": Example("GET", "/")})


def test_a_rule_is_shown_by_its_examples_or_its_exemption() -> None:
    module = importlib.import_module("syncledger.adapters.jobber.sandbox.refusals")
    one, why = Example("GET", "/"), Exempt("a reason")
    shown = Examples(module.REFUSALS, {"rate.requests": one, "version.unknown": why})
    assert (shown.of("rate.requests"), shown.of("version.unknown")) == ((one,), why)
    assert shown.of("oauth.invalid_client") is None
