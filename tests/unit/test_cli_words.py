"""Summaries in words users know (issue 16): plurals, money per currency with its code
(babel), sync outcomes without internal status names, and progress only on a terminal."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from syncledger.core.progress import silent, terminal_meter
from syncledger.core.words import (
    OUTCOME_KEYS,
    figure,
    money,
    money_or_unknown,
    needs_attention,
    outcome_counts,
    outcome_summary,
    plural,
)

INTERNAL = re.compile(r"\b(ignored|skipped|deferred|abandoned|retry|linked|recovered)\b")


def test_plurals() -> None:
    assert plural(1, "record") == "1 record"
    assert plural(2, "record") == "2 records"
    assert plural(0, "record") == "0 records"
    assert plural(1, "payment status", "payment statuses") == "1 payment status"
    assert plural(3, "payment status", "payment statuses") == "3 payment statuses"
    assert plural(12345, "event") == "12,345 events"


def test_money_has_its_currencys_decimals_and_code() -> None:
    assert money(Decimal("125.0"), "USD") == "125.00 USD"
    assert money("125", "usd") == "125.00 USD"
    assert money(Decimal("125"), "JPY") == "125 JPY"
    assert money(Decimal("1234.5"), "EUR") == "1,234.50 EUR"
    assert money(Decimal("1.5"), "KWD") == "1.500 KWD"
    assert money(Decimal("-3.1"), "GBP") == "-3.10 GBP"


def test_money_never_rounds_away_what_the_amount_holds() -> None:
    assert money(Decimal("0.005"), "USD") == "0.005 USD"
    assert money(Decimal("125.5"), "JPY") == "125.5 JPY"


def test_money_without_a_currency_or_a_number() -> None:
    assert money("125.0", None) == "125.00"
    assert money("some", "USD") == "some"


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    st.sampled_from(["USD", "EUR", "GBP", "CAD", "AUD"]),
)
def test_two_decimal_currencies_read_back_to_the_same_amount(amount: Decimal, code: str) -> None:
    shown = money(amount, code)
    number, shown_code = shown.rsplit(" ", 1)
    assert shown_code == code
    assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d{2}", number), shown
    assert Decimal(number.replace(",", "")) == amount


@given(st.integers(min_value=0, max_value=10**12))
def test_yen_has_no_decimals(amount: int) -> None:
    number, code = money(Decimal(amount), "JPY").rsplit(" ", 1)
    assert code == "JPY" and "." not in number
    assert int(number.replace(",", "")) == amount


def test_sync_outcomes_in_words_without_internal_names() -> None:
    counts = {"pushed": 1, "linked": 2, "recovered": 1, "skipped": 3, "ignored": 9}
    counts |= {"deferred": 4, "retry": 1, "abandoned": 1, "rejected": 2, "review": 1}
    text = outcome_summary(counts)
    assert text.startswith("1 record sent to the ledger, 2 records matched ones already")
    assert "3 records already up to date" in text and "2 records refused" in text
    assert "1 record given up after repeated failures" in text
    assert not INTERNAL.search(text.replace("given up", "")), text
    assert "9" not in text and "4" not in text  # events with nothing to send are not counted
    assert outcome_summary({"ignored": 5}) == "nothing to send"


def test_outcome_keys_are_stable_and_attention_is_refusals_and_given_up() -> None:
    assert outcome_counts({}) == dict.fromkeys(OUTCOME_KEYS.values(), 0)
    assert outcome_counts({"pushed": 2, "ignored": 1})["sent"] == 2
    assert needs_attention({"rejected": 1}) and needs_attention({"abandoned": 1})
    assert not needs_attention({"pushed": 5, "review": 1, "retry": 2})


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_only_on_a_terminal() -> None:
    assert terminal_meter(io.StringIO()) is silent
    screen = _Terminal()
    meter = terminal_meter(screen)
    assert meter is not silent
    with meter("importing", 3) as advance:
        advance(3)
    assert "importing" in screen.getvalue()


def test_figures_in_events_have_their_currencys_decimals_and_read_back() -> None:
    assert figure(Decimal("125.0"), "USD") == "125.00"
    assert figure(Decimal("125"), "JPY") == "125"
    assert figure(Decimal("1.5"), "KWD") == "1.500"
    assert figure(Decimal("125.004"), "USD") == "125.004"  # never rounded away
    assert figure(Decimal("0"), None) == "0.00"
    assert figure(Decimal("-3.1"), "eur") == "-3.10"


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False),
    st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
)
def test_a_figure_is_the_same_amount(amount: Decimal, code: str) -> None:
    assert Decimal(figure(amount, code)) == amount


def test_unknown_money_is_said_so() -> None:
    assert money_or_unknown(None, "USD") == "unknown"
    assert money_or_unknown(Decimal("7.5"), "USD") == "7.50 USD"
