"""Every reason code the code base can emit has help, and docs/reason-codes.md lists them
all (generated: it cannot drift)."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncledger.core import reason_codes
from syncledger.core.validation import REASON_CODES, reason_help, rule_help

REPO = Path(__file__).resolve().parents[2]
#: what each placeholder of an f-string code can be (``core/sync_prepare.py`` names the
#: records a record needs; ``core/sync.py`` refuses changes to posted money)
PLACEHOLDERS = {
    "kind": ("customer", "invoice", "payment", "credit_note"),
    "work.ref.kind": ("payment", "credit_note", "refund"),
    "problem": ("minute limit",),
}
#: calls whose string arguments are reason codes
CODE_CALLS = {"reject", "_reject", "abandon", "_ask", "RejectionReason"}


def _sources() -> Iterator[Path]:
    for folder in ("core", "adapters"):
        for path in (REPO / folder).rglob("*.py"):
            parts = set(path.relative_to(REPO).parts)
            if not parts & {"sandbox", "alerts", "__pycache__"}:  # a platform's own codes
                yield path


def _expand(node: ast.expr, strict: bool = True) -> list[str]:
    """The texts a literal can be (``strict``: an f-string's placeholders must be known;
    otherwise one that is not cannot be a code, e.g. a message)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _expand(node.body, strict) + _expand(node.orelse, strict)
    if isinstance(node, ast.BoolOp):
        return [c for value in node.values for c in _expand(value, strict)]
    if not isinstance(node, ast.JoinedStr):
        return []
    parts: list[tuple[str, ...]] = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append((str(value.value),))
        else:
            assert isinstance(value, ast.FormattedValue)
            name = ast.unparse(value.value)
            parts.append(PLACEHOLDERS[name] if strict or name in PLACEHOLDERS else (" ",))
    return ["".join(p) for p in itertools.product(*parts)]


def _is_code(text: str) -> bool:
    return re.fullmatch(r"[a-z0-9_.:* ]+", text) is not None and " " not in text.split(":")[0]


def _codes_in(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code":
            yield from _expand(node.value)
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "code":
            yield from _expand(node.value)
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).rsplit(".", 1)[-1]
            if name in CODE_CALLS:
                yield from _call_codes(node)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            elts = node.value.elts  # a Missing: (dependency ref, code, message)
            if len(elts) == 3:
                yield from _expand(elts[1])


def _call_codes(call: ast.Call) -> Iterator[str]:
    for arg in call.args:
        if isinstance(arg, ast.List):  # [(code, message), …]
            for elt in arg.elts:
                if isinstance(elt, ast.Tuple) and elt.elts:
                    yield from _expand(elt.elts[0])
        else:
            yield from (c for c in _expand(arg, strict=False) if _is_code(c))


def emitted_codes() -> set[str]:
    found = set(REASON_CODES)
    for path in _sources():
        found.update(c for c in _codes_in(ast.parse(path.read_text())) if _is_code(c))
    return found


def test_the_scan_finds_the_codes_users_met_without_help() -> None:
    codes = emitted_codes()
    assert {"customer_not_synced", "conflict", "invoice_not_synced", "duplicate_name"} <= codes
    assert {"subject_erased", "ambiguous_match", "payment_changed", "unsupported"} <= codes
    assert "syncledger.total_mismatch" in codes  # an adapter's own
    assert not {c for c in codes if c.startswith("refund_not")}  # nothing needs a refund


@pytest.mark.parametrize("code", sorted(emitted_codes()))
def test_every_code_the_code_base_emits_has_help(code: str) -> None:
    assert "no help" not in reason_help(code)
    assert len(reason_help(code)) > 30


def test_the_codes_users_saw_without_help_now_say_what_to_do() -> None:
    assert "syncledger review" in reason_help("customer_not_synced")
    assert "syncledger conflicts" in reason_help("conflict")
    assert "not synced" in reason_help("invoice_not_synced")


def test_docs_list_every_code_with_its_fix() -> None:
    doc = (REPO / "docs" / "reason-codes.md").read_text(encoding="utf-8")
    assert doc == reason_codes.markdown(rule_help()), (
        "docs/reason-codes.md is out of date: "
        "python -m syncledger.core.reason_codes > docs/reason-codes.md"
    )
    listed = set(re.findall(r"^\| `([^`]+)` \|", doc, flags=re.MULTILINE))
    for code in emitted_codes():
        family = next((f + "*" for f in ("syncledger.", "429:") if code.startswith(f)), code)
        assert family in listed, code
