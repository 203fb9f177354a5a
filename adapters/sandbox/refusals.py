"""What a sandbox refuses, as one declarative table per platform.

Each platform's ``adapters/<platform>/sandbox/refusals.py`` holds a :class:`RefusalTable`
named ``REFUSALS``: every rule the sandbox enforces, with the HTTP status, the platform's
own error code and message, and where that behaviour is documented. The sandbox's checks
raise by rule name (``REFUSALS["contact.name_empty"]``) and the platform's error module
shapes the body, so "what does this sandbox refuse" is answered by one file, and a test
(``tests/unit/test_sandbox_refusals.py``) checks every row is complete and used.

Rules a platform answers alike (the same status and error code) are rows of one
:func:`answered` builder, so a row says only its rule, message and source.

Beside its table a platform keeps its ``EXAMPLES`` (``adapters/sandbox/examples.py``): the
request each rule refuses, fired at the sandbox by a contract section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass


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
