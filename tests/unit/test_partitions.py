"""Partitions of `run --entities`: the fair share, each worker's order, and each entity's
ledger from its `[entity_ledgers.<name>]` table (core/partitions.py, core/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncledger.core.errors import ConfigurationError
from syncledger.core.partitions import check_ledgers, fair_share, partitions_of, preference
from syncledger.core.settings import Settings
from syncledger.core.settings_check import read_toml


@pytest.mark.parametrize(
    ("partitions", "workers", "share"),
    [(6, 1, 6), (6, 2, 3), (6, 4, 2), (50, 4, 13), (2, 4, 1), (6, 0, 6)],
)
def test_fair_share_is_the_ceiling_of_partitions_over_live_workers(
    partitions: int, workers: int, share: int
) -> None:
    assert fair_share(partitions, workers) == share


def test_each_worker_has_its_own_stable_order_of_preference() -> None:
    parts = partitions_of(Settings(entities="a,b,c,d,e,f"))
    first = [p.entity for p in preference("worker-1", parts)]
    assert first == [p.entity for p in preference("worker-1", list(reversed(parts)))]
    assert sorted(first) == ["a", "b", "c", "d", "e", "f"]
    others = {tuple(p.entity for p in preference(f"worker-{n}", parts)) for n in range(2, 12)}
    assert len(others | {tuple(first)}) > 1  # not every worker reaches for the same first


def test_entity_names_from_a_variable_are_trimmed_and_kept_once_in_order() -> None:
    assert Settings(entities=" b, a,,b ,c").entities == ["b", "a", "c"]


def test_an_entity_with_a_table_gets_its_ledger_url_tenant_and_own_token_file(
    tmp_path: Path,
) -> None:
    cfg = Settings(
        data_dir=tmp_path,
        ledger="qbo",
        entities="acme,beta",
        entity_ledgers={
            "acme": {"ledger": "XERO", "ledger_url": "http://127.0.0.1:9", "tenant": "t-1"}
        },
    )
    acme, beta = partitions_of(cfg)
    assert (acme.scope, acme.settings.ledger_url, acme.settings.ledger_tenant) == (
        "acme/xero",
        "http://127.0.0.1:9",
        "t-1",
    )
    assert acme.settings.ledger_token_file("xero") == tmp_path / "tokens" / "acme" / "xero.json"
    assert (beta.scope, beta.settings.ledger_url, beta.settings.ledger_tenant) == (
        "beta/qbo",
        None,
        None,
    )
    assert beta.settings.ledger_token_file("qbo") == tmp_path / "tokens" / "qbo.json"
    assert acme.settings.for_entity("beta").ledger == "qbo"  # the table does not leak


def test_a_command_for_an_entity_with_a_table_reads_it() -> None:
    cfg = Settings(entity="acme", entity_ledgers={"acme": {"ledger_url": "http://127.0.0.1:9"}})
    assert cfg.ledger_url == "http://127.0.0.1:9"


def test_an_unknown_ledger_in_a_table_is_one_line_naming_the_entity() -> None:
    parts = partitions_of(Settings(entities="acme", entity_ledgers={"acme": {"ledger": "nope"}}))
    with pytest.raises(ConfigurationError, match="entity acme: unknown ledger 'nope'"):
        check_ledgers(parts)


def test_a_misspelt_key_in_an_entity_table_names_its_line_and_the_nearest(
    tmp_path: Path,
) -> None:
    toml = tmp_path / "syncledger.toml"
    toml.write_text('[entity_ledgers.acme]\nledger = "qbo"\nledger_ur = "http://x"\n')
    with pytest.raises(ConfigurationError) as caught:
        read_toml(toml)
    assert str(caught.value) == (
        f"{toml} line 3: unknown key 'ledger_ur' in [entity_ledgers.acme] "
        "(did you mean ledger_url?)"
    )
