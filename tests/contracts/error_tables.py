"""A platform's error translation as a table: each row an answer of the platform (status,
body, headers) and what it translates into in ``core/errors.py``'s tree (the error's
exact type, its code, the wait it names, words its message carries and words it must not).
A platform's ledger tests parametrize one test over its table::

    @pytest.mark.parametrize(("answer", "expected"), ERRORS)
    def test_answers_translate_into_the_error_tree(answer, expected):
        assert translated(translate_qbo(answer), expected) == expected
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from syncledger.adapters.jsonwire import encode_json
from syncledger.core.errors import LedgerError


@dataclass(frozen=True)
class Translated:
    kind: type[LedgerError]
    code: str | None
    retry_after: float | None = None
    #: words the message carries
    says: tuple[str, ...] = ()
    #: words the message must not carry (a traceback, a value sent)
    hides: tuple[str, ...] = ()


def answer(status: int, body: object, **headers: str) -> httpx.Response:
    """The platform's answer: ``body`` as it is when bytes, else as JSON."""
    raw = body if isinstance(body, bytes) else encode_json(body)
    request = httpx.Request("POST", "https://ledger.example/api")
    return httpx.Response(status, content=raw, headers=headers, request=request)


def translated(error: LedgerError, expected: Translated) -> Translated:
    """``error`` as the row ``expected`` describes it (the words it looks for)."""
    text = str(error)
    return Translated(
        type(error),
        error.code,
        getattr(error, "retry_after", None),
        tuple(w for w in expected.says if w in text),
        tuple(w for w in expected.hides if w not in text),
    )
