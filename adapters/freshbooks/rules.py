"""What FreshBooks accepts, checked before a record is pushed: no limit of its own is
documented where we looked, so every length is syncledger's conservative default
(``DEFAULT_LIMITS``) and ':' is refused in customer names, as for the default rules."""

from __future__ import annotations

from typing import Final

from syncledger.core.validation import default_rules

RULES: Final = default_rules("freshbooks")
