"""``connections`` per entity and ``--entity`` checks, on files alone: the shared tokens
and an entity's own are told apart, an entity without a ledger of its own reads the
shared ones, and an entity the configuration does not name is refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from syncledger.adapters.oauth2 import FileTokenStore, TokenSet
from syncledger.core.connect import (
    connection_statuses,
    require_entity,
    statuses_text,
    token_file,
)
from syncledger.core.errors import ConfigurationError
from syncledger.core.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        entities=["north", "south", "plain"],
        entity_ledgers={
            "north": {"ledger_url": "http://127.0.0.1:9"},
            "south": {"ledger": "xero", "ledger_url": "http://127.0.0.1:9"},
        },
    )


def _save(path: Path) -> None:
    FileTokenStore(path).save(TokenSet("a", "r", time.time() + 60))


def test_an_entity_with_its_own_ledger_has_its_own_token_file(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    assert token_file(cfg.for_entity("north"), "qbo") == tmp_path / "tokens/north/qbo.json"
    assert token_file(cfg.for_entity("plain"), "qbo") == tmp_path / "tokens/qbo.json"


def test_connections_list_the_shared_ones_then_each_entitys_own(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    _save(tmp_path / "tokens" / "north" / "qbo.json")
    _save(tmp_path / "tokens" / "qbo.json")
    rows = connection_statuses(cfg)
    own = {(r.entity, r.ledger): r for r in rows if r.entity is not None}
    assert set(own) == {("north", "qbo"), ("south", "xero")}
    assert own["north", "qbo"].status == "connected"
    assert own["south", "xero"].status == "never"
    assert own["south", "xero"].reconnect == "syncledger connect xero --entity south"
    shared = {r.ledger: r.status for r in rows if r.entity is None}
    assert shared["qbo"] == "connected" and shared["xero"] == "never"

    assert [(r.entity, r.ledger) for r in connection_statuses(cfg, entity="north")] == [
        ("north", "qbo")
    ]
    plain = connection_statuses(cfg, entity="plain")  # no ledger of its own: the shared ones
    assert {r.entity for r in plain} == {None} and len(plain) == len(shared)

    lines = statuses_text(rows).splitlines()
    assert any(line.startswith("north/qbo ") and " connected" in line for line in lines)
    assert any(line.startswith("south/xero ") and "→ syncledger connect" in line for line in lines)


def test_an_entity_the_configuration_does_not_name_is_refused(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    for known in ("north", "plain", cfg.entity):
        require_entity(cfg, known)
    with pytest.raises(ConfigurationError, match="unknown entity 'west'"):
        require_entity(cfg, "west")
