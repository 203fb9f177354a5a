"""The two ways of calling an Odoo model method, behind one ``OdooRpc`` shape.

- ``Json2Rpc`` (primary, Odoo 19+): ``POST /json/2/<model>/<method>`` with a JSON object
  of named arguments plus ``ids`` and ``context``, ``Authorization: bearer <API key>`` and
  ``X-Odoo-Database`` when a database is named.
- ``XmlRpc`` (fallback, older Odoo; deprecated in 19, removed in 22):
  ``/xmlrpc/2/common`` ``authenticate(db, login, key, {})`` once for the user id, then
  ``/xmlrpc/2/object`` ``execute_kw(db, uid, key, model, method, args, kwargs)``, payloads
  built by ``odoo_wire`` and sent over the same ``LedgerHttp`` layer. A method whose
  result is ``None`` answers with a fault Odoo sends after the commit; it reads as ``None``
  (``odoo_errors.answered_none``). Before its first call it asks ``common.version()``
  and refuses a release syncledger does not support (``odoo_versions``).

Both go through ``LedgerHttp``: the limiter, timeouts, retries of what is safe to resend
(``idempotent=True`` reads; a 429 or a request never sent, always) and redacted logs.
The API key is a secret: it lives in headers or request bodies, never in logs or errors.
"""

from __future__ import annotations

import xmlrpc.client
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.oauth2 import TokenSet, TokenStore
from syncledger.adapters.odoo.errors import FAULT_ACCESS_DENIED, answered_none, fault_error
from syncledger.adapters.odoo.versions import JSON2, OdooDialect, dialect_of
from syncledger.adapters.odoo.wire import decode, encode_call
from syncledger.core.errors import AuthExpiredError, TransientLedgerError


@dataclass(frozen=True)
class OdooCall:
    """``model.method(ids, **params)`` under ``context``; ``idempotent``: safe to resend."""

    model: str
    method: str
    ids: tuple[int, ...]
    context: Mapping[str, Any]
    params: Mapping[str, Any]
    idempotent: bool


class OdooRpc(ABC):
    """One way of calling Odoo over ``LedgerHttp``: each says how a call goes on the wire
    (``_call``) and which release answers (``dialect``)."""

    transport: str  # "json2" or "xmlrpc"

    def __init__(self, http: LedgerHttp) -> None:
        self._http = http

    async def call(
        self,
        model: str,
        method: str,
        *,
        ids: Sequence[int] = (),
        context: Mapping[str, Any] | None = None,
        idempotent: bool,
        **params: Any,
    ) -> Any:
        """``model.method(ids, **params)`` under ``context``; returns what Odoo returned."""
        call = OdooCall(model, method, tuple(ids), context or {}, params, idempotent)
        return await self._call(call)

    @abstractmethod
    async def _call(self, call: OdooCall) -> Any: ...

    @abstractmethod
    async def dialect(self) -> OdooDialect:
        """The fields of the release the server runs (``odoo_versions``)."""

    async def aclose(self) -> None:
        await self._http.aclose()


class ApiKeyAuth:
    """An Odoo API key sent as ``Authorization: bearer``. Keys do not refresh; they are
    rotated (``OdooLedger.rotate_api_key``). With a ``store``, the newest rotated key is
    read from it, so a key rotated by another process is picked up after a 401."""

    def __init__(self, key: SecretStr, store: TokenStore | None = None) -> None:
        self._initial = key
        self._store = store

    def current(self) -> str:
        stored = self._store.load() if self._store is not None else None
        if stored is not None and stored.access_token:
            return stored.access_token
        return self._initial.get_secret_value()

    def save(self, key: str, expires_at: datetime) -> None:
        """Persist a new key (before the old one is revoked)."""
        if self._store is None:
            self._initial = SecretStr(key)
            return
        self._store.save(TokenSet(key, "", expires_at.timestamp()))

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": f"bearer {self.current()}"}

    async def unauthorized(self, client: httpx.AsyncClient, sent: dict[str, str]) -> bool:
        return sent.get("Authorization") != f"bearer {self.current()}"


class Json2Rpc(OdooRpc):
    transport = "json2"

    async def _call(self, call: OdooCall) -> Any:
        body: dict[str, Any] = dict(call.params)
        if call.ids:
            body["ids"] = list(call.ids)
        if call.context:
            body["context"] = dict(call.context)
        url = f"/json/2/{call.model}/{call.method}"
        return await self._http.json("POST", url, body=body, idempotent=call.idempotent)

    async def dialect(self) -> OdooDialect:
        """JSON-2 is new in 19.0: a server that answers it is 19 or newer."""
        return JSON2


class XmlRpc(OdooRpc):
    transport = "xmlrpc"

    def __init__(self, http: LedgerHttp, *, database: str, login: str, auth: ApiKeyAuth) -> None:
        super().__init__(http)
        self._database = database
        self._login = login
        self._auth = auth
        self._uid: int | None = None
        self._dialect: OdooDialect | None = None

    async def dialect(self) -> OdooDialect:
        """``common.version()``, asked once (it needs no login)."""
        if self._dialect is None:
            answer = await self._send("common", "version", (), self._auth.current(), True)
            self._dialect = dialect_of(answer)
        return self._dialect

    async def _call(self, call: OdooCall) -> Any:
        await self.dialect()
        args, kwargs = _positional(call.method, call.ids, call.params)
        if call.context:
            kwargs["context"] = dict(call.context)
        for again in (False, True):
            key = self._auth.current()
            uid = await self._user_id(key)
            payload = (self._database, uid, key, call.model, call.method, args, kwargs)
            try:
                return await self._send("object", "execute_kw", payload, key, call.idempotent)
            except AuthExpiredError:
                if again or key == self._auth.current():
                    raise
                self._uid = None  # another process rotated the key: use the new one once

    async def _user_id(self, key: str) -> int:
        if self._uid is None:
            params: tuple[Any, ...] = (self._database, self._login, key, {})
            uid = await self._send("common", "authenticate", params, key, True)
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise AuthExpiredError(
                    f"Odoo refused the login {self._login!r} with this API key on database "
                    f"{self._database!r}: create a new key and set SYNCLEDGER_ODOO_API_KEY",
                    code=FAULT_ACCESS_DENIED,
                )
            self._uid = uid
        return self._uid

    async def _send(
        self, service: str, method: str, params: tuple[Any, ...], key: str, idempotent: bool
    ) -> Any:
        url = f"/xmlrpc/2/{service}"
        response = await self._http.request(
            "POST",
            url,
            content=encode_call(method, params),
            content_type="text/xml",
            idempotent=idempotent,
        )
        try:
            (result,) = decode(response.content)[0]
        except xmlrpc.client.Fault as fault:
            text = str(fault.faultString).replace(key, "***") if key else str(fault.faultString)
            if answered_none(fault.faultCode, text):
                return None  # it ran and committed; only its answer could not be marshalled
            raise fault_error(fault.faultCode, text, f"Odoo {url} {params[3:5]}") from None
        except ValueError as exc:
            raise TransientLedgerError(f"Odoo {url} answered with no XML-RPC result") from exc
        return result


def _positional(
    method: str, ids: Sequence[int], params: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """``execute_kw`` arguments: ``create`` takes its ``vals_list`` positionally (Odoo's
    ``call_kw`` reads ``args[0]``), record methods take their ids first."""
    kwargs = dict(params)
    if method == "create":
        return [kwargs.pop("vals_list")], kwargs
    return ([list(ids)] if ids else []), kwargs


def now_utc() -> datetime:
    return datetime.now(UTC)
