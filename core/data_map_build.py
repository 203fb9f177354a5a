"""The data map of an entity's connections, made from the source's and the ledger's
mapping files and the operator's regions, its transfer verdict applied to the ledger's
rules, and its publication in the log (composition root: it reads platform files).

``DataMapPublished`` (audit category) is appended when a sync starts with a map (or
transfer rules, with their approval) the log has not seen, once per digest, so an audit
package carries the map and the rules in force for its period.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace

from syncledger.adapters.platforms import ledger_rules, mapping_file
from syncledger.adapters.sources.registry import source
from syncledger.core.data_map import DataMap, flows, ledger_customer_fields
from syncledger.core.errors import ConfigurationError
from syncledger.core.events import DataMapPublished, make_envelope, subject_for
from syncledger.core.mapping import load_mapping
from syncledger.core.settings import Settings
from syncledger.core.store import EventStore
from syncledger.core.validation import LedgerRules


def data_map(settings: Settings, ledger: str | None = None) -> DataMap:
    """The entity's map from its source to ``ledger`` (default: the configured one)."""
    ledger_id = ledger or settings.ledger
    ledger_fields, versions = _ledger_side(ledger_id)
    platform = source(settings.source)
    regions = {k.lower(): v for k, v in settings.data_regions.items()}
    return DataMap(
        entity=settings.entity,
        source=settings.source,
        ledger=ledger_id,
        source_region=regions.get(settings.source.lower()),
        ledger_region=regions.get(ledger_id.lower()),
        flows=flows(platform.personal_fields(), ledger_fields),
        rules=settings.transfer,
        mapping_versions=versions,
    )


def _ledger_side(ledger: str) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """The ledger mapping's customer fields and version; none for a ledger without a
    mapping file (the in-memory test ledger writes no personal field anywhere)."""
    try:
        path = mapping_file(ledger)
    except ConfigurationError:
        return {}, {}
    fields = ledger_customer_fields(tomllib.loads(path.read_text(encoding="utf-8")))
    return fields, {ledger: load_mapping(ledger, path).version}


def checked_rules(settings: Settings, ledger: str) -> LedgerRules:
    """The ledger's rules, refusing personal data where the transfer rules forbid it."""
    rules = ledger_rules(ledger)
    if settings.transfer is None:
        return rules  # no rules: nothing is refused for where it goes
    return replace(rules, transfer_refusal=data_map(settings, ledger).verdict())


async def publish_data_map(store: EventStore, settings: Settings, ledger: str) -> DataMap:
    """Append ``DataMapPublished`` unless this map is the one the log holds already."""
    found = data_map(settings, ledger)
    digest = found.digest()
    subject = subject_for(
        settings.entity, "audit", "syncledger", "datamap", f"{ledger}-{digest[:16]}"
    )
    seen = await store.subject_last_seq(subject)
    if seen == 0:
        payload = DataMapPublished(ledger=ledger, sha256=digest, data_map=found.to_json())
        envelope = make_envelope(
            payload, entity=settings.entity, subject=subject, actor=settings.actor
        )
        await store.append([envelope], expect={subject: 0})
    return found
