"""Personal data that crosses borders: the data map from the source's and the ledger's
mappings, the connections' regions, the transfer rules, the refusal of customers whose
personal data may not go to the ledger's region, and `syncledger audit data-map`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from syncledger.adapters.sources.registry import source, source_ids
from syncledger.core.data_map import (
    PERSONAL_FIELDS,
    DataMap,
    TransferRules,
    flows,
    ledger_customer_fields,
)
from syncledger.core.data_map_build import checked_rules, data_map
from syncledger.core.ports import SourceItem
from syncledger.core.settings import Settings
from syncledger.core.validation import Rejected, Validated, validate
from tests.support.rules import rules_of
from tests.unit.test_cli_config import cli

RULES = TransferRules(
    allowed_regions=("EU", "UK"),
    mechanism="adequacy",
    approved_by="dpo@acme.example",
    approved_on=date(2026, 11, 30),
)


def mapped(source_region: str | None, ledger_region: str | None, rules: TransferRules | None):  # type: ignore[no-untyped-def]
    return DataMap(
        entity="acme",
        source="csv",
        ledger="qbo",
        source_region=source_region,
        ledger_region=ledger_region,
        flows=flows({"email": ("email",)}, {"email": ("PrimaryEmailAddr.Address",)}),
        rules=rules,
    )


def test_the_verdict_follows_regions_and_rules() -> None:
    assert mapped("EU", "US", None).verdict() is None  # no rules: nothing refused
    assert mapped("EU", "EU", RULES).verdict() is None  # stays in the region
    assert mapped("US", "UK", RULES).verdict() is None  # an allowed destination
    refused = mapped("EU", "US", RULES).verdict()
    assert refused is not None and "from csv (EU) to qbo (US)" in refused
    assert "adequacy, approved by dpo@acme.example on 2026-11-30" in refused
    unknown = mapped("EU", None, RULES).verdict()
    assert unknown is not None and "no region is configured for qbo" in unknown


def test_nothing_is_refused_when_no_personal_field_reaches_the_ledger() -> None:
    none_sent = replace(mapped("EU", "US", RULES), flows=flows({"email": ("email",)}, {}))
    assert none_sent.reaching_the_ledger() == ()
    assert none_sent.verdict() is None


def test_ledger_fields_come_from_its_mapping_file() -> None:
    table = {
        "customer": {"fields": {"name": ["DisplayName", "CompanyName"], "phone": "P", "x": ""}}
    }
    assert ledger_customer_fields(table) == {
        "name": ("DisplayName", "CompanyName"),
        "phone": ("P",),
    }


@pytest.mark.parametrize("source_id", source_ids())
def test_every_source_says_where_it_reads_personal_fields(source_id: str) -> None:
    found = source(source_id).personal_fields()
    assert found, source_id
    assert set(found) <= set(PERSONAL_FIELDS)
    assert "email" in found or (source_id == "jobber" and "email" in found)


def test_hubspot_reads_companies_and_contacts_properties() -> None:
    found = source("hubspot").personal_fields()
    assert found["name"] == ("name", "firstname", "lastname")
    assert found["email"] == ("email",)


def customer(**fields: str) -> SourceItem:
    return SourceItem(
        "csv", "customer", "C1", "v1", {"id": "C1", "name": "Acme", "currency": "USD", **fields}
    )


def test_a_customer_with_personal_data_is_refused_where_the_rules_forbid() -> None:
    rules = replace(rules_of("qbo"), transfer_refusal="personal data may not go to qbo (US)")
    refused = validate(customer(email="ann@acme.example"), rules)
    assert isinstance(refused, Rejected)
    assert [(r.code, r.message) for r in refused.reasons] == [
        ("transfer_not_allowed", "personal data may not go to qbo (US)")
    ]
    assert isinstance(validate(customer(), rules), Validated)  # a company without any
    assert isinstance(validate(customer(email="ann@acme.example"), rules_of("qbo")), Validated)


def test_the_settings_build_the_map_and_the_rules(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        ledger="qbo",
        data_regions={"CSV": "EU", "qbo": "US"},
        transfer=RULES,
    )
    found = data_map(settings)
    assert (found.source_region, found.ledger_region) == ("EU", "US")
    assert {f.field for f in found.flows} == set(PERSONAL_FIELDS)
    assert found.to_json()["mapping_versions"]["qbo"].startswith("qbo@")
    assert checked_rules(settings, "qbo").transfer_refusal == found.verdict()
    assert (
        checked_rules(settings.model_copy(update={"transfer": None}), "qbo").transfer_refusal
        is None
    )


def test_the_command_shows_the_map_and_exits_1_when_refused(tmp_path: Path) -> None:
    (tmp_path / "syncledger.toml").write_text(
        '[data_regions]\ncsv = "EU"\nxero = "US"\n\n[transfer]\nallowed_regions = ["UK"]\n'
        'mechanism = "SCCs"\napproved_by = "dpo@acme.example"\napproved_on = 2026-11-30\n'
    )
    said = cli(["audit", "data-map", "--ledger", "xero", "--json"], tmp_path)
    assert said.returncode == 1, said.stderr
    doc = json.loads(said.stdout)
    assert doc["ledger"] == {"id": "xero", "region": "US"}
    assert doc["transfer"].startswith("personal data may not go from csv (EU) to xero (US)")
    assert {f["field"]: f["ledger_fields"] for f in doc["personal_fields"]}["email"] == [
        "EmailAddress"
    ]
    assert not (tmp_path / ".syncledger").exists()  # reading creates nothing
    (tmp_path / "syncledger.toml").write_text('[data_regions]\ncsv = "EU"\nxero = "US"\n')
    fine = cli(["audit", "data-map", "--ledger", "xero"], tmp_path)
    assert fine.returncode == 0, fine.stderr
    assert "email (personal: yes): email -> EmailAddress" in fine.stdout
    assert "transfer rules: none set" in fine.stdout


def test_a_bad_transfer_table_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "syncledger.toml").write_text('[transfer]\nallowed_regions = ["EU"]\n')
    said = cli(["audit", "data-map"], tmp_path)
    assert said.returncode == 2
    assert "transfer" in said.stderr and len(said.stderr.strip().splitlines()) == 1
