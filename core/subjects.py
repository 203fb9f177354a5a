"""Where each kind of event lives in the subject space (DESIGN §4)."""

from __future__ import annotations

from syncledger.core.events import subject_for
from syncledger.core.ids import subject_token
from syncledger.core.model import RecordRef


def source_subject(entity: str, ref: RecordRef) -> str:
    return subject_for(entity, "source", ref.system, ref.kind, ref.id)


def ledger_subject(entity: str, ledger: str, ref: RecordRef) -> str:
    """Ledger events of one source record on one ledger."""
    return subject_for(entity, "ledger", ledger, ref.kind, f"{ref.system}-{ref.id}")


def recon_subject(entity: str, ledger: str, what: str, key: str) -> str:
    return subject_for(entity, "recon", ledger, what, key)


def entity_filter(entity: str, category: str = ">", ledger: str | None = None) -> str:
    base = f"sl.{subject_token(entity)}"
    if category == ">":
        return f"{base}.>"
    if ledger is None:
        return f"{base}.{category}.>"
    return f"{base}.{category}.{subject_token(ledger)}.>"
