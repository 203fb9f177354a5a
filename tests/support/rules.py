"""Every ledger's validation rules by id, for tests that run a rule over all of them."""

from __future__ import annotations

from syncledger.adapters.platforms import ledger_rules, platform_ids
from syncledger.adapters.qbd.rules import RULES as QBD_RULES
from syncledger.core.validation import LedgerRules

#: the shipped platforms, plus QuickBooks Desktop, whose rules come before its adapter
ALL_RULES: dict[str, LedgerRules] = {i: ledger_rules(i) for i in platform_ids()} | {
    "qbd": QBD_RULES
}


def rules_of(ledger: str) -> LedgerRules:
    """``ledger``'s rules; the conservative defaults for an id without any."""
    return ALL_RULES.get(ledger) or ledger_rules(ledger)
