"""The QBO sandbox company's sales tax: which of QuickBooks Online's tax models it runs,
what its ``Preferences`` and ``CompanyInfo`` say about that, and the tax a sales document
(invoice, credit memo) ends up holding.

The model is chosen when the sandbox is made (``CompanyTax``):

- **US with automated sales tax (AST)**, ``ast_rate`` set. Intuit: "US QuickBooks Online
  companies created after November 10, 2017 manage sales tax calculations via an automated
  sales tax (AST) engine"; an app tells by ``Preferences.TaxPrefs.PartnerTaxEnabled``
  (developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-us-locales);
  "If true, automated sales tax is enabled for the company and sales tax is set up ... If
  not present in response payload, the company is not enabled for automated sales tax"
  (Intuit's AST FAQ as quoted in ruckus/quickbooks-ruby#443). The engine assigns the tax
  code and computes the tax itself (developer.intuit.com/hub/blog/2017/12/11/
  using-quickbooks-online-api-automated-sales-tax): the sandbox ignores the
  ``TxnTaxDetail`` ``TaxLine`` and ``TotalTax`` sent (it models a company whose user did
  not allow apps to override AST rates: Finance.xsd, TxnTaxDetail.UseAutomatedSalesTax,
  "AllowPartnerTaxOverride") and charges ``ast_rate`` on the lines marked taxable
  (``TaxCodeRef`` ``TAX``; ``NON`` or none: not taxed), rounded once to the cent for the
  document, as one ``TaxLine`` (``NetAmountTaxable`` the taxable amount). The discount
  comes off after the tax unless ``ApplyTaxAfterDiscount`` is true (Finance.xsd,
  Invoice.ApplyTaxAfterDiscount: "If false or null, calculate the sales tax first, and then
  apply the discount"), in which case the taxable amount is cut by the discount's share.
  Customers get ``DefaultTaxCodeRef`` set to the AST tax code ("Customer.DefaultTaxCodeRef
  populated with company's default tax code as defined by AST", the blog above).
- **US without AST** (a company from before AST, not migrated): ``TaxPrefs`` has no
  ``PartnerTaxEnabled``; the ``TxnTaxDetail`` sent is what the document holds.
- **Outside the US** (``country`` not US): the ``TxnTaxDetail`` sent is what the document
  holds ("For international versions of QuickBooks, the TxnTaxDetail should provide the
  details of all taxes ... you may supply it when adding a transaction", Finance.xsd,
  TxnTaxDetail).

In a US company (either model) a sales line's ``TaxCodeRef`` is one of the pseudo codes
``TAX`` / ``NON``. In every model, the body's tax fields keep to Finance.xsd (its schema is
Apache-2.0, but it is not copied here: the rules are in ``TXN_TAX_DETAIL_FIELDS`` and
``GLOBAL_TAX_CALCULATION``; the refusals, with their sources, in ``refusals.py``). The XSDs
cited are in intuit/QuickBooks-V3-Java-SDK, ``ipp-v3-java-data/src/main/xsd/``.

Not modelled: tax agencies, TaxCode / TaxRate entities and their queries, jurisdictions by
address (one rate for every document), shipping tax, tax-inclusive amounts, non-US tax
codes on lines, AST overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.adapters.qbo.sandbox.errors import refuse
from syncledger.adapters.qbo.sandbox.rules import amount, cents, explicit_tax, path

US = "US"
US_LINE_CODES = ("TAX", "NON")
TAXABLE = "TAX"
#: the tax code and rate the sandbox's AST engine assigns (ids of the sandbox company)
AST_TAX_CODE = {"value": "2", "name": "Automated Sales Tax"}
AST_TAX_RATE = {"value": "3", "name": "Automated Sales Tax rate"}
SALES_LINE = "SalesItemLineDetail"
#: Finance.xsd, complexType TxnTaxDetail: its elements, in schema order
TXN_TAX_DETAIL_FIELDS = (
    "DefaultTaxCodeRef",
    "TxnTaxCodeRef",
    "TotalTax",
    "TaxReviewStatus",
    "TaxLine",
    "UseAutomatedSalesTax",
)
#: Finance.xsd, simpleType GlobalTaxCalculationEnum
GLOBAL_TAX_CALCULATION = ("TaxInclusive", "TaxExcluded", "NotApplicable")


@dataclass(frozen=True, slots=True)
class CompanyTax:
    """The sandbox company's country and, for a US company on AST, the rate its engine
    charges (None: no AST)."""

    country: str = US
    ast_rate: Decimal | None = None

    def __post_init__(self) -> None:
        if self.ast_rate is not None and self.country != US:
            raise ValueError("automated sales tax is a US model: give ast_rate only for US")

    @property
    def automated(self) -> bool:
        return self.ast_rate is not None

    def preferences(self, home_currency: str) -> dict[str, Any]:
        """The company's ``Preferences`` entity, as far as tax and currency go."""
        tax: dict[str, Any] = {"UsingSalesTax": True}
        if self.automated:
            tax |= {"PartnerTaxEnabled": True, "TaxGroupCodeRef": dict(AST_TAX_CODE)}
        currency = {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": home_currency}}
        return {"Id": "1", "SyncToken": "0", "TaxPrefs": tax, "CurrencyPrefs": currency}

    def company_info(self, realm_id: str) -> dict[str, Any]:
        """The company's ``CompanyInfo`` entity (``Country`` tells US from global tax)."""
        return {
            "Id": "1",
            "SyncToken": "0",
            "CompanyName": f"Sandbox Company {realm_id}",
            "Country": self.country,
        }

    def customer(self, customer: dict[str, Any]) -> dict[str, Any]:
        """A customer as stored: under AST, with the AST engine's default tax code."""
        if not self.automated:
            return customer
        return customer | {"DefaultTaxCodeRef": dict(AST_TAX_CODE)}

    def tax(
        self, document: dict[str, Any], lines: list[dict[str, Any]], discount: Decimal
    ) -> Decimal:
        """The tax the document holds (a ``qbo_rules.TaxRule``); under AST its
        ``TxnTaxDetail`` is replaced by what the engine computed."""
        check_tax_fields(document)
        if self.country == US:
            _check_us_line_codes(lines)
        if not self.automated:
            return explicit_tax(document, lines, discount)
        return self._computed(document, lines, discount)

    def _computed(
        self, document: dict[str, Any], lines: list[dict[str, Any]], discount: Decimal
    ) -> Decimal:
        assert self.ast_rate is not None
        taxable = sum(
            (amount(ln["Amount"], "Line.Amount") for ln in lines if _taxed(ln)), Decimal(0)
        )
        base = _after_discount(document, lines, taxable, discount)
        total = cents(base * self.ast_rate)
        document["TxnTaxDetail"] = {
            "TxnTaxCodeRef": dict(AST_TAX_CODE),
            "TotalTax": total,
            "TaxLine": [_tax_line(total, base, self.ast_rate)] if taxable else [],
        }
        return total


def check_tax_fields(document: dict[str, Any]) -> None:
    """The document's tax fields keep to Finance.xsd (see the module docstring)."""
    detail = document.get("TxnTaxDetail")
    if detail is not None and not isinstance(detail, dict):
        raise refuse("tax.detail_not_object")
    unknown = sorted(set(detail or {}) - set(TXN_TAX_DETAIL_FIELDS))
    if unknown:
        raise refuse("tax.detail_unknown_property", name=unknown[0])
    mode = document.get("GlobalTaxCalculation")
    if mode is not None and mode not in GLOBAL_TAX_CALCULATION:
        raise refuse("tax.calculation_invalid", value=mode)


def _check_us_line_codes(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        code = path(line, f"{SALES_LINE}.TaxCodeRef.value")
        if code is not None and code not in US_LINE_CODES:
            raise refuse("tax.us_line_code_invalid", code=code)


def _taxed(line: dict[str, Any]) -> bool:
    return bool(path(line, f"{SALES_LINE}.TaxCodeRef.value") == TAXABLE)


def _after_discount(
    document: dict[str, Any], lines: list[dict[str, Any]], taxable: Decimal, discount: Decimal
) -> Decimal:
    """The taxable amount, less its share of the discount when the discount is applied
    before tax (``ApplyTaxAfterDiscount`` true)."""
    flag = document.get("ApplyTaxAfterDiscount")
    if flag is not None and not isinstance(flag, bool):
        raise refuse("tax.after_discount_not_bool")
    if not flag or not discount or not taxable:
        return taxable
    subtotal = sum((amount(ln["Amount"], "Line.Amount") for ln in lines), Decimal(0))
    return cents(taxable - discount * taxable / subtotal)


def _tax_line(total: Decimal, base: Decimal, rate: Decimal) -> dict[str, Any]:
    return {
        "Amount": total,
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": dict(AST_TAX_RATE),
            "PercentBased": True,
            "TaxPercent": rate * 100,
            "NetAmountTaxable": base,
        },
    }
