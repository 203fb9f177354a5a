"""Customer invoices, credit notes and payments in the Odoo sandbox (``account`` module).

What is modelled, after Odoo's ``account.move`` / ``account.payment.register``:

- a move of ``move_type`` ``out_invoice`` or ``out_refund`` has product lines
  (``invoice_line_ids``, commands ``[0, 0, vals]`` / ``[1, id, vals]`` / ``[2, id]`` /
  ``[5]``), each booked to a product or none (``product_id``, see ``odoo_products``) and
  to that product's income account or the journal's, and one receivable line; line
  subtotal = quantity × price_unit × (1 − discount%) rounded to the currency, each tax
  rounded per line (Odoo's default "round per line");
- ``action_post`` numbers it (``INV/2026/00001``, ``RINV/…``) and refuses what Odoo
  refuses (``refusals.py``: ``move.*``); in 18+ a foreign
  currency needs ``invoice_currency_rate`` (the sandbox's rate table is empty unless a
  test fills it, and it never assumes 1 there). Odoo 17 has no such field: a move takes
  the table's rate for its date, 1.0 when the table has none, as 17's
  ``res.currency._get_rates`` does (``COALESCE(..., 1.0)``) — which is why clients must
  check that rate (``table_rate``) before they write;
- a posted move's lines and customer are read-only (Odoo 18+); ``button_draft`` resets it
  and unreconciles its payments; ``button_cancel`` drafts then cancels it;
- ``account.payment.register`` (context ``active_model`` ``account.move`` or
  ``account.move.line`` / ``active_ids``) then ``action_create_payments``: one transaction
  creates the payment, posts its entry and reconciles it with the source receivable line.
  The payment's direction follows the line, as Odoo's ``_get_batches``: a debit (an
  invoice) is paid by an ``inbound`` payment, a credit (a credit note, an overpayment's
  outstanding line) is paid back by an ``outbound`` one. Reconciling goes as far as both
  lines allow, so a payment above the invoice's residual leaves the rest open on the
  payment's receivable line (``payment_difference_handling`` ``open``, Odoo's default;
  ``reconcile`` needs a write-off account the sandbox does not model) and a refund below a
  credit note's residual leaves the rest of the credit; nothing is refused for exceeding
  the residual, as in Odoo;
- ``account.payment`` ``create`` (a draft) and ``action_post`` (numbers it and posts its
  entry: liquidity side not modelled, one receivable line whose residual is the payment's
  outstanding credit; the method returns ``None``, which XML-RPC cannot marshal: a fault
  after the commit, as in Odoo); ``js_assign_outstanding_line`` reconciles an outstanding
  receivable line (a credit note's, a payment's) with an invoice;
- a reconciliation is an ``account.partial.reconcile`` (``debit_move_id``,
  ``credit_move_id``, ``amount``, ``debit_amount_currency``, ``credit_amount_currency``:
  ``addons/account/models/account_partial_reconcile.py``; all in the document's currency
  here, since the sandbox reconciles no two currencies), which is how a reader learns what
  a payment, credit note or refund is applied to.

Each of these calls is its own transaction, as over Odoo's RPC: a credit note created but
not posted, or posted but not applied, is what a client that stopped between two calls
leaves behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from syncledger.adapters.odoo.sandbox.book import OdooBook, Record
from syncledger.adapters.odoo.sandbox.errors import refuse
from syncledger.adapters.odoo.sandbox.products import income_account, line_product

CUSTOMER_MOVES = ("out_invoice", "out_refund")
PREFIX = {"out_invoice": "INV", "out_refund": "RINV"}
MOVE_FIELDS = frozenset(
    {
        "move_type",
        "partner_id",
        "invoice_date",
        "invoice_date_due",
        "date",
        "currency_id",
        "journal_id",
        "ref",
        "payment_reference",
        "narration",
        "invoice_currency_rate",
        "reversed_entry_id",
        "invoice_line_ids",
    }
)
POSTED_WRITABLE = frozenset({"ref", "payment_reference", "narration"})
LINE_FIELDS = frozenset(
    {"name", "quantity", "price_unit", "discount", "tax_ids", "display_type", "product_id"}
)
REGISTER_FIELDS = frozenset(
    {
        "amount",
        "payment_date",
        "communication",
        "journal_id",
        "currency_id",
        "payment_difference_handling",
    }
)
PAYMENT_FIELDS = frozenset(
    {
        "payment_type",
        "partner_type",
        "partner_id",
        "amount",
        "date",
        "memo",
        "journal_id",
        "currency_id",
    }
)
REGISTER_MODELS = ("account.move", "account.move.line")
SALE_JOURNAL = 1
BANK_JOURNAL = 2


class Accounting:
    """The ``account`` operations over one book; every method runs inside the caller's
    transaction and raises ``OdooError`` on refusal."""

    def __init__(self, book: OdooBook, *, company_currency: int, rate_field: bool = True) -> None:
        self.book = book
        self.company_currency = company_currency
        #: the release has ``account.move.invoice_currency_rate`` (18+)
        self.rate_field = rate_field

    def table_rate(self, currency_id: int, day: Any = None) -> Decimal:
        """``res.currency.rate`` for ``day`` (today without one): units of the currency
        per unit of the company's, from the latest rate row on or before that day, 1.0
        without one (Odoo's ``_get_rates``); the company's own currency is 1."""
        if currency_id == self.company_currency:
            return Decimal(1)
        when = str(day or _today())[:10]
        rows = [
            r
            for r in self.book.all("res.currency.rate")
            if r["currency_id"] == currency_id and str(r["name"]) <= when
        ]
        latest = max(rows, key=lambda r: (str(r["name"]), r["id"]), default=None)
        return Decimal(1) if latest is None else _amount(latest["rate"], "rate")

    # ------------------------------------------------------------ invoices

    def create_move(self, vals: Mapping[str, Any]) -> Record:
        _only(vals, MOVE_FIELDS, "account.move")
        move_type = vals.get("move_type", "entry")
        if move_type not in CUSTOMER_MOVES:
            raise refuse("move.type_unsupported", move_type=move_type)
        header = {k: v for k, v in vals.items() if k != "invoice_line_ids"}
        move = self.book.add("account.move", self._defaults(move_type) | header)
        self._check_header(move)
        move["invoice_line_ids"] = self._apply_line_commands(move, [], vals.get("invoice_line_ids"))
        move["line_ids"] = [*move["invoice_line_ids"], self._receivable_line(move)["id"]]
        return self._reprice(move)

    def write_move(self, move: Record, vals: Mapping[str, Any]) -> Record:
        _only(vals, MOVE_FIELDS - {"move_type"}, "account.move")
        locked = sorted(set(vals) - POSTED_WRITABLE)
        if move["state"] != "draft" and locked:
            raise refuse("move.readonly_fields", state=move["state"], fields=", ".join(locked))
        updated = move | {k: v for k, v in vals.items() if k != "invoice_line_ids"}
        self._check_header(updated)
        if "invoice_line_ids" in vals:
            lines = self._apply_line_commands(
                updated, move["invoice_line_ids"], vals["invoice_line_ids"]
            )
            updated["invoice_line_ids"] = lines
            updated["line_ids"] = [*lines, self._receivable_of(updated)["id"]]
        return self._reprice(updated)

    def post(self, move: Record) -> Record:
        if move["state"] == "posted":
            raise refuse("move.already_posted", name=move["name"], id=move["id"])
        if move["state"] != "draft":
            raise refuse("move.post_not_draft")
        if not move.get("partner_id"):
            raise refuse("move.customer_required")
        if not move["invoice_line_ids"]:
            raise refuse("move.no_lines")
        if move["amount_total"] < 0:
            raise refuse("move.negative_total")
        self._check_rate(move)
        move = move | {"state": "posted", "invoice_date": move.get("invoice_date") or _today()}
        if move.get("name") in (None, "/"):
            move["name"] = self._number(move)
        return self._refresh(move)

    def draft(self, move: Record) -> Record:
        if move["state"] not in ("posted", "cancel"):
            raise refuse("move.draft_not_posted")
        self._unreconcile(move)
        return self._refresh(self.book.get("account.move", move["id"]) or move, state="draft")

    def cancel(self, move: Record) -> Record:
        if move["state"] == "posted":
            move = self.draft(move)
        if move["state"] != "draft":
            raise refuse("move.cancel_not_draft")
        return self._refresh(move, state="cancel")

    def assign_outstanding(self, invoice: Record, line_id: Any) -> bool:
        line = self.book.get("account.move.line", line_id)
        if line is None:
            raise refuse("record.missing", model="account.move.line", ids=line_id)
        other = self.book.get("account.move", line["move_id"]) or {}
        if invoice["state"] != "posted" or other.get("state") != "posted":
            raise refuse("reconcile.not_posted")
        if line.get("partner_id") != invoice.get("partner_id") or line["reconciled"]:
            raise refuse("reconcile.not_outstanding")
        self._reconcile(self._receivable_of(invoice), line)
        return True

    # ------------------------------------------------------------ payments

    def new_register(self, vals: Mapping[str, Any], context: Mapping[str, Any]) -> Record:
        _only(vals, REGISTER_FIELDS, "account.payment.register")
        line = self._register_line(context)
        move = self.book.get("account.move", line["move_id"]) or {}
        if vals.get("currency_id", move["currency_id"]) != move["currency_id"]:
            raise refuse("register.other_currency")
        wizard = self._register_defaults(line, move) | dict(vals)
        wizard["amount"] = _amount(wizard["amount"], "amount")
        if wizard["amount"] <= 0:
            raise refuse("register.amount_not_positive")
        self._check_difference(wizard, abs(Decimal(line["amount_residual"])))
        self._journal(wizard["journal_id"])
        return self.book.add("account.payment.register", wizard)

    def create_payments(self, wizard: Record) -> Record:
        """Create and post the payment, then reconcile it with the wizard's line."""
        [line_id] = wizard["line_ids"]
        values = {name: wizard[name] for name in PAYMENT_FIELDS - {"date", "memo"}}
        values |= {"date": wizard["payment_date"], "memo": wizard.get("communication")}
        payment = self.post_payment(self.create_payment(values))
        source = self.book.get("account.move.line", line_id) or {}
        entry = self.book.get("account.move", payment["move_id"]) or {}
        self._reconcile(source, self._receivable_of(entry))
        return self.book.get("account.payment", payment["id"]) or payment

    def create_payment(self, vals: Mapping[str, Any]) -> Record:
        """``account.payment.create``: a draft, no journal entry yet (Odoo 18+)."""
        _only(vals, PAYMENT_FIELDS, "account.payment")
        payment = self._payment_defaults() | dict(vals)
        _selection(payment, "payment_type", ("inbound", "outbound"))
        _selection(payment, "partner_type", ("customer", "supplier"))
        payment["amount"] = _amount(payment["amount"], "amount")
        if payment["amount"] < 0:
            raise refuse("payment.negative_amount")
        _date(payment["date"], "date")
        self._check_header(payment)
        self._journal(payment["journal_id"])
        return self.book.add("account.payment", payment)

    def post_payment(self, payment: Record) -> Record:
        """``account.payment.action_post``: number it and post its entry."""
        if payment["state"] != "draft":
            raise refuse("payment.post_not_draft")
        date = str(payment["date"])
        code = self._journal(payment["journal_id"])["code"]
        number = self.book.next_value(f"seq:P{code}/{date[:4]}")
        payment = payment | {"name": f"P{code}/{date[:4]}/{number:05d}", "state": "paid"}
        entry = self._payment_entry(payment)
        return self.book.put("account.payment", payment | {"move_id": entry["id"]})

    # ------------------------------------------------------------- helpers

    def _defaults(self, move_type: str) -> Record:
        return {
            "name": "/",
            "move_type": move_type,
            "state": "draft",
            "payment_state": "not_paid",
            "currency_id": self.company_currency,
            "journal_id": SALE_JOURNAL,
            "partner_id": None,
            "invoice_line_ids": [],
            "line_ids": [],
        }

    def _check_header(self, move: Record) -> None:
        for name, model in (
            ("partner_id", "res.partner"),
            ("currency_id", "res.currency"),
            ("journal_id", "account.journal"),
            ("reversed_entry_id", "account.move"),
        ):
            ident = move.get(name)
            if ident not in (None, False) and self.book.get(model, ident) is None:
                raise refuse("record.missing", model=model, ids=ident)
        for name in ("invoice_date", "invoice_date_due", "date"):
            if move.get(name) not in (None, False):
                _date(move[name], name)
        sent = move.get("invoice_currency_rate")
        if sent is not None and sent is not False:  # a zero rate is sent, and refused
            rate = _amount(sent, "invoice_currency_rate")
            if rate <= 0:
                raise refuse("move.rate_not_positive")

    def _check_rate(self, move: Record) -> None:
        if move["currency_id"] == self.company_currency or not self.rate_field:
            return
        if move.get("invoice_currency_rate") in (None, False):
            currency = self.book.get("res.currency", move["currency_id"]) or {}
            raise refuse(
                "move.rate_missing", currency=currency.get("name"), date=move.get("invoice_date")
            )

    def _apply_line_commands(self, move: Record, current: list[int], commands: Any) -> list[int]:
        ids = list(current)
        for command in _commands(commands):
            ids = self._line_command(move, ids, command)
        return ids

    def _line_command(self, move: Record, ids: list[int], command: list[Any]) -> list[int]:
        code = command[0]
        if code == 0:
            return [*ids, self._new_line(move, command[2])["id"]]
        if code == 1 and command[1] in ids:
            line = self.book.get("account.move.line", command[1]) or {}
            self.book.put(
                "account.move.line", self._booked(move, line | self._line_values(command[2]))
            )
            return ids
        if code == 2 and command[1] in ids:
            self.book.delete("account.move.line", command[1])
            return [i for i in ids if i != command[1]]
        if code == 5:
            for ident in ids:
                self.book.delete("account.move.line", ident)
            return []
        raise refuse("values.x2many_command", command=command)

    def _new_line(self, move: Record, vals: Any) -> Record:
        values: Record = {"quantity": Decimal(1), "price_unit": Decimal(0), "discount": Decimal(0)}
        values |= {"tax_ids": [], "name": "", "display_type": "product"}
        values |= self._line_values(vals)
        values |= {"move_id": move["id"], "partner_id": move.get("partner_id")}
        return self.book.add("account.move.line", self._booked(move, values))

    def _booked(self, move: Mapping[str, Any], line: Record) -> Record:
        """A product line with the income account it is booked to."""
        account = income_account(self.book, line.get("product_id"), move.get("journal_id"))
        return line | {"account_id": account, "account_type": "income"}

    def _line_values(self, vals: Any) -> Record:
        if not isinstance(vals, dict):
            raise refuse("values.line_not_object", vals=vals)
        _only(vals, LINE_FIELDS, "account.move.line")
        values = dict(vals)
        for name in ("quantity", "price_unit", "discount"):
            if name in values:
                values[name] = _amount(values[name], name)
        if "tax_ids" in values:
            values["tax_ids"] = self._tax_ids(values["tax_ids"])
        if "product_id" in values:
            values["product_id"] = line_product(self.book, values["product_id"])
        return values

    def _tax_ids(self, value: Any) -> list[int]:
        ids = _m2m_ids(value)
        for ident in ids:
            if self.book.get("account.tax", ident) is None:
                raise refuse("record.missing", model="account.tax", ids=ident)
        return ids

    def _receivable_line(self, move: Record) -> Record:
        values: Record = {"move_id": move["id"], "partner_id": move.get("partner_id"), "name": ""}
        values |= {"display_type": "payment_term", "account_type": "asset_receivable"}
        values |= {"balance": Decimal(0), "amount_residual": Decimal(0), "reconciled": False}
        return self.book.add("account.move.line", values | {"tax_ids": []})

    def _receivable_of(self, move: Mapping[str, Any]) -> Record:
        for ident in move.get("line_ids", []):
            line = self.book.get("account.move.line", ident)
            if line is not None and line["account_type"] == "asset_receivable":
                return line
        raise refuse(
            "record.missing", model="account.move.line", ids=f"receivable of {move.get('id')}"
        )

    def _reprice(self, move: Record) -> Record:
        """Recompute a draft's lines and totals; the receivable line follows the total."""
        places = self._places(move["currency_id"])
        untaxed = tax = Decimal(0)
        for ident in move["invoice_line_ids"]:
            line = self.book.get("account.move.line", ident) or {}
            subtotal, line_tax = self._priced_line(line, places)
            self.book.put(
                "account.move.line",
                line | {"price_subtotal": subtotal, "price_total": subtotal + line_tax},
            )
            untaxed, tax = untaxed + subtotal, tax + line_tax
        totals = {"amount_untaxed": untaxed, "amount_tax": tax, "amount_total": untaxed + tax}
        sign = 1 if move["move_type"] == "out_invoice" else -1
        receivable = self._receivable_of(move)
        balance = sign * totals["amount_total"]
        self.book.put(
            "account.move.line",
            receivable
            | {
                "balance": balance,
                "amount_residual": balance,
                "partner_id": move.get("partner_id"),
            },
        )
        return self._refresh(move | totals)

    def _priced_line(self, line: Mapping[str, Any], places: Decimal) -> tuple[Decimal, Decimal]:
        gross = Decimal(line["quantity"]) * Decimal(line["price_unit"])
        subtotal = _round(gross * (1 - Decimal(line["discount"]) / 100), places)
        tax = Decimal(0)
        for ident in line.get("tax_ids", []):
            rate = self.book.get("account.tax", ident) or {}
            if rate.get("amount_type") == "fixed":
                tax += _round(Decimal(rate["amount"]) * Decimal(line["quantity"]), places)
            else:
                tax += _round(subtotal * Decimal(rate.get("amount", 0)) / 100, places)
        return subtotal, tax

    def _places(self, currency_id: int) -> Decimal:
        currency = self.book.get("res.currency", currency_id) or {}
        return Decimal(1).scaleb(-int(currency.get("decimal_places", 2)))

    def _refresh(self, move: Record, state: str | None = None) -> Record:
        """Store ``move`` with its residual and payment state derived from its lines."""
        move = dict(move) | ({"state": state} if state else {})
        receivable = self._receivable_of(move)
        if move["state"] == "cancel":
            residual = Decimal(0)
        elif move["state"] == "draft":
            residual = move["amount_total"]
        else:
            residual = abs(Decimal(receivable["amount_residual"]))
        move["amount_residual"] = residual
        move["payment_state"] = _payment_state(move["state"], move["amount_total"], residual)
        return self.book.put("account.move", move)

    def _number(self, move: Record) -> str:
        prefix = PREFIX[move["move_type"]]
        year = str(move["invoice_date"])[:4]
        return f"{prefix}/{year}/{self.book.next_value(f'seq:{prefix}/{year}'):05d}"

    def _reconcile(self, first: Record, second: Record) -> None:
        debit, credit = (first, second) if first["amount_residual"] > 0 else (second, first)
        amount = min(Decimal(debit["amount_residual"]), -Decimal(credit["amount_residual"]))
        if amount <= 0:
            raise refuse("reconcile.nothing_left")
        for line, change in ((debit, -amount), (credit, amount)):
            residual = Decimal(line["amount_residual"]) + change
            self.book.put(
                "account.move.line",
                line | {"amount_residual": residual, "reconciled": residual == 0},
            )
        partial = {"debit_move_id": debit["id"], "credit_move_id": credit["id"], "amount": amount}
        # both items are in the document's currency (the sandbox pays in no other)
        partial |= {"debit_amount_currency": amount, "credit_amount_currency": amount}
        self.book.add("account.partial.reconcile", partial)
        self._after_reconcile(debit, credit, linked=True)

    def _unreconcile(self, move: Record) -> None:
        mine = set(move.get("line_ids", []))
        for partial in self.book.all("account.partial.reconcile"):
            if {partial["debit_move_id"], partial["credit_move_id"]} & mine:
                self._undo(partial)

    def _undo(self, partial: Record) -> None:
        debit = self.book.get("account.move.line", partial["debit_move_id"]) or {}
        credit = self.book.get("account.move.line", partial["credit_move_id"]) or {}
        amount = Decimal(partial["amount"])
        for line, change in ((debit, amount), (credit, -amount)):
            residual = Decimal(line["amount_residual"]) + change
            self.book.put(
                "account.move.line", line | {"amount_residual": residual, "reconciled": False}
            )
        self.book.delete("account.partial.reconcile", partial["id"])
        self._after_reconcile(debit, credit, linked=False)

    def _after_reconcile(self, debit: Record, credit: Record, *, linked: bool) -> None:
        moves = [self.book.get("account.move", line["move_id"]) for line in (debit, credit)]
        for move in moves:
            if move is not None and move["move_type"] in CUSTOMER_MOVES:
                self._refresh(move)
        invoices = [m["id"] for m in moves if m is not None and m["move_type"] in CUSTOMER_MOVES]
        for move in moves:
            if move is not None and move.get("payment_id"):
                self._link_payment(move["payment_id"], invoices, linked)

    def _link_payment(self, payment_id: int, invoices: list[int], linked: bool) -> None:
        payment = self.book.get("account.payment", payment_id)
        if payment is None:
            return
        current = [i for i in payment["reconciled_invoice_ids"] if i not in invoices]
        self.book.put(
            "account.payment",
            payment | {"reconciled_invoice_ids": current + (invoices if linked else [])},
        )

    def _register_line(self, context: Mapping[str, Any]) -> Record:
        """The receivable line the wizard pays, from ``active_model`` / ``active_ids``."""
        ids = context.get("active_ids") or []
        model = context.get("active_model")
        if model not in REGISTER_MODELS or not isinstance(ids, list) or not ids:
            raise refuse("register.wrong_model")
        if len(ids) != 1:
            raise refuse("register.several_records")
        lines = self._lines_of(str(model), ids[0])
        if not all(self._posted_line(line) for line in lines):
            raise refuse("register.not_posted")
        open_lines = [
            ln
            for ln in lines
            if ln["account_type"] == "asset_receivable" and Decimal(ln["amount_residual"]) != 0
        ]
        if not open_lines:
            raise refuse("register.nothing_to_pay")
        return open_lines[0]

    def _posted_line(self, line: Record) -> bool:
        return (self.book.get("account.move", line["move_id"]) or {}).get("state") == "posted"

    def _lines_of(self, model: str, ident: Any) -> list[Record]:
        record = self.book.get(model, ident)
        if record is None:
            raise refuse("record.missing", model=model, ids=[ident])
        if model == "account.move.line":
            return [record]
        lines = (self.book.get("account.move.line", i) for i in record.get("line_ids", []))
        return [line for line in lines if line is not None]

    def _register_defaults(self, line: Record, move: Record) -> Record:
        return {
            "amount": abs(Decimal(line["amount_residual"])),
            "payment_date": _today(),
            "communication": move.get("payment_reference") or line.get("name") or move["name"],
            "journal_id": BANK_JOURNAL,
            "currency_id": move["currency_id"],
            "payment_type": "inbound" if Decimal(line["balance"]) > 0 else "outbound",
            "partner_type": "customer",
            "partner_id": line.get("partner_id"),
            "payment_difference_handling": "open",
            "line_ids": [line["id"]],
        }

    def _check_difference(self, wizard: Record, residual: Decimal) -> None:
        _selection(wizard, "payment_difference_handling", ("open", "reconcile"))
        if wizard["payment_difference_handling"] == "reconcile" and wizard["amount"] != residual:
            raise refuse("register.write_off")

    def _journal(self, ident: Any) -> Record:
        journal = self.book.get("account.journal", ident)
        if journal is None:
            raise refuse("record.missing", model="account.journal", ids=ident)
        if journal.get("type") not in ("bank", "cash"):
            raise refuse("payment.journal_not_bank", name=journal["name"])
        return journal

    def _payment_defaults(self) -> Record:
        return {
            "name": "/",
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": None,
            "amount": Decimal(0),
            "date": _today(),
            "memo": None,
            "payment_reference": None,
            "state": "draft",
            "currency_id": self.company_currency,
            "journal_id": BANK_JOURNAL,
            "move_id": None,
            "reconciled_invoice_ids": [],
        }

    def _payment_entry(self, payment: Record) -> Record:
        """The payment's journal entry: its receivable line is credited for money received
        (``inbound``) and debited for money paid out (``outbound``)."""
        entry = {
            "name": payment["name"],
            "move_type": "entry",
            "state": "posted",
            "partner_id": payment["partner_id"],
            "date": payment["date"],
            "currency_id": payment["currency_id"],
            "journal_id": payment["journal_id"],
            "payment_id": payment["id"],
            "amount_total": payment["amount"],
            "invoice_line_ids": [],
        }
        move = self.book.add("account.move", entry)
        line = self._receivable_line(move)
        amount = Decimal(payment["amount"])
        balance = -amount if payment["payment_type"] == "inbound" else amount
        self.book.put(
            "account.move.line",
            line | {"balance": balance, "amount_residual": balance, "payment_id": payment["id"]},
        )
        return self.book.put("account.move", move | {"line_ids": [line["id"]]})


def _payment_state(state: str, total: Decimal, residual: Decimal) -> str:
    if state != "posted" or (residual == total and total != 0):
        return "not_paid"
    return "paid" if residual == 0 else "partial"


def _selection(record: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    if record.get(name) not in allowed:
        raise refuse("values.wrong_value", field=name, value=record.get(name))


def _only(vals: Mapping[str, Any], allowed: Iterable[str], model: str) -> None:
    if not isinstance(vals, Mapping):
        raise refuse("values.not_object", model=model)
    for name in vals:
        if name not in allowed:
            raise refuse("values.invalid_field", name=name, model=model)


def _commands(value: Any) -> list[list[Any]]:
    if value in (None, False):
        return []
    if not isinstance(value, list) or not all(isinstance(c, list | tuple) and c for c in value):
        raise refuse("values.x2many_commands", value=value)
    return [list(c) + [None] * (3 - len(c)) for c in value]


def _m2m_ids(value: Any) -> list[int]:
    """``[6, 0, ids]`` / ``[4, id]`` commands or a plain list of ids."""
    ids: list[int] = []
    for item in value or []:
        if isinstance(item, int):
            ids.append(item)
        elif isinstance(item, list | tuple) and item and item[0] == 6:
            ids = list(item[2])
        elif isinstance(item, list | tuple) and item and item[0] == 4:
            ids.append(item[1])
        else:
            raise refuse("values.many2many_command", item=item)
    return ids


def _amount(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise refuse("values.not_a_number", name=name, value=value)
    try:
        return Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise refuse("values.not_a_number", name=name, value=value) from None


def _date(value: Any, name: str) -> None:
    try:
        datetime.strptime(str(value), "%Y-%m-%d")
    except ValueError:
        raise refuse("values.not_a_date", name=name, value=value) from None


def _round(amount: Decimal, places: Decimal) -> Decimal:
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
