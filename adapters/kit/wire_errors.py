"""What the ledgers' ``errors.py`` modules share: a refusal as a platform's error body
says it (its code, its message and the field or path it names) written as one line, and
the refusal of an answer read with the platform's parser, else made of the HTTP status.

A platform module keeps its error shapes (where its body puts code, message, field) and
how each refusal becomes a typed error of core/errors.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from syncledger.adapters.jsonwire import decode_json


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refusal: the platform's code, its message and where it points (a field)."""

    code: str
    message: str
    where: str = ""

    def text(self) -> str:
        """``code message (where)``, the parts it lacks left out."""
        where = f" ({self.where})" if self.where else ""
        return f"{self.code} {self.message}{where}".strip()


def refusal_in(
    response: httpx.Response, parse: Callable[[Any], Refusal | None], code: str | None = None
) -> Refusal:
    """The refusal ``parse`` finds in the answer's JSON body; else (no JSON, no refusal in
    it) one of ``code`` (the HTTP status when not given) and the status's reason phrase."""
    try:
        refusal = parse(decode_json(response.content))
    except ValueError:
        refusal = None
    fallback = str(response.status_code) if code is None else code
    return refusal or Refusal(fallback, response.reason_phrase)
