"""Which Odoo the sandbox plays: 19 (the default), 18 or 17; the fields and values that
differ between them, applied where RPC calls enter and leave the ORM.

The sandbox keeps its records in Odoo 19's shape; a sandbox told it is 17 or 18 answers
``version()`` as that release and shows and takes what that release has:

- JSON-2 (``/json/2``) is new in 19.0 (odoo/documentation ``external_api.rst``, "new
  JSON-2 API", commit c5c1004): 17 and 18 answer it 404, like any unknown route.
- ``account.payment.memo`` and ``account.move.invoice_currency_rate`` are new in 18.0:
  OCA/OpenUpgrade ``openupgrade_scripts/scripts/account/18.0.1.3/upgrade_analysis.txt``
  (the analysis tool's diff of Odoo 17.0's and 18.0's own models) lists "account.payment /
  memo (char) : NEW" and "account.move / invoice_currency_rate (float) : NEW". 18 → 19
  changes neither (``19.0.1.4/upgrade_analysis.txt``).
- Odoo 17's ``account.payment`` ``_inherits`` ``account.move`` (same analysis: "DEL
  _inherits: {'account.move': 'move_id'}" in 18): its memo is the move's ``ref``, which the
  register wizard's ``communication`` fills, and its ``state`` is the move's (``draft``,
  ``posted``, ``cancel``; 18 made it its own selection ``draft``, ``in_process``,
  ``paid``, ``canceled``, ``rejected``).
- A field a release does not have is refused as Odoo's ORM refuses an unknown field in
  ``create``, ``write``, ``read`` and domains (``refusals.py``: ``values.invalid_field``).

Version 16 answers ``version()`` as 16.0 and otherwise behaves as 17 (clients are expected
to refuse it before anything else; what 16 itself differs in is not modelled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncledger.adapters.odoo.sandbox.errors import refuse

SUPPORTED = (16, 17, 18, 19)
#: (model, field as 19 names it) → the name an older release uses
_RENAMED_BEFORE_18 = {("account.payment", "memo"): "ref"}
#: (model, field) 19 has that releases before 18 do not
_ABSENT_BEFORE_18 = frozenset({("account.move", "invoice_currency_rate")})
#: account.payment states as 17 shows them (the move's)
_PAYMENT_STATE_17 = {"in_process": "posted", "paid": "posted", "canceled": "cancel"}


@dataclass(frozen=True, slots=True)
class Release:
    """One Odoo release the sandbox plays."""

    major: int
    renamed: Mapping[tuple[str, str], str] = field(default_factory=dict)
    absent: frozenset[tuple[str, str]] = frozenset()

    @property
    def serie(self) -> str:
        return f"{self.major}.0"

    @property
    def has_json2(self) -> bool:
        return self.major >= 19

    def version_info(self) -> dict[str, Any]:
        """``common.version()`` (``odoo/service/common.py`` ``exp_version``)."""
        return {
            "server_version": self.serie,
            "server_version_info": [self.major, 0, 0, "final", 0, ""],
            "server_serie": self.serie,
            "protocol_version": 1,
        }

    def check_json2(self) -> None:
        if not self.has_json2:
            raise refuse("request.no_json2", serie=self.serie)

    # ------------------------------------------------------------ inbound

    def inward(self, model: str, name: str) -> str:
        """The 19 name of a field as this release's client names it; refused when the
        release has no such field."""
        for (owner, newer), older in self.renamed.items():
            if owner == model and name == newer:
                raise _invalid(model, name)
            if owner == model and name == older:
                return newer
        if (model, name) in self.absent:
            raise _invalid(model, name)
        return name

    def inward_kwargs(self, model: str, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Named arguments of an RPC call with field names as 19 has them."""
        if self.major >= 19:
            return kwargs
        moved = dict(kwargs)
        if method == "create" and "vals_list" in moved:
            moved["vals_list"] = self._vals_list(model, moved["vals_list"])
        if method == "write" and isinstance(moved.get("vals"), dict):
            moved["vals"] = self._vals(model, moved["vals"])
        if isinstance(moved.get("fields"), list):
            moved["fields"] = [self._name(model, f) for f in moved["fields"]]
        if isinstance(moved.get("domain"), list):
            moved["domain"] = [self._leaf(model, leaf) for leaf in moved["domain"]]
        return moved

    def _vals_list(self, model: str, vals_list: Any) -> Any:
        if isinstance(vals_list, dict):
            return self._vals(model, vals_list)
        if isinstance(vals_list, list):
            return [self._vals(model, v) if isinstance(v, dict) else v for v in vals_list]
        return vals_list

    def _vals(self, model: str, vals: dict[str, Any]) -> dict[str, Any]:
        return {self.inward(model, k): v for k, v in vals.items()}

    def _name(self, model: str, name: Any) -> Any:
        return self.inward(model, name) if isinstance(name, str) else name

    def _leaf(self, model: str, leaf: Any) -> Any:
        if isinstance(leaf, list | tuple) and len(leaf) == 3:
            return [self._name(model, leaf[0]), leaf[1], leaf[2]]
        return leaf

    # ----------------------------------------------------------- outbound

    def outward(self, model: str, row: dict[str, Any]) -> dict[str, Any]:
        """A record as ``read`` shows it in this release."""
        if self.major >= 18:
            return row
        shown: dict[str, Any] = {}
        for name, value in row.items():
            if (model, name) in self.absent:
                continue
            shown[self.renamed.get((model, name), name)] = value
        if model == "account.payment" and isinstance(shown.get("state"), str):
            shown["state"] = _PAYMENT_STATE_17.get(shown["state"], shown["state"])
        return shown


def release(major: int) -> Release:
    """The release ``major`` (one of ``SUPPORTED``)."""
    if major not in SUPPORTED:
        raise ValueError(f"the Odoo sandbox plays {SUPPORTED}, not {major}")
    if major >= 18:
        return Release(major)
    return Release(major, _RENAMED_BEFORE_18, _ABSENT_BEFORE_18)


def _invalid(model: str, name: str) -> Exception:
    return refuse("values.invalid_field", name=name, model=model)
