"""Google Contacts' refusals, translated into syncledger's tree at the boundary.

Facts:

* an expired sync token is an error carrying a ``google.rpc.ErrorInfo`` whose
  ``reason`` is ``EXPIRED_SYNC_TOKEN``; the client is to list again without the token
  [P] https://developers.google.cn/people/api/rest/v1/people.connections/list and
  https://googleapis.github.io/google-api-python-client/docs/dyn/people_v1.people.connections.html
* the HTTP status of that error is not documented: users observe **400** with the
  message "Sync token is expired. Clear local cache and retry call without the sync
  token." [S] garrytan/gbrain issue 5127, freed-project/freed issue 1976; other clients
  expect **410** [S] same threads. Safe path: the reason decides, whatever the status
  (400 or 410); a 400/410 without that reason is a refusal, never a silent resync.
* the first page of a full sync has a fixed extra quota, answered with **429** when
  exceeded [P] connections.list above: retried like any 429.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from syncledger.adapters.http import translate_status
from syncledger.adapters.jsonwire import decode_json
from syncledger.core.errors import LedgerError, PermanentLedgerError, SourceError

EXPIRED_SYNC_TOKEN: Final = "EXPIRED_SYNC_TOKEN"  # noqa: S105 - an ErrorInfo reason, not a secret


class GoogleContactsError(SourceError):
    """Google Contacts could not be read (the message says what to check)."""


def _reasons(body: Any) -> set[str]:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return set()
    return {str(d.get("reason")) for d in details if isinstance(d, dict) and d.get("reason")}


def reasons_of(response: httpx.Response) -> set[str]:
    """The ``ErrorInfo`` reasons of an error answer (empty when it has none)."""
    try:
        return _reasons(decode_json(response.content))
    except ValueError:
        return set()


def translate(response: httpx.Response) -> LedgerError:
    """For ``LedgerHttp``: an expired sync token is a permanent refusal with the code
    ``EXPIRED_SYNC_TOKEN`` (the reader resyncs); everything else by its status."""
    if response.status_code in (400, 410) and EXPIRED_SYNC_TOKEN in reasons_of(response):
        where = f"{response.request.method} {response.request.url.path}"
        return PermanentLedgerError(f"{where}: the sync token expired", code=EXPIRED_SYNC_TOKEN)
    return translate_status(response)


def source_error(exc: LedgerError) -> GoogleContactsError:
    """A transport or platform failure as this source's error (never a secret inside:
    ``LedgerHttp`` messages carry method, path and status only)."""
    return GoogleContactsError(f"Google Contacts could not be read: {exc}")
