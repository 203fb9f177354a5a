"""The shared REST ledger pieces (adapters/kit/connect.py, retries.py, paging.py,
reads.py): the client a platform's spec opens, the write looked for by our reference
before it is sent again, page iteration over every kind of cursor, and a read by id of a
record the ledger does not have."""

from __future__ import annotations

import random
from collections.abc import Sequence

import httpx
import pytest

from syncledger.adapters.http import RetryPolicy, translate_status
from syncledger.adapters.kit.connect import HttpSpec
from syncledger.adapters.kit.paging import Page, next_number, next_offset, walk
from syncledger.adapters.kit.reads import unless_absent
from syncledger.adapters.kit.retries import Landed, Retries, write_or_find
from syncledger.adapters.ratelimit import Rate
from syncledger.core.errors import PermanentLedgerError, TransientLedgerError

ROWS = list(range(7))


async def _no_sleep(_: float) -> None:
    return None


def _retries(attempts: int = 3) -> Retries:
    return Retries.of(RetryPolicy(attempts=attempts), _no_sleep, random.Random(1))


class Book:
    """A ledger whose first ``lost`` writes land but answer with ``error``."""

    def __init__(self, lost: int = 0, error: TransientLedgerError | None = None) -> None:
        self.records: list[str] = []
        self.sent_after: list[TransientLedgerError | None] = []
        self.lookups = 0
        self._lost = lost
        self._error = error or TransientLedgerError("timeout")

    async def write(self, previous: TransientLedgerError | None) -> str:
        self.sent_after.append(previous)
        self.records.append("ours")
        if len(self.records) <= self._lost:
            raise self._error
        return "written"

    async def find(self) -> str | None:
        self.lookups += 1
        return "found" if self.records else None


# ------------------------------------------------------------------ write_or_find


async def test_a_write_that_answers_is_sent_once_and_never_looked_for() -> None:
    book = Book()
    landed = await write_or_find(_retries(), book.write, book.find, label="t")
    assert landed == Landed("written", found=False)
    assert (book.records, book.lookups) == (["ours"], 0)


async def test_a_write_whose_answer_was_lost_is_found_not_sent_again() -> None:
    book = Book(lost=1)
    landed = await write_or_find(_retries(), book.write, book.find, label="t")
    assert landed == Landed("found", found=True)
    assert book.records == ["ours"]


async def test_a_failure_that_leaves_no_doubt_is_resent_without_a_lookup() -> None:
    refused_before_landing = TransientLedgerError("throttled")
    book = Book(lost=1, error=refused_before_landing)
    landed = await write_or_find(
        _retries(), book.write, book.find, label="t", unsure=lambda exc: False
    )
    assert landed == Landed("written", found=False)
    assert book.lookups == 0
    assert book.sent_after == [None, refused_before_landing]


async def test_look_first_finds_an_earlier_write_before_sending() -> None:
    book = Book()
    book.records.append("ours")  # an earlier process's write
    landed = await write_or_find(_retries(), book.write, book.find, label="t", look_first=True)
    assert landed == Landed("found", found=True)
    assert book.records == ["ours"]


async def test_once_hands_the_unknown_outcome_back_to_the_caller() -> None:
    book = Book(lost=1)
    with pytest.raises(TransientLedgerError):
        await write_or_find(_retries(), book.write, book.find, label="t", once=True)
    assert (book.records, book.lookups) == (["ours"], 0)


async def test_a_refusal_is_never_retried() -> None:
    async def refuse(_: TransientLedgerError | None) -> str:
        raise PermanentLedgerError("no")

    book = Book()
    with pytest.raises(PermanentLedgerError):
        await write_or_find(_retries(), refuse, book.find, label="t")
    assert book.lookups == 0


async def test_retries_give_up_after_the_policy_s_attempts() -> None:
    tries: list[int] = []

    async def failing(attempt: int, _: TransientLedgerError | None) -> None:
        tries.append(attempt)
        raise TransientLedgerError("down")

    with pytest.raises(TransientLedgerError):
        await _retries(attempts=3).run(failing, label="t")
    assert tries == [1, 2, 3]


# ------------------------------------------------------------------------ paging


async def _collect(rows: Sequence[int], page_size: int, cursor: str) -> list[int]:
    pages: list[object] = []

    async def by_number(page: int) -> Page[int, int]:
        pages.append(page)
        chunk = rows[(page - 1) * page_size : page * page_size]
        return Page(chunk, next_number(page, chunk, page_size))

    async def by_offset(offset: int) -> Page[int, int]:
        pages.append(offset)
        chunk = rows[offset : offset + page_size]
        return Page(chunk, next_offset(offset, chunk, offset + page_size < len(rows)))

    if cursor == "number":
        return [row async for row in walk(by_number, 1)]
    return [row async for row in walk(by_offset, 0)]


@pytest.mark.parametrize("cursor", ["number", "offset"])
@pytest.mark.parametrize("page_size", [1, 3, 7, 10])
async def test_walk_yields_every_row_once_in_order(cursor: str, page_size: int) -> None:
    assert await _collect(ROWS, page_size, cursor) == ROWS


@pytest.mark.parametrize("cursor", ["number", "offset"])
async def test_walk_over_an_empty_list_yields_nothing(cursor: str) -> None:
    assert await _collect([], 3, cursor) == []


def test_a_page_that_says_it_is_the_last_ends_the_walk() -> None:
    assert next_number(2, [1, 2, 3], 3, last=True) is None
    assert next_number(2, [1, 2, 3], 3) == 3
    assert next_offset(10, [], more=True) is None


# ------------------------------------------------------------------------ connect


async def test_a_spec_opens_a_client_with_the_platform_s_headers_and_translation() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400 if request.url.path == "/bad" else 200, json={"ok": True})

    spec = HttpSpec("kit-test", translate_status, (Rate(100, 1.0),))
    http = spec.open(
        base_url="https://ledger.test",
        auth=None,
        headers={"X-Tenant": "t1"},
        transport=httpx.MockTransport(answer),
    )
    try:
        assert await http.json("GET", "/ok", idempotent=True) == {"ok": True}
        with pytest.raises(PermanentLedgerError, match="HTTP 400"):
            await http.json("GET", "/bad", idempotent=True)
    finally:
        await http.aclose()
    assert http.platform == "kit-test"
    assert [r.headers["X-Tenant"] for r in seen] == ["t1", "t1"]


def test_an_option_no_client_takes_is_refused_not_ignored() -> None:
    spec = HttpSpec("kit-test", translate_status, (Rate(100, 1.0),))
    with pytest.raises(TypeError, match="limitr"):
        spec.open(base_url="https://ledger.test", auth=None, limitr=None)  # type: ignore[call-arg]


# ------------------------------------------------------------------------- reads


async def _refused(code: str) -> dict[str, str]:
    raise PermanentLedgerError("refused", code=code)


async def _record() -> dict[str, str]:
    return {"id": "1"}


async def test_a_record_the_ledger_does_not_have_reads_as_none() -> None:
    assert await unless_absent(_refused("404"), "NOT_FOUND", "404") is None
    assert await unless_absent(_record(), "404") == {"id": "1"}


async def test_any_other_refusal_still_reaches_the_caller() -> None:
    with pytest.raises(PermanentLedgerError, match="refused"):
        await unless_absent(_refused("400"), "404")
