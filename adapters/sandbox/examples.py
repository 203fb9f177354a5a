"""A request each rule of a platform's refusal table refuses, so the table tests itself.

Beside its ``REFUSALS`` (``adapters/sandbox/refusals.py``) a platform keeps ``EXAMPLES``, an
:class:`Examples`: for each rule, the request that triggers it (:class:`Example`, on a
fresh sandbox after a set-up the platform's sandbox tests name), or an :class:`Exempt`
saying why none is given. The contract section
``tests/contracts/refusal_examples_section.py`` fires every example at the platform's
sandbox and checks the answer is the row's (status, code, message), and fails on a rule
with neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from syncledger.adapters.sandbox.refusals import RefusalTable


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


def form_post(path: str, form: str, given: str = "") -> Example:
    """A form-encoded POST of ``form`` (a token endpoint's grant; its ``{placeholders}``
    filled by the set-up ``given``)."""
    content = (("Content-Type", "application/x-www-form-urlencoded"),)
    return Example("POST", path, form, given=given, headers=content)


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
