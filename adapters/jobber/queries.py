"""The GraphQL documents the source sends (fields: mapping.py, amounts.py; filter: cursor.py).

Filters are written inline so the names of Jobber's filter input types never matter;
``clients(filter: {updatedAt: {after: ...}})`` is the accepted shape (GitHub file ids
52909240044, 71021070355); ``invoices`` and ``payments`` are assumed to take the same
(unverified: docs/sources/jobber.md). Page sizes keep one read well under the documented
10,000-point bucket (a connection costs ``first`` × its fields).
"""

from __future__ import annotations

PAGE = 25
LINES = 20
PROPERTIES = 10
_ADDRESS = "street1 street2 city province postalCode country"
#: a property's address with its map point (``PropertyAddress.coordinates: GeoPoint``,
#: GitHub file id 61006938799; locations.py)
_PLACE = f"{_ADDRESS} coordinates {{ latitude longitude }}"
CLIENT = (
    "id firstName lastName companyName isCompany isArchived updatedAt "
    f"billingAddress {{ {_ADDRESS} }} emails {{ address primary }} phones {{ number primary }} "
    f"clientProperties(first: {PROPERTIES}) {{ nodes {{ id name address {{ {_PLACE} }} }} "
    "pageInfo { hasNextPage } }"
)
#: the invoice amounts (``InvoiceAmounts``) and line item fields (``InvoiceLineItem``) a
#: read needs: names in amounts.py's docstring (every field adds to the query's cost)
AMOUNTS = "amounts { discountAmount taxAmount total }"
INVOICE = (
    "id invoiceNumber invoiceStatus issuedDate dueDate updatedAt client { id } "
    f"{AMOUNTS} "
    f"lineItems(first: {LINES}) {{ nodes {{ name description quantity unitPrice taxable }} "
    "pageInfo { hasNextPage } }"
)
PAYMENT = "id amount currency date updatedAt client { id } invoice { id }"
FIELDS = {"clients": CLIENT, "invoices": INVOICE, "payments": PAYMENT}
SINGULAR = {"customer": "client", "invoice": "invoice", "payment": "payment"}
OF_KIND = {"customer": CLIENT, "invoice": INVOICE, "payment": PAYMENT}
KIND_OF = {"clients": "customer", "invoices": "invoice", "payments": "payment"}


def listing(plural: str, *, filtered: bool) -> str:
    flt = ", filter: { updatedAt: { after: $since } }" if filtered else ""
    since = ", $since: ISO8601DateTime" if filtered else ""
    return (
        f"query List_{plural}($first: Int, $after: String{since}) {{ "
        f"{plural}(first: $first, after: $after{flt}) {{ nodes {{ {FIELDS[plural]} }} "
        "pageInfo { endCursor hasNextPage } } }"
    )


#: the client owning a property, read whole: a ``PROPERTY_*`` webhook names only the
#: property (root ``property(id: EncodedId!): Property``, GitHub file id 61328573822;
#: ``Property.client: Client``, GitHub file id 61006938799)
PROPERTY_OWNER = (
    f"query Property_owner($id: EncodedId!) {{ property(id: $id) {{ id client {{ {CLIENT} }} }} }}"
)


def by_id(kind: str) -> str:
    name = SINGULAR[kind]
    return f"query Get_{name}($id: EncodedId!) {{ {name}(id: $id) {{ {OF_KIND[kind]} }} }}"


INVOICE_PAID = (
    "query Invoice_paid($id: EncodedId!) { invoice(id: $id) { id "
    "amounts { total paymentsTotal invoiceBalance } } }"
)
RECORD_PAYMENT = (
    "mutation Record_payment($input: InvoiceCreatePaymentRecordInput!) { "
    "invoiceCreatePaymentRecord(input: $input) { paymentRecord { id amount } "
    "userErrors { message path } } }"
)
