"""XML-RPC on both sides of the Odoo wire, each pinned to published examples rather than
to the other: the sandbox's reader/writer (``sandbox/wire.py``) and the adapter's
(``odoo/wire.py``). Examples: the XML-RPC specification (xmlrpc.com/spec.md: the
``examples.getStateName`` request, the ``-12.214`` double, the "Too many parameters."
fault), Odoo's external API documentation (``check_access_rights`` through
``execute_kw``) and the body Odoo's ``dumps`` writes (``addons/rpc/controllers/xmlrpc.py``).
The standard library's ``xmlrpc.client`` is the reference reader."""

from __future__ import annotations

import re
import xmlrpc.client
from decimal import Decimal

import pytest

from syncledger.adapters.odoo import wire as adapter
from syncledger.adapters.odoo.sandbox import wire as sandbox

SPEC_REQUEST = b"""<?xml version="1.0"?>
<methodCall>
   <methodName>examples.getStateName</methodName>
   <params>
      <param>
         <value><i4>41</i4></value>
         </param>
      </params>
   </methodCall>
"""

SPEC_FAULT = b"""<?xml version="1.0"?>
<methodResponse>
   <fault>
      <value>
         <struct>
            <member>
               <name>faultCode</name>
               <value><int>4</int></value>
               </member>
            <member>
               <name>faultString</name>
               <value><string>Too many parameters.</string></value>
               </member>
            </struct>
         </value>
      </fault>
   </methodResponse>
"""

# Odoo's dumps(Fault(4, "Too many parameters.")): its envelope around the standard marshaller.
ODOO_FAULT = b"""<?xml version="1.0"?>
<methodResponse>
<fault>
<value><struct>
<member>
<name>faultCode</name>
<value><int>4</int></value>
</member>
<member>
<name>faultString</name>
<value><string>Too many parameters.</string></value>
</member>
</struct></value>
</fault>

</methodResponse>
"""

# The docs' models.execute_kw(db, uid, password, 'res.partner', 'check_access_rights',
# ['read'], {'raise_exception': False}), written out as the specification says.
DOCS_CALL = b"""<?xml version="1.0"?>
<methodCall>
<methodName>execute_kw</methodName>
<params>
<param><value><string>db</string></value></param>
<param><value><int>2</int></value></param>
<param><value><string>password</string></value></param>
<param><value><string>res.partner</string></value></param>
<param><value><string>check_access_rights</string></value></param>
<param><value><array><data><value><string>read</string></value></data></array></value></param>
<param><value><struct><member><name>raise_exception</name>
<value><boolean>0</boolean></value></member></struct></value></param>
</params>
</methodCall>
"""
DOCS_PARAMS = (
    "db",
    2,
    "password",
    "res.partner",
    "check_access_rights",
    ["read"],
    {"raise_exception": False},
)


def test_the_sandbox_reads_the_specifications_request() -> None:
    assert sandbox.read_call(SPEC_REQUEST) == ([41], "examples.getStateName")


def test_the_sandbox_reads_the_docs_execute_kw_call() -> None:
    assert sandbox.read_call(DOCS_CALL) == (list(DOCS_PARAMS), "execute_kw")


def test_the_adapter_writes_the_docs_call_as_the_reference_reads_it() -> None:
    body = adapter.encode_call("execute_kw", DOCS_PARAMS)
    assert xmlrpc.client.loads(body) == (DOCS_PARAMS, "execute_kw")


def test_the_sandbox_writes_a_fault_byte_for_byte_as_odoo_does() -> None:
    assert sandbox.fault_body(4, "Too many parameters.") == ODOO_FAULT
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(ODOO_FAULT)
    assert (fault.value.faultCode, fault.value.faultString) == (4, "Too many parameters.")


@pytest.mark.parametrize("body", [SPEC_FAULT, ODOO_FAULT])
def test_the_adapter_reads_the_published_faults(body: bytes) -> None:
    with pytest.raises(xmlrpc.client.Fault) as fault:
        adapter.decode(body)
    assert (fault.value.faultCode, fault.value.faultString) == (4, "Too many parameters.")


def test_the_specifications_double_is_money_on_both_sides() -> None:
    call = SPEC_REQUEST.replace(b"<i4>41</i4>", b"<double>-12.214</double>")
    assert sandbox.read_call(call) == ([Decimal("-12.214")], "examples.getStateName")
    body = adapter.encode_call("examples.getStateName", (Decimal("-12.214"),))
    assert b"<double>-12.214</double>" in body
    assert xmlrpc.client.loads(body) == ((-12.214,), "examples.getStateName")


@pytest.mark.parametrize("text", ["1.5E+2", "1e-05", "inf", "nan", " 1.5", "-", "."])
def test_the_sandbox_refuses_a_double_outside_decimal_point_notation(text: str) -> None:
    call = SPEC_REQUEST.replace(b"<i4>41</i4>", f"<double>{text}</double>".encode())
    with pytest.raises(ValueError, match="ValueError") as refused:
        sandbox.read_call(call)
    assert "decimal point notation" in str(refused.value.__cause__)


@pytest.mark.parametrize("amount", ["1.5E+2", "1E-7", "-0.00", "123456789.01"])
def test_the_adapter_writes_every_amount_in_decimal_point_notation(amount: str) -> None:
    body = adapter.encode_call("m", (Decimal(amount),))
    written = re.search(rb"<double>([^<]*)</double>", body)
    assert written is not None
    assert re.fullmatch(rb"[+-]?[0-9]*\.?[0-9]*", written[1]), written[1]
    assert Decimal(written[1].decode()) == Decimal(amount)


def test_the_sandbox_answers_an_amount_as_odoo_writes_a_float() -> None:
    body = sandbox.result_body({"amount_total": Decimal("115.00")})
    assert b"<double>115.0</double>" in body
    assert xmlrpc.client.loads(body) == (({"amount_total": 115.0},), None)
    assert adapter.decode(body)[0] == ({"amount_total": Decimal("115.00")},)


def test_the_sandbox_cannot_answer_none_as_odoo_cannot() -> None:
    with pytest.raises(TypeError, match="cannot marshal None unless allow_none is enabled"):
        sandbox.result_body(None)


def test_the_sandbox_drops_control_characters_as_odoo_does() -> None:
    body = sandbox.result_body("a\x00b\tc\nd\x1fe")
    assert xmlrpc.client.loads(body) == (("ab\tc\nde",), None)
