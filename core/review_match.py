"""Why a ledger customer matched one of ours (issue 16: "the review queue shows why each
candidate matched"): the rules whose values both hold, named, never shown.

``LedgerAdapter.match_customer`` finds candidates by name, e-mail or tax id (each
adapter's docstring says which its platform can search by); it does not say which
matched. This tells it from what the ledger returned: the name through the canonical
``LedgerRecord.name`` (case and spacing do not count, as ``core.sync_state.name_key``),
e-mail and tax id by looking for our value among the texts of the platform's own record
(``LedgerRecord.raw``), so no platform field name is assumed. A rule that cannot be seen
in what the ledger returned is not claimed.
"""

from __future__ import annotations

from syncledger.core.model import Customer
from syncledger.core.pii_text import texts_in
from syncledger.core.ports import LedgerRecord
from syncledger.core.sync_state import name_key

#: how each rule reads to a person
RULE_WORDS = {"name": "name", "email": "e-mail", "tax_id": "tax id"}
_MIN_TAX_KEY = 3  # shorter keys would match any stray code


def tax_key(value: str) -> str:
    """A tax id as registries compare them: letters and digits, upper case."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def match_rules(ours: Customer, candidate: LedgerRecord) -> tuple[str, ...]:
    """The rules (``name``, ``email``, ``tax_id``) by which ``candidate`` matches ``ours``."""
    rules = []
    if name_key(ours.name) is not None and name_key(candidate.name) == name_key(ours.name):
        rules.append("name")
    texts = list(texts_in(candidate.raw))
    email = (ours.email or "").strip().casefold()
    if email and any(t.strip().casefold() == email for t in texts):
        rules.append("email")
    tax = tax_key(ours.tax_id or "")
    if len(tax) >= _MIN_TAX_KEY and any(tax_key(t) == tax for t in texts):
        rules.append("tax_id")
    return tuple(rules)


def rules_text(rules: tuple[str, ...] | None) -> str:
    """``matched by name and e-mail``; None: an item asked before the rules were kept."""
    if rules is None:
        return "why it matched was not recorded"
    if not rules:
        return "matched by the ledger's own search (no shared name, e-mail or tax id seen)"
    words = [RULE_WORDS.get(r, r) for r in rules]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"matched by {joined}"
