"""A sandbox refuses each example of its refusal table as the row says (issue 17).

:class:`RefusalExamplesSection` is subclassed in a platform's sandbox tests
(``tests/unit/test_<platform>_sandbox.py``) with the platform's ``EXAMPLES``
(``adapters/<platform>/sandbox/refusals.py``, see ``adapters/sandbox/examples.py``). For
every rule of the table it fires each example at a fresh sandbox (through the same bare
client the platform's sandbox tests use) and checks:

- the answer's HTTP status and the platform's error code are the row's;
- one text of the answer is the row's message, whatever fills its ``{placeholders}`` (the
  message filled in with the example's ``fills``, where it gives them);
- what else the platform checks of an answer to the row
  (:meth:`~RefusalExamplesSection.check_answer`: its error's other fields, the field the
  example's ``expect`` says it names);
- the book holds the same records of each kind as before the refused request.

A rule with no example and no :class:`Exempt` fails; an exempt rule is skipped with its
reason, so ``pytest -rs`` lists every exemption.

A platform provides :meth:`~RefusalExamplesSection.client` (a fresh signed-in client whose
``http`` is its httpx client and ``sandbox`` its sandbox), where its API lives
(:meth:`~RefusalExamplesSection.url`, where the examples' paths are not the app's) and
how a request is signed (:meth:`~RefusalExamplesSection.signed`), or all of
:meth:`~RefusalExamplesSection.send`;
:meth:`~RefusalExamplesSection.error_code` (the code its error body names); and one
``given_<name>`` coroutine per set-up its examples name (``given="voided_invoice"`` calls
``given_voided_invoice(client)``), returning the values that fill the example's
placeholders. ``given_throttled`` and ``given_failing`` (the next request throttled, the
next write failing, through the sandbox's faults) are the section's own.
"""

from __future__ import annotations

import abc
import re
import string
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.sandbox.examples import Example, Examples, Exempt
from syncledger.adapters.sandbox.refusals import Refusal


@dataclass(frozen=True)
class Request:
    """An example with the set-up's values filled in."""

    method: str
    path: str
    body: object
    params: dict[str, str]
    headers: dict[str, str]

    def content(self) -> bytes | None:
        """The body as sent: a ``str`` as it is, anything else but None as JSON."""
        if self.body is None:
            return None
        return self.body.encode() if isinstance(self.body, str) else encode_json(self.body)


def filled(example: Example, given: Mapping[str, object]) -> Request:
    """``example`` with its placeholders filled from ``given`` (a ``str`` body, sent as it
    is, is filled only where a set-up gives values: ``"{not json"`` stays as it is)."""
    texts = {key: str(value) for key, value in given.items()}
    raw = isinstance(example.body, str) and given
    return Request(
        example.method,
        example.path.format_map(texts),
        str(example.body).format_map(texts) if raw else fill(example.body, given),
        {key: value.format_map(texts) for key, value in example.params},
        {key: value.format_map(texts) for key, value in example.headers},
    )


@dataclass(frozen=True)
class Case:
    """One test of the section: a rule and one of its examples (None: it has none)."""

    row: Refusal
    example: Example | None


def _cases(examples: Examples) -> list[Any]:
    cases: list[Any] = []
    for row in examples.table:
        shown = examples.of(row.rule)
        if isinstance(shown, Exempt):
            skip = pytest.mark.skip(reason=f"{row.rule} exempt: {shown.reason}")
            cases.append(pytest.param(Case(row, None), id=row.rule, marks=skip))
        elif shown is None:
            cases.append(pytest.param(Case(row, None), id=row.rule))
        else:
            many = len(shown) > 1
            for n, example in enumerate(shown):
                ident = f"{row.rule}#{n + 1}" if many else row.rule
                cases.append(pytest.param(Case(row, example), id=ident))
    return cases


def fill(value: object, given: Mapping[str, object]) -> object:
    """``value`` with its strings that are exactly ``"{name}"`` replaced by ``given[name]``."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return given.get(value[1:-1], value)
    if isinstance(value, dict):
        return {key: fill(item, given) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, given) for item in value]
    return value


def pattern_of(message: str) -> re.Pattern[str]:
    """A row's message as a pattern, each ``{placeholder}`` matching any text."""
    parts = string.Formatter().parse(message)
    return re.compile(
        "".join(
            re.escape(literal) + ("" if name is None else ".*?") for literal, name, *_ in parts
        ),
        re.DOTALL,
    )


def strings_of(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_of(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_of(item)]
    return []


class RefusalExamplesSection(abc.ABC):
    #: the platform's examples (``adapters/<platform>/sandbox/refusals.py`` ``EXAMPLES``)
    examples: ClassVar[Examples]
    #: the kinds of record a refusal must leave as they were
    kinds: ClassVar[tuple[str, ...]] = (
        "customer",
        "invoice",
        "payment",
        "credit_note",
        "refund",
        "item",
    )

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "case" in metafunc.fixturenames:
            metafunc.parametrize("case", _cases(self.examples))

    @abc.abstractmethod
    def client(self) -> AbstractAsyncContextManager[Any]:
        """A signed-in client of a fresh sandbox (closed afterwards)."""

    def url(self, path: str) -> str:
        """Where an example's ``path`` is served (by default: as it is, on the app)."""
        return path

    def signed(self, client: Any) -> dict[str, str]:
        """The headers that sign a request of ``client`` in."""
        return {"Authorization": f"Bearer {client.access}"}

    async def send(self, client: Any, request: Request) -> httpx.Response:
        """``request`` (an example, its placeholders filled) sent on ``client``."""
        sent: httpx.Response = await client.http.request(
            request.method,
            self.url(request.path),
            params=request.params,
            content=request.content(),
            headers=self.signed(client) | request.headers,
        )
        return sent

    async def given_throttled(self, client: Any) -> dict[str, str]:
        client.sandbox.throttle_next(1)
        return {}

    async def given_failing(self, client: Any) -> dict[str, str]:
        client.sandbox.fail_next_writes(1)
        return {}

    @abc.abstractmethod
    def error_code(self, answer: httpx.Response) -> str:
        """The code (or type) the platform's error body names."""

    def book(self, client: Any) -> dict[str, Any]:
        """The records of each of :attr:`kinds` the client's sandbox holds."""
        return {kind: client.sandbox.records(kind) for kind in self.kinds}

    def check_answer(self, answer: httpx.Response, row: Refusal, example: Example) -> None:
        """What else the platform's answer to ``row`` must hold: its error's other fields,
        what ``example.expect`` says it names."""
        assert not example.expect, f"{type(self).__name__} reads no Example.expect"

    def texts(self, answer: httpx.Response) -> list[str]:
        """The texts of the answer (its JSON strings) one of which is the row's message."""
        try:
            return strings_of(decode_json(answer.content))
        except ValueError:
            return [answer.text]

    async def given(self, client: Any, name: str) -> Mapping[str, object]:
        if not name:
            return {}
        values: Mapping[str, object] = await getattr(self, f"given_{name}")(client)
        return values

    async def test_each_example_is_refused_as_its_row_says(self, case: Case) -> None:
        example = case.example
        assert example is not None, f"{case.row.rule} has no example and is not exempt"
        async with self.client() as client:
            request = filled(example, await self.given(client, example.given))
            before = self.book(client)
            answer = await self.send(client, request)
            row = case.row
            assert (answer.status_code, self.error_code(answer)) == (row.status, row.code), (
                answer.text
            )
            texts, pattern = self.texts(answer), pattern_of(row.message)
            assert any(pattern.fullmatch(text) for text in texts), (row.message, texts)
            if example.fills:
                assert row.text(**dict(example.fills)) in texts, texts
            self.check_answer(answer, row, example)
            assert self.book(client) == before
