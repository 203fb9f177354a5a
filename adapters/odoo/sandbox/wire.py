"""XML-RPC as Odoo's server reads and writes it on ``/xmlrpc/2`` (the sandbox's own reading,
independent of syncledger's adapter).

Sources:

- The XML-RPC specification (UserLand, xmlrpc.com/spec.md): a ``<methodCall>`` holds a
  ``<methodName>`` and ``<params>``; a ``<methodResponse>`` holds one ``<param>`` or a
  ``<fault>`` whose struct has ``faultCode`` (int) and ``faultString`` (string). A
  ``<double>`` is written in "decimal point notation" (sign, digits, period, digits):
  "There is no representation for infinity or negative infinity or 'not a number'",
  no exponent, "Whitespace is not allowed".
- Odoo's server (``addons/rpc/controllers/xmlrpc.py`` in 19, ``odoo/addons/base/
  controllers/rpc.py`` before): a call is read with ``xmlrpc.client.loads(data,
  use_datetime=True)``; a result ``(result,)`` and a fault alike are written by
  ``OdooMarshaller(allow_none=False).dumps`` inside ``<?xml version="1.0"?>\\n
  <methodResponse>\\n…\\n</methodResponse>\\n``, so ``None`` cannot be answered
  (``TypeError: cannot marshal None unless allow_none is enabled``), and control characters
  other than tab, newline and carriage return are dropped from strings. Odoo's numbers
  are floats, written as the standard library writes them (``repr``).
- The standard library's ``xmlrpc.client`` (the implementation Odoo runs) does the XML.

Where the sandbox differs on purpose: it keeps money exact, reading a ``<double>`` as the
``Decimal`` of its digits (Odoo reads a float and rounds it to the field's digits), and it
refuses a ``<double>`` outside the specification's notation (exponents, ``inf``, ``nan``,
spaces), which Odoo's ``float()`` would take, so a client writing one is caught here.
"""

from __future__ import annotations

import re
import xmlrpc.client
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.parsers.expat import ExpatError

Write = Callable[[str], Any]

DOUBLE = re.compile(r"[+-]?(?=\.?[0-9])[0-9]*(\.[0-9]*)?")
CONTROL_CHARACTERS = dict.fromkeys(set(range(32)) - {9, 10, 13})


def _read_double(reader: xmlrpc.client.Unmarshaller, text: str) -> None:
    if DOUBLE.fullmatch(text) is None:
        raise ValueError(f"<double>{text}</double> is not in decimal point notation")
    reader.append(Decimal(text))
    reader._value = False


class _Reader(xmlrpc.client.Unmarshaller):
    dispatch = {**xmlrpc.client.Unmarshaller.dispatch, "double": _read_double}  # noqa: RUF012


def read_call(data: bytes) -> tuple[list[Any], str | None]:
    """The params and method name (``None`` if it names none) of a ``<methodCall>``; a body
    that is not one raises ``ValueError`` naming the error met."""
    reader = _Reader(use_datetime=True)
    parser = xmlrpc.client.ExpatParser(reader)
    try:
        parser.feed(data)
        parser.close()
        params = reader.close()
    except (ExpatError, xmlrpc.client.Error, ValueError, IndexError, TypeError) as exc:
        raise ValueError(type(exc).__name__) from exc
    return list(params), reader.getmethodname()


def _write_decimal(writer: xmlrpc.client.Marshaller, value: Decimal, write: Write) -> None:
    writer.dump_double(float(value), write)


def _write_text(writer: xmlrpc.client.Marshaller, value: str, write: Write) -> None:
    writer.dump_unicode(value.translate(CONTROL_CHARACTERS), write)


class _Writer(xmlrpc.client.Marshaller):
    dispatch: dict[Any, Any] = {  # noqa: RUF012 (the stdlib's class-level dispatch table)
        **xmlrpc.client.Marshaller.dispatch,
        Decimal: _write_decimal,
        str: _write_text,
    }


def result_body(result: Any) -> bytes:
    """``result`` as Odoo answers it; ``TypeError`` for what XML-RPC cannot carry (``None``)."""
    return _response(_Writer(allow_none=False).dumps((result,)))


def fault_body(code: int, message: str) -> bytes:
    return _response(_Writer(allow_none=False).dumps(xmlrpc.client.Fault(code, message)))


def _response(inner: str) -> bytes:
    return f'<?xml version="1.0"?>\n<methodResponse>\n{inner}\n</methodResponse>\n'.encode()
