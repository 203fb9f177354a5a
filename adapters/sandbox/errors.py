"""The refusal every sandbox raises and answers: an exception carrying the HTTP
``status``, the wait a 429 asks for (sent as ``Retry-After``, whole or fractional
seconds as given) and any other headers; each platform's subclass holds its own error
fields and says how its JSON body looks (``payload``). ``answer`` is the response a
``Gate`` sends for it."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from syncledger.adapters.jsonwire import encode_json
from syncledger.adapters.sandbox.common import retry_after as retry_after_header


class SandboxError(Exception, abc.ABC):
    """A sandbox's refusal of one request; ``str()`` of it is ``text`` (never a secret).
    ``MEDIA_TYPE`` is the content type its body is sent as."""

    MEDIA_TYPE = "application/json"

    def __init__(
        self,
        status: int,
        text: str = "",
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(text or f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    @abc.abstractmethod
    def payload(self) -> Any:
        """The JSON body the platform answers this refusal with."""

    def answer(self) -> Response:
        """The response: ``payload`` as JSON, ``Retry-After`` when a wait is asked for,
        and the refusal's own headers."""
        headers = retry_after_header(self.retry_after) | self.headers
        return Response(encode_json(self.payload()), self.status, headers, self.MEDIA_TYPE)
