"""How a document's tax goes to QuickBooks Online: the company's tax model decides.

QBO has three ways to hold sales tax, and a company is in one of them:

- ``automated`` — a US company on automated sales tax (AST). "US QuickBooks Online
  companies created after November 10, 2017 manage sales tax calculations via an automated
  sales tax (AST) engine ... To determine if the QuickBooks Online company uses automated
  sales tax, query the Preferences.TaxPrefs.PartnerTaxEnabled attribute"
  (developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-us-locales).
  Intuit's AST FAQ: true — AST with sales tax set up; false — AST without sales tax set up;
  absent — no AST (quoted in ruckus/quickbooks-ruby#443). The engine "assigns the
  appropriate tax code ... and automatically calculates the tax amount"
  (developer.intuit.com/hub/blog/2017/12/11/using-quickbooks-online-api-automated-sales-tax),
  and the TaxCodeRef / rates an app sends are not what it uses (Intuit's hlu2,
  intuit/QuickBooks-V3-PHP-SDK#199). So each sales line says whether it is taxed with the
  US pseudo code ``TAX`` or ``NON`` (the mapping's ``taxable_code`` / ``non_taxable_code``),
  ``TxnTaxDetail`` carries only ``TxnTaxCodeRef`` (the mapping's ``txn_tax_code_ref``,
  else the customer's ``DefaultTaxCodeRef``, which AST fills in; none known: left out, AST
  assigns one), and no tax amount is sent: a ``TotalTax`` would be an override of the
  engine, which its user may not allow (Finance.xsd, TxnTaxDetail.UseAutomatedSalesTax).
  A document with a discount says ``ApplyTaxAfterDiscount`` false, since our totals take
  the discount off after tax (Finance.xsd, Invoice.ApplyTaxAfterDiscount). QBO's answer
  carries the tax it computed: ``QboLedger`` compares it with ours at once (a warning
  naming both) and every read reports it as the record's ``tax``, so the reconciler
  records a ``tax_mismatch`` when they differ. A company on AST without sales tax set up
  computes none: a document with tax is refused before anything is sent.
- ``us_manual`` — a US company without AST. Lines ``TAX`` / ``NON`` and ``TxnTaxCodeRef``
  as above ("For US versions of QuickBooks you need only supply the tax code ... for the
  transaction as a whole", Finance.xsd, TxnTaxDetail), plus the explicit ``TotalTax`` and
  one ``TaxLine`` per taxed line (rate ``tax_rate_ref``), so the document holds our tax.
  Whether such a company keeps a tax amount differing from its code's rate is not settled
  by any Intuit source found; the read-back comparison is what catches it.
- ``global`` — outside the US (``CompanyInfo.Country`` not US: "You can tell which method
  you should be following for a given company by querying the CompanyInfo resource for
  the Country attribute", minimul/qbo_api#85). Lines carry the company's TaxCode ids
  (``taxable_code`` / ``non_taxable_code`` must then be ids: the pseudo codes TAX / NON
  are US only and are refused as a configuration error), ``TxnTaxDetail`` the explicit
  ``TotalTax`` and ``TaxLine``s ("For international versions of QuickBooks, the
  TxnTaxDetail should provide the details of all taxes ... you may supply it", Finance.xsd)
  and ``GlobalTaxCalculation`` ``TaxExcluded`` (ruckus/quickbooks-ruby#322).

The model is read once per adapter (``GET companyinfo/{realm}`` and ``GET preferences``)
unless ``[invoice.tax] model`` in the mapping names it. The XSDs cited are in
intuit/QuickBooks-V3-Java-SDK, ``ipp-v3-java-data/src/main/xsd/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from syncledger.core.errors import ConfigurationError, PermanentLedgerError
from syncledger.core.model import CreditNote, Invoice, InvoiceLine
from syncledger.core.money import quantize, to_decimal

TaxModel = Literal["automated", "us_manual", "global"]
MODELS: tuple[TaxModel, ...] = ("automated", "us_manual", "global")
US = "US"
US_PSEUDO_CODES = ("TAX", "NON")
Document = Invoice | CreditNote
#: reads a company resource (``companyinfo/{realm}``, ``preferences``) as JSON
Reader = Callable[[str], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class CompanyTax:
    """The company's tax model; ``set_up`` is False for AST without sales tax set up."""

    model: TaxModel
    set_up: bool = True


def company_tax(country: object, tax_prefs: object) -> CompanyTax:
    """The model a company's ``CompanyInfo.Country`` and ``Preferences.TaxPrefs`` say."""
    if isinstance(country, str) and country and country.upper() != US:
        return CompanyTax("global")
    prefs = tax_prefs if isinstance(tax_prefs, Mapping) else {}
    if "PartnerTaxEnabled" not in prefs:
        return CompanyTax("us_manual")
    return CompanyTax("automated", set_up=prefs["PartnerTaxEnabled"] is True)


class TaxModelReader:
    """The company's model, read once (or named by the mapping's ``model``)."""

    def __init__(self, settings: Mapping[str, str], read: Reader, realm_id: str) -> None:
        self._settings = settings
        self._read = read
        self._realm_id = realm_id
        self._known: CompanyTax | None = _configured(settings)

    async def plan(self) -> TaxPlan:
        if self._known is None:
            info = await self._read(f"companyinfo/{self._realm_id}")
            prefs = await self._read("preferences")
            country = _get(info, "CompanyInfo", "Country")
            self._known = company_tax(country, _get(prefs, "Preferences", "TaxPrefs"))
        code = self._settings.get("txn_tax_code_ref") or None
        return TaxPlan(self._known, self._settings, txn_tax_code=code)


@dataclass(frozen=True, slots=True)
class TaxPlan:
    """The tax part of a document body, for one company (and, once ``for_customer`` has
    named it, one customer's transaction tax code)."""

    company: CompanyTax
    settings: Mapping[str, str]  # the mapping's [invoice.tax]
    txn_tax_code: str | None = None

    @property
    def model(self) -> TaxModel:
        return self.company.model

    @property
    def needs_customer_code(self) -> bool:
        """Whether the customer's ``DefaultTaxCodeRef`` is wanted (a US model and no
        ``txn_tax_code_ref`` in the mapping)."""
        return self.model != "global" and not self.settings.get("txn_tax_code_ref")

    def for_customer(self, default_tax_code: str | None) -> TaxPlan:
        code = self.settings.get("txn_tax_code_ref") or default_tax_code
        return replace(self, txn_tax_code=code or None)

    def line_code(self, line: InvoiceLine) -> dict[str, str]:
        """A sales line's ``TaxCodeRef``."""
        key = "taxable_code" if line.tax_amount != 0 else "non_taxable_code"
        code = self.settings[key]
        if self.model == "global" and code.upper() in US_PSEUDO_CODES:
            raise ConfigurationError(
                f"QuickBooks company outside the US: set [invoice.tax] {key} in the QBO "
                f"mapping to one of your company's TaxCode ids ({code!r} is a US-only code)"
            )
        return {"value": code}

    def header(self, doc: Document, *, update: bool = False) -> dict[str, Any]:
        """The document-level tax fields (``TxnTaxDetail`` and the like). ``update``: a
        sparse update, where a tax left out would keep the old one."""
        if self.model == "automated":
            return self._automated(doc)
        detail = _explicit_detail(doc, self.settings["tax_rate_ref"])
        if detail is None:
            return (
                {"TxnTaxDetail": {"TotalTax": quantize(Decimal(0), doc.currency)}} if update else {}
            )
        if self.model == "us_manual" and self.txn_tax_code:
            detail = {"TxnTaxCodeRef": {"value": self.txn_tax_code}} | detail
        header: dict[str, Any] = {"TxnTaxDetail": detail}
        if self.model == "global":
            header["GlobalTaxCalculation"] = self.settings["global_tax_calculation"]
        return header

    def sent_tax(self, body: Mapping[str, Any], doc: Document) -> Decimal:
        """The tax the body makes QBO hold: what it sends, or under AST ours (what the
        engine should compute; checked after the create)."""
        if self.model == "automated":
            return doc.tax_total
        return to_decimal(body.get("TxnTaxDetail", {}).get("TotalTax", 0))

    def _automated(self, doc: Document) -> dict[str, Any]:
        if doc.tax_total != 0 and not self.company.set_up:
            raise PermanentLedgerError(
                f"{doc.kind.replace('_', ' ')} {doc.number} has tax but the QuickBooks "
                "company uses automated sales tax without sales tax set up, so QuickBooks "
                "would charge none: set up sales tax in QuickBooks, then push again",
                code="syncledger.tax_not_set_up",
            )
        header: dict[str, Any] = {}
        if self.txn_tax_code:
            header["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": self.txn_tax_code}}
        if doc.discount:
            header["ApplyTaxAfterDiscount"] = False
        return header


def read_back_difference(doc: Document, raw: Mapping[str, Any]) -> str | None:
    """How the document QBO answered with differs from ours in tax or total, if it does."""
    held_tax = to_decimal(_get(raw, "TxnTaxDetail", "TotalTax") or 0)
    held_total = to_decimal(raw.get("TotalAmt") or 0)
    if (held_tax, held_total) == (doc.tax_total, doc.total):
        return None
    what = doc.kind.replace("_", " ")
    return (
        f"{what} {doc.number}: QuickBooks computed tax {held_tax} and total {held_total}, "
        f"the source says tax {doc.tax_total} and total {doc.total}"
    )


def _explicit_detail(doc: Document, rate_ref: str) -> dict[str, Any] | None:
    taxed = [ln for ln in doc.lines if ln.tax_amount != 0]
    if not taxed:
        return None
    lines = [_tax_line(ln, doc.currency, rate_ref) for ln in taxed]
    total = sum((t["Amount"] for t in lines), Decimal(0))
    return {"TotalTax": total, "TaxLine": lines}


def _tax_line(line: InvoiceLine, currency: str, rate_ref: str) -> dict[str, Any]:
    return {
        "Amount": quantize(line.tax_amount, currency),
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate_ref},
            "PercentBased": False,
            "NetAmountTaxable": quantize(line.net, currency),
        },
    }


def _configured(settings: Mapping[str, str]) -> CompanyTax | None:
    model = settings.get("model", "auto") or "auto"
    if model == "auto":
        return None
    if model not in MODELS:
        raise ConfigurationError(
            f"QBO mapping [invoice.tax] model = {model!r}: use auto, {', '.join(MODELS)}"
        )
    return CompanyTax(model)


def _get(raw: Mapping[str, Any], *keys: str) -> Any:
    node: Any = raw
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node
