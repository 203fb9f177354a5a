"""Request bodies checked against Xero's official OpenAPI spec.

The spec is ``specs/xero_accounting.yaml``, copied unmodified from XeroAPI/Xero-OpenAPI
(v16.1.0, commit e952d0bda3628facbf7afc5990ad6a0e7e77bd1e, MIT: ``xero_accounting.LICENSE``
beside it). It is parsed once, on first use, never at import time. Each operation's
``requestBody`` schema is compiled into a JSON Schema validator with the spec's ``$ref``s
resolved inside the document; formats are checked for ``uuid`` (the one format a binding
refuses outright). A body that does not fit is refused (``refusals.py``: ``body.*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from syncledger.adapters.xero.sandbox.errors import XeroFault, refuse

SPEC_URI = "urn:xero-accounting-openapi"
_FORMATS = jsonschema.FormatChecker(formats=("uuid",))


@cache
def spec() -> dict[str, Any]:
    """The parsed spec (cached for the process)."""
    text = (
        resources.files("syncledger.adapters.xero.sandbox")
        .joinpath("specs/xero_accounting.yaml")
        .read_text()
    )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    return document


@cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(spec(), default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


@cache
def request_schema_ref(method: str, path: str) -> str:
    """``#/components/schemas/...`` of the body ``method path`` takes (a spec path, e.g.
    ``/Invoices/{InvoiceID}``); KeyError when the spec has no such operation."""
    operation = spec()["paths"][path][method.lower()]
    ref: str = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return ref


@cache
def validator(schema_ref: str) -> jsonschema.protocols.Validator:
    schema = {"$ref": f"{SPEC_URI}{schema_ref}"}
    checker: jsonschema.protocols.Validator = jsonschema.Draft4Validator(
        schema, registry=_registry(), format_checker=_FORMATS
    )
    return checker


def check_body(method: str, path: str, body: Any, *, schema_ref: str | None = None) -> None:
    """Raise ``PostDataInvalidException`` when ``body`` does not fit the spec's schema."""
    ref = schema_ref or request_schema_ref(method, path)
    error = next(_errors(validator(ref), body), None)
    if error is not None:
        raise error


def _errors(checker: jsonschema.protocols.Validator, body: Any) -> Iterator[XeroFault]:
    for error in sorted(checker.iter_errors(body), key=lambda e: list(e.absolute_path)):
        yield _refusal(error, _path(error.absolute_path))


def _refusal(error: jsonschema.ValidationError, path: str) -> XeroFault:
    if error.validator == "format":
        return refuse("body.format", value=error.instance, format=error.validator_value, path=path)
    if error.validator == "enum":
        return refuse("body.enum", value=error.instance, path=path)
    return refuse("body.schema", problem=error.message, path=path)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
