"""The Odoo sandbox's ORM surface: which methods of which models an RPC may call, with
which named arguments, and what they return (refusals: ``refusals.py``, ``call.*``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncledger.adapters.odoo.sandbox.accounting import Accounting
from syncledger.adapters.odoo.sandbox.book import OdooBook, Record
from syncledger.adapters.odoo.sandbox.countries import state_display_name, with_country_code
from syncledger.adapters.odoo.sandbox.domain import compile_domain, page, sort_records
from syncledger.adapters.odoo.sandbox.errors import refuse
from syncledger.adapters.odoo.sandbox.fields import FIELDS, check_fields, display_name, present
from syncledger.adapters.odoo.sandbox.products import create_product
from syncledger.adapters.odoo.sandbox.versions import Release, release

PARTNER_FIELDS = frozenset(FIELDS["res.partner"]) - {"country_code"}  # related: read only
READ_METHODS = frozenset({"search", "search_read", "search_count", "read", "context_get"})
MOVE_ACTIONS = frozenset({"action_post", "button_draft", "button_cancel"})


@dataclass(frozen=True, slots=True)
class Signature:
    model_method: bool  # @api.model: refuses ids
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


_SEARCH = Signature(True, ("domain",), ("offset", "limit", "order"))
_GENERIC: dict[str, Signature] = {
    "search": _SEARCH,
    "search_read": Signature(True, (), ("domain", "fields", "offset", "limit", "order")),
    "search_count": Signature(True, ("domain",), ("limit",)),
    "read": Signature(False, (), ("fields", "load")),
}
_WRITES: dict[str, dict[str, Signature]] = {
    "res.partner": {
        "create": Signature(True, ("vals_list",)),
        "write": Signature(False, ("vals",)),
    },
    "account.move": {
        "create": Signature(True, ("vals_list",)),
        "write": Signature(False, ("vals",)),
        "action_post": Signature(False),
        "button_draft": Signature(False),
        "button_cancel": Signature(False),
        "js_assign_outstanding_line": Signature(False, ("line_id",)),
    },
    "account.payment.register": {
        "create": Signature(True, ("vals_list",)),
        "action_create_payments": Signature(False),
    },
    "account.payment": {
        "create": Signature(True, ("vals_list",)),
        "action_post": Signature(False),
    },
    "product.product": {"create": Signature(True, ("vals_list",))},
    "res.users": {"context_get": Signature(True)},
}


class OdooOrm:
    """Calls ``model.method(ids, **kwargs)`` on the book, as the JSON-2 controller does."""

    def __init__(
        self,
        book: OdooBook,
        accounting: Accounting,
        *,
        user_context: Mapping[str, Any],
        odoo: Release | None = None,
    ):
        self.book = book
        self.accounting = accounting
        self.release = odoo or release(19)
        self._user_context = dict(user_context)

    def call(
        self,
        model: str,
        method: str,
        ids: list[int],
        kwargs: dict[str, Any],
        context: dict[str, Any],
    ) -> Any:
        signature = self._signature(model, method)
        _bind(model, method, signature, ids, kwargs)
        handler = self._handler(model, method)
        result = handler(model, ids, self.release.inward_kwargs(model, method, kwargs), context)
        if method in ("read", "search_read"):
            return [self.release.outward(model, row) for row in result]
        return result

    def bind_positional(
        self, model: str, method: str, args: list[Any]
    ) -> tuple[list[int], dict[str, Any]]:
        """XML-RPC ``execute_kw`` arguments: record ids first (unless ``@api.model``),
        then the method's parameters in order."""
        signature = self._signature(model, method)
        rest = list(args)
        ids = [] if signature.model_method or not rest else record_ids(rest.pop(0))
        params = signature.required + signature.optional
        if len(rest) > len(params):
            raise refuse("call.too_many_positional", method=method, count=len(params))
        return ids, dict(zip(params, rest, strict=False))

    def _signature(self, model: str, method: str) -> Signature:
        if model not in FIELDS and model != "res.users":
            raise refuse("call.unknown_model", model=model)
        found = _WRITES.get(model, {}).get(method) or (
            _GENERIC.get(method) if model in FIELDS else None
        )
        if found is None:
            raise refuse("call.unknown_method", method=method, model=model)
        return found

    def _handler(self, model: str, method: str) -> Callable[..., Any]:
        if method in MOVE_ACTIONS:
            return lambda m, ids, kw, ctx: self._move_action(m, ids, method)
        handlers: dict[str, Callable[..., Any]] = {
            "search": self._search,
            "search_read": self._search_read,
            "search_count": self._search_count,
            "read": self._read,
            "create": self._create,
            "write": self._write,
            "js_assign_outstanding_line": self._assign,
            "action_create_payments": self._create_payments,
            "context_get": lambda *_: dict(self._user_context),
        }
        return handlers[method]

    # ------------------------------------------------------------------ reads

    def _matching(
        self, model: str, kwargs: Mapping[str, Any], context: Mapping[str, Any]
    ) -> list[Record]:
        wanted = compile_domain(model, kwargs.get("domain"))
        active_test = context.get("active_test", True) and "active" in FIELDS[model]
        rows = [
            r
            for r in self.book.all(model)
            if wanted(r) and not (active_test and r.get("active") is False)
        ]
        sort_records(model, rows, kwargs.get("order"))
        return page(rows, kwargs.get("offset"), kwargs.get("limit"))

    def _search(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> list[int]:
        return [r["id"] for r in self._matching(model, kwargs, ctx)]

    def _search_read(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> list[dict[str, Any]]:
        fields = _fields(model, kwargs.get("fields"))
        return [
            present(model, self._computed(model, r, ctx), fields, self._name_of)
            for r in self._matching(model, kwargs, ctx)
        ]

    def _search_count(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> int:
        return len(
            self._matching(
                model, {"domain": kwargs.get("domain"), "limit": kwargs.get("limit")}, ctx
            )
        )

    def _read(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> list[dict[str, Any]]:
        fields = _fields(model, kwargs.get("fields"))
        return [
            present(
                model, self._computed(model, self._existing(model, i), ctx), fields, self._name_of
            )
            for i in ids
        ]

    def _computed(self, model: str, record: Record, ctx: Mapping[str, Any]) -> Record:
        """A currency's ``rate`` for the context's ``date`` (today without one); a
        partner's ``country_code``."""
        if model == "res.partner":
            return with_country_code(record, lambda i: self.book.get("res.country", i))
        if model != "res.currency":
            return record
        return record | {"rate": self.accounting.table_rate(record["id"], ctx.get("date"))}

    def _name_of(self, model: str, ident: int) -> str | None:
        record = self.book.get(model, ident)
        if record and model == "res.country.state":
            return state_display_name(record, self.book.get("res.country", record["country_id"]))
        return display_name(model, record) if record else None

    def _existing(self, model: str, ident: Any) -> Record:
        record = self.book.get(model, ident)
        if record is None:
            raise refuse("record.missing", model=model, ids=ident)
        return record

    # ----------------------------------------------------------------- writes

    def _create(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> list[int]:
        vals_list = kwargs["vals_list"]
        if isinstance(vals_list, dict):
            vals_list = [vals_list]
        if not isinstance(vals_list, list):
            raise refuse("call.vals_list_not_list")
        create: Callable[[Any], Record] = {
            "res.partner": self._new_partner,
            "account.move": self.accounting.create_move,
            "account.payment.register": lambda v: self.accounting.new_register(v, ctx),
            "account.payment": self.accounting.create_payment,
            "product.product": lambda v: create_product(self.book, v),
        }[model]
        return [create(vals)["id"] for vals in vals_list]

    def _write(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> bool:
        vals = kwargs["vals"]
        for ident in ids:
            record = self._existing(model, ident)
            if model == "res.partner":
                self.book.put(model, _partner(record | _partner_values(vals)))
            else:
                self.accounting.write_move(record, vals)
        return True

    def _new_partner(self, vals: Any) -> Record:
        defaults = {"customer_rank": 0, "is_company": False, "active": True}
        return self.book.add("res.partner", _partner(defaults | _partner_values(vals)))

    def _move_action(self, model: str, ids: list[int], action: str) -> bool | None:
        """A move's actions return ``False`` (Odoo returns it so that XML-RPC can answer);
        ``account.payment.action_post`` returns ``None``."""
        if model == "account.payment":
            for ident in ids:
                self.accounting.post_payment(self._existing(model, ident))
            return None
        step = {
            "action_post": self.accounting.post,
            "button_draft": self.accounting.draft,
            "button_cancel": self.accounting.cancel,
        }[action]
        for ident in ids:
            step(self._existing(model, ident))
        return False

    def _assign(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> bool:
        if len(ids) != 1:
            raise refuse("call.not_singleton", model=model, ids=tuple(ids))
        return self.accounting.assign_outstanding(self._existing(model, ids[0]), kwargs["line_id"])

    def _create_payments(
        self, model: str, ids: list[int], kwargs: dict[str, Any], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        if len(ids) != 1:
            raise refuse("call.not_singleton", model=model, ids=tuple(ids))
        payment = self.accounting.create_payments(self._existing(model, ids[0]))
        return {
            "name": "Payments",
            "type": "ir.actions.act_window",
            "res_model": "account.payment",
            "context": {"create": False},
            "view_mode": "form",
            "res_id": payment["id"],
        }


def _bind(
    model: str, method: str, signature: Signature, ids: list[int], kwargs: dict[str, Any]
) -> None:
    if signature.model_method and ids:
        raise refuse("call.ids_to_model_method", model=model, method=method)
    allowed = set(signature.required) | set(signature.optional)
    for name in kwargs:
        if name not in allowed:
            raise refuse("call.unexpected_keyword", method=method, name=name)
    for name in signature.required:
        if name not in kwargs:
            raise refuse("call.missing_argument", name=name)


def record_ids(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise refuse("call.ids_not_integers", value=value)
    return list(values)


def _fields(model: str, fields: Any) -> list[str] | None:
    if fields in (None, False, []):
        return None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise refuse("call.fields_not_list")
    check_fields(model, fields)
    return list(fields)


def _partner_values(vals: Any) -> Record:
    if not isinstance(vals, dict):
        raise refuse("values.not_object", model="res.partner")
    for name in vals:
        if name not in PARTNER_FIELDS:
            raise refuse("values.invalid_field", name=name, model="res.partner")
    return dict(vals)


def _partner(record: Record) -> Record:
    if not str(record.get("name") or "").strip():
        raise refuse("partner.name_required")
    return record
