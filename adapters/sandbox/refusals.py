"""What a sandbox refuses, as one declarative table per platform.

Each platform's ``adapters/<platform>/sandbox/refusals.py`` holds a :class:`RefusalTable`
named ``REFUSALS``: every rule the sandbox enforces, with the HTTP status, the platform's
own error code and message, and where that behaviour is documented. The sandbox's checks
raise by rule name (``REFUSALS["contact.name_empty"]``) and the platform's error module
shapes the body, so "what does this sandbox refuse" is answered by one file, and a test
(``tests/unit/test_sandbox_refusals.py``) checks every row is complete and used.

Rules a platform answers alike (the same status and error code) are rows of one
:func:`answered` builder, so a row says only its rule, message and source.

Beside its table a platform may keep :class:`Examples`: for each rule, the request that
triggers it (:class:`Example`), or an :class:`Exempt` saying why none is given. The
contract section ``tests/contracts/refusal_examples_section.py`` fires every example at
the platform's sandbox and checks the answer is the row's (status, code, message), and
fails on a rule with neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Refusal:
    """One thing the platform refuses.

    ``message`` may hold ``{placeholders}`` filled by :meth:`text`; ``code`` is the
    platform's error code or type (empty where the platform answers with none);
    ``source`` names the documentation, specification or maintainer's answer the rule,
    status, code and message come from (or says that the sandbox is stricter on purpose)."""

    rule: str
    status: int
    code: str
    message: str
    source: str

    def text(self, **values: object) -> str:
        return self.message.format(**values)


class RefusalTable:
    """The refusals of one platform, by rule name (names are unique)."""

    def __init__(self, platform: str, *refusals: Refusal) -> None:
        self.platform = platform
        self._rows: dict[str, Refusal] = {}
        for refusal in refusals:
            if refusal.rule in self._rows:
                raise ValueError(f"{platform}: refusal {refusal.rule!r} is listed twice")
            self._rows[refusal.rule] = refusal

    def __getitem__(self, rule: str) -> Refusal:
        try:
            return self._rows[rule]
        except KeyError:
            raise KeyError(f"{self.platform} sandbox has no refusal named {rule!r}") from None

    def __iter__(self) -> Iterator[Refusal]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)


#: builds the row of one rule: its name, message and source
RowOf = Callable[[str, str, str], Refusal]


def answered(status: int, code: str) -> RowOf:
    """The row builder for the rules the platform answers with ``status`` and ``code``."""

    def row(rule: str, message: str, source: str) -> Refusal:
        return Refusal(rule, status, code, message, source)

    return row


@dataclass(frozen=True, slots=True)
class Example:
    """A request the sandbox refuses by one rule, on a fresh sandbox.

    ``given`` names a set-up the platform's sandbox tests provide (what must exist first:
    a customer, a voided invoice, an expired token); it yields the values that fill the
    ``{name}`` placeholders of ``path``, ``params`` and ``headers``, and the body's strings
    that are exactly ``"{name}"``. A ``str`` body is sent as it is (to send what is not
    JSON); any other body as JSON. ``fills``, where given, are the values the answer's
    message is filled with: the whole message is then looked for, not only its fixed
    words. ``expect`` is more the answer must name, which the platform's sandbox tests
    read (the field a Sage or NetSuite error points at)."""

    method: str
    path: str
    body: object = None
    params: tuple[tuple[str, str], ...] = ()
    given: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    fills: tuple[tuple[str, str], ...] = ()
    expect: tuple[tuple[str, str], ...] = ()

    def saying(self, **fills: str) -> Example:
        """This example, its answer's message filled in with ``fills``."""
        return replace(self, fills=tuple(fills.items()))

    def naming(self, **expect: str) -> Example:
        """This example, its answer also naming ``expect`` (read by the platform's tests)."""
        return replace(self, expect=tuple(expect.items()))


@dataclass(frozen=True, slots=True)
class Exempt:
    """Why a rule has no :class:`Example` (the contract section lists it as skipped)."""

    reason: str


#: what :class:`Examples` holds for one rule
Shown = Example | tuple[Example, ...] | Exempt


class Examples:
    """The examples of one platform's refusal table: each rule of ``table`` shown by one or
    more :class:`Example`, or :class:`Exempt`; a rule the table does not have is refused."""

    def __init__(self, table: RefusalTable, shown: Mapping[str, Shown]) -> None:
        rules = {row.rule for row in table}
        unknown = sorted(set(shown) - rules)
        if unknown:
            raise ValueError(f"{table.platform}: examples of rules not in the table: {unknown}")
        self.table = table
        self._shown = dict(shown)

    def of(self, rule: str) -> tuple[Example, ...] | Exempt | None:
        """The examples of ``rule``, its exemption, or None where it has neither."""
        shown = self._shown.get(rule)
        return (shown,) if isinstance(shown, Example) else shown
