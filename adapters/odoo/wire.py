"""XML-RPC payloads for Odoo's ``/xmlrpc/2`` endpoints with money intact.

Built on the standard library's ``xmlrpc.client`` (marshalling only; the bytes travel over
httpx): a ``Decimal`` goes out as ``<double>`` written digit for digit and every
``<double>`` comes back as ``Decimal``; ``None`` is refused, as Odoo's own marshaller
(``allow_none=False``) refuses it; a float on the way out is refused like in ``jsonwire``.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.parsers.expat import ExpatError

Write = Callable[[str], Any]


def _dump_decimal(marshaller: xmlrpc.client.Marshaller, value: Decimal, write: Write) -> None:
    if not value.is_finite():
        raise ValueError(f"amount {value} is not finite")
    write("<value><double>")
    write(format(value, "f"))
    write("</double></value>\n")


def _refuse_float(marshaller: xmlrpc.client.Marshaller, value: float, write: Write) -> None:
    raise TypeError(f"float {value!r} on the wire: pass a Decimal")


class _Marshaller(xmlrpc.client.Marshaller):
    dispatch: dict[Any, Any] = {  # noqa: RUF012 (the stdlib's class-level dispatch table)
        **xmlrpc.client.Marshaller.dispatch,
        Decimal: _dump_decimal,
        float: _refuse_float,
    }


def _end_decimal(unmarshaller: xmlrpc.client.Unmarshaller, data: str) -> None:
    unmarshaller.append(Decimal(data))
    unmarshaller._value = False


class _Unmarshaller(xmlrpc.client.Unmarshaller):
    dispatch = {**xmlrpc.client.Unmarshaller.dispatch, "double": _end_decimal}  # noqa: RUF012


def _params(values: tuple[Any, ...] | xmlrpc.client.Fault) -> str:
    return _Marshaller("utf-8", allow_none=False).dumps(values)


def encode_call(method: str, params: tuple[Any, ...]) -> bytes:
    name = xmlrpc.client.escape(method)
    body = f"<?xml version='1.0'?>\n<methodCall>\n<methodName>{name}</methodName>\n"
    return (body + _params(params) + "</methodCall>\n").encode()


def encode_result(result: Any) -> bytes:
    return _response(_params((result,)))


def encode_fault(code: int, message: str) -> bytes:
    return _response(_params(xmlrpc.client.Fault(code, message)))


def _response(inner: str) -> bytes:
    return ("<?xml version='1.0'?>\n<methodResponse>\n" + inner + "</methodResponse>\n").encode()


def decode(data: bytes) -> tuple[tuple[Any, ...], str | None]:
    """Params and method name of a call or response; a fault raises ``xmlrpc.client.Fault``,
    a body that is not XML-RPC raises ``ValueError``."""
    unmarshaller = _Unmarshaller()
    parser = xmlrpc.client.ExpatParser(unmarshaller)
    try:
        parser.feed(data)
        parser.close()
        return unmarshaller.close(), unmarshaller.getmethodname()
    except (ExpatError, xmlrpc.client.ResponseError, IndexError, TypeError) as exc:
        raise ValueError(f"not an XML-RPC payload: {type(exc).__name__}") from exc
