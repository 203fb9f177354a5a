"""Currencies from HubSpot: a deal in a foreign currency carries HubSpot's own rate in
force on its close date, read through the sandbox's currency settings (all pages), none
when HubSpot holds none for that day or its company currency is not the books' home
currency; a customer's currency is its ``customer_currency`` property, else the default."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from syncledger.adapters.hubspot.platform import SOURCE
from syncledger.adapters.hubspot.rates import ExchangeRates
from syncledger.adapters.hubspot.sandbox.currencies import PAGE
from syncledger.adapters.hubspot.sandbox.server import HubSpotSandbox
from syncledger.core.source_ports import SourceItem
from syncledger.core.validation import DEFAULT_RULES, Rejected, Validated, validate
from tests.contracts.source_contract import read_all
from tests.unit.test_hubspot_source_contract import connection


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def row(currency: str, rate: object, when: str, to: str = "USD") -> dict[str, object]:
    return {
        "fromCurrencyCode": currency,
        "toCurrencyCode": to,
        "conversionRate": rate,
        "effectiveAt": when,
    }


def test_the_rate_in_force_at_the_end_of_the_day() -> None:
    rates = ExchangeRates.of(
        "USD",
        [
            row("EUR", Decimal("1.10"), "2024-03-01T00:00:00Z"),
            row("EUR", Decimal("1.12"), "2024-03-05T16:30:00.000Z"),
            row("EUR", Decimal("1.20"), "2024-03-06T00:00:00Z"),
            row("GBP", 1, "2024-01-01T00:00:00Z"),  # an integer rate is a rate
        ],
    )
    assert rates.on("EUR", date(2024, 2, 29)) is None  # nothing in force yet
    assert rates.on("EUR", date(2024, 3, 4)) == Decimal("1.10")
    assert rates.on("eur", date(2024, 3, 5)) == Decimal("1.12")  # later that same day
    assert rates.on("EUR", date(2024, 3, 6)) == Decimal("1.20")
    assert rates.on("GBP", date(2024, 6, 1)) == Decimal(1)
    assert rates.on("USD", date(2024, 6, 1)) is None  # the company currency needs none
    assert rates.on("JPY", date(2024, 6, 1)) is None


def test_rows_that_are_not_usable_rates_are_left_out_never_read_as_zero_or_one() -> None:
    rates = ExchangeRates.of(
        "USD",
        [
            row("EUR", Decimal(0), "2024-01-01T00:00:00Z"),
            row("EUR", "n/a", "2024-01-02T00:00:00Z"),
            row("EUR", Decimal("1.1"), "not a date"),
            row("EUR", Decimal("0.9"), "2024-01-03T00:00:00Z", to="GBP"),
        ],
    )
    assert rates.by_currency == {}


async def deal(sandbox: HubSpotSandbox, currency: str, closed: str) -> str:
    store = sandbox.store
    company = store.create("companies", {"name": f"Buyer {currency} {closed}"})
    made = store.create(
        "deals",
        {
            "dealname": "order",
            "dealstage": "closedwon",
            "closedate": f"{closed}T10:00:00.000Z",
            "deal_currency_code": currency,
        },
    )
    item = store.create("line_items", {"name": "Widget", "quantity": "2", "price": "10.50"})
    store.associate("deals", made, "line_items", item)
    store.associate("deals", made, "companies", company)
    return made


async def invoices(sandbox: HubSpotSandbox, tmp_path: Path) -> dict[str, SourceItem]:
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        found, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    return {i.id: i for i in found if i.kind == "invoice"}


async def test_a_foreign_deal_carries_hubspots_rate_of_its_close_date(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    for n in range(PAGE + 5):  # more rates than one page: the reader follows paging
        sandbox.currencies.add_rate("GBP", Decimal("1.2") + Decimal(n) / 1000, at("2023-01-01"))
    sandbox.currencies.add_rate("EUR", Decimal("1.08759"), at("2024-03-01"))
    sandbox.currencies.add_rate("EUR", Decimal("1.10488"), at("2024-03-31"))
    euro = await deal(sandbox, "EUR", "2024-03-08")
    early = await deal(sandbox, "EUR", "2024-02-01")  # before HubSpot held any EUR rate
    pound = await deal(sandbox, "GBP", "2024-05-01")
    home = await deal(sandbox, "USD", "2024-05-01")

    found = await invoices(sandbox, tmp_path)

    assert found[euro].fields["exchange_rate"] == "1.08759"
    assert found[pound].fields["exchange_rate"] == str(Decimal("1.2") + Decimal(PAGE + 4) / 1000)
    assert "exchange_rate" not in found[home].fields
    assert "exchange_rate" not in found[early].fields
    assert isinstance(validate(found[euro], DEFAULT_RULES, home_currency="USD"), Validated)
    refused = validate(found[early], DEFAULT_RULES, home_currency="USD")
    assert isinstance(refused, Rejected)
    assert {r.code for r in refused.reasons} == {"missing_exchange_rate"}
    paths = [p for _, p in sandbox.requests]
    assert paths.count("/settings/currencies/2026-03/exchange-rates") == 2


async def test_no_rate_is_read_when_every_deal_is_in_the_home_currency(tmp_path: Path) -> None:
    sandbox = HubSpotSandbox()
    await deal(sandbox, "USD", "2024-05-01")
    await invoices(sandbox, tmp_path)
    assert not [p for _, p in sandbox.requests if p.startswith("/settings/")]


async def test_rates_into_another_currency_than_the_books_are_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox = HubSpotSandbox()
    sandbox.currencies.company_currency = "EUR"
    sandbox.currencies.add_rate("GBP", Decimal("1.17"), at("2024-01-01"))
    pound = await deal(sandbox, "GBP", "2024-05-01")
    with caplog.at_level(logging.WARNING):
        found = await invoices(sandbox, tmp_path)
    assert "exchange_rate" not in found[pound].fields
    assert "company currency is EUR, the books' home currency USD" in caplog.text


def test_the_sandbox_refuses_a_rate_hubspot_would_not_take() -> None:
    sandbox = HubSpotSandbox()
    with pytest.raises(ValueError, match="greater than 0"):
        sandbox.currencies.add_rate("EUR", Decimal(0), at("2024-01-01"))
    with pytest.raises(ValueError, match="at most 6 decimals"):
        sandbox.currencies.add_rate("EUR", Decimal("1.1234567"), at("2024-01-01"))


async def test_a_customers_currency_is_its_currency_property_else_the_default(
    tmp_path: Path,
) -> None:
    sandbox = HubSpotSandbox()
    store = sandbox.store
    euro = store.create("companies", {"name": "Euro GmbH", "customer_currency": "eur"})
    plain = store.create("companies", {"name": "Plain Inc"})
    person = store.create("contacts", {"firstname": "Ann", "customer_currency": "GBP"})
    reader = SOURCE.connect(connection(tmp_path, sandbox))
    try:
        found, _ = await read_all(reader, None)
    finally:
        await reader.aclose()
    currency = {i.id: i.fields["currency"] for i in found if i.kind == "customer"}
    assert currency == {euro: "EUR", plain: "USD", f"contact-{person}": "GBP"}


async def test_a_deal_property_can_ask_the_ledger_to_email_the_invoice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncledger.adapters.hubspot import mapping as hubspot_mapping

    loaded = hubspot_mapping.load_mapping()
    asking = replace(loaded, deal={**loaded.deal, "send": "email_invoice"})
    monkeypatch.setattr("syncledger.adapters.hubspot.platform.load_mapping", lambda **_: asking)
    sandbox = HubSpotSandbox()
    made = await deal(sandbox, "USD", "2024-05-01")
    sandbox.store.update("deals", made, {"email_invoice": "true"})
    quiet = await deal(sandbox, "USD", "2024-05-02")
    found = await invoices(sandbox, tmp_path)
    assert found[made].fields["send"] == "true"
    assert "send" not in found[quiet].fields
    outcome = validate(found[made], DEFAULT_RULES, home_currency="USD")
    assert isinstance(outcome, Validated) and getattr(outcome.record, "send", None) is True
