"""The part of Jobber's GraphQL schema the sandbox answers, as SDL for graphql-core.

Only types and fields the adapter reads or writes, each from (abbreviations below):

* [DM] GitHub file id 67521459086, "Domain Model Reference — Jobber", field names verified
  by ``__type`` introspection 2026-05-19: Client, Property, Invoice, InvoiceAmounts,
  Payment, the Relay connection shape (``nodes``, ``pageInfo{endCursor,hasNextPage}``,
  ``totalCount``), scalars ``EncodedId``, ``ISO8601DateTime``, ``ISO8601Date``;
* [MP] GitHub file id 67520998203, "Mutation Patterns — Jobber": ``invoiceCreatePaymentRecord``
  (input ``invoiceId, amount, date, paymentType, note``; payload ``paymentRecord``,
  ``userErrors{message,path}``), emails ``{address, primary}``, phones ``{number, primary}``;
* [OT] GitHub file id 61006938799, "Jobber GraphQL — Object Types Reference" (an
  introspection dump): ``Invoice.invoiceStatus: InvoiceStatusTypeEnum!``,
  ``InvoiceAmounts{subtotal, discountAmount, taxAmount, total, depositAmount,
  paymentsTotal, invoiceBalance}`` (all ``Float!``), ``InvoiceLineItem{name, description,
  quantity, unitPrice, totalPrice, taxable: Boolean!}``; the enum's values ``draft,
  awaiting_payment, paid, past_due, bad_debt, sent_not_due``: GitHub file id 61308638779
  (the same dump's enums);
* [PA] GitHub file id 61006938799 (the same dump): ``Property.address: PropertyAddress!``
  with ``coordinates: GeoPoint`` ("if it has been geo-coded") and ``geoStatus: GeoStatus``,
  ``GeoPoint{latitude: Float!, longitude: Float!}``; ``GeoStatus`` values: GitHub file id
  61308638779; the root ``property(id: EncodedId!): Property``: GitHub file id 61328573822
  (the same dump's queries);
* [FL] GitHub file ids 52909240044 and 71021070355 (two apps reading live Jobber):
  ``clients(filter: {updatedAt: {after: ...}})`` is accepted, ``gte`` is refused.

Unverified (say so in docs/sources/jobber.md): the ``updatedAt`` filter on ``invoices`` and
``payments`` (assumed to take the clients' shape), a top-level ``payments`` connection
(one source lists it, another says payments are read through invoices), ``updatedAt``
on Invoice and Payment, ``Payment.client``/``Payment.invoice``, ``Invoice.paymentRecords``,
the root ``client(id:)``, ``invoice(id:)``, ``payment(id:)`` lookups, and the names of the
filter input types (the adapter writes filters inline, so their names never travel).
"""

from __future__ import annotations

SDL = """
scalar EncodedId
scalar ISO8601DateTime
scalar ISO8601Date

type PageInfo { endCursor: String hasNextPage: Boolean! }

input DateTimeRange { after: ISO8601DateTime before: ISO8601DateTime }
input UpdatedFilter { updatedAt: DateTimeRange }

type ClientAddress {
  street1: String street2: String city: String province: String
  postalCode: String country: String
}
type Email { address: String primary: Boolean }
type Phone { number: String primary: Boolean }

type GeoPoint { latitude: Float! longitude: Float! }
enum GeoStatus { NOT_STARTED PROCESSING FOUND NOT_FOUND MANUAL_OVERRIDE FOUND_ALTERNATE }
type PropertyAddress {
  street1: String street2: String city: String province: String
  postalCode: String country: String
  coordinates: GeoPoint geoStatus: GeoStatus
}
type Property { id: EncodedId! name: String address: PropertyAddress! client: Client }
type PropertyConnection { nodes: [Property!]! pageInfo: PageInfo! totalCount: Int }

type Client {
  id: EncodedId!
  firstName: String lastName: String companyName: String
  isCompany: Boolean isArchived: Boolean
  billingAddress: ClientAddress
  emails: [Email!]! phones: [Phone!]!
  clientProperties(first: Int, after: String): PropertyConnection!
  createdAt: ISO8601DateTime updatedAt: ISO8601DateTime
}
type ClientConnection { nodes: [Client!]! pageInfo: PageInfo! totalCount: Int }

enum InvoiceStatusTypeEnum {
  draft awaiting_payment paid past_due bad_debt sent_not_due
}
type InvoiceAmounts {
  subtotal: Float! discountAmount: Float! taxAmount: Float! total: Float!
  depositAmount: Float! paymentsTotal: Float! invoiceBalance: Float!
}
type InvoiceLineItem {
  name: String! description: String! quantity: Float! unitPrice: Float! totalPrice: Float!
  taxable: Boolean!
}
type InvoiceLineItemConnection { nodes: [InvoiceLineItem!]! pageInfo: PageInfo! totalCount: Int }

type PaymentRecord { id: EncodedId! amount: Float date: ISO8601Date note: String }
type PaymentRecordConnection { nodes: [PaymentRecord!]! pageInfo: PageInfo! totalCount: Int }

type Invoice {
  id: EncodedId!
  invoiceNumber: String invoiceStatus: InvoiceStatusTypeEnum!
  client: Client
  issuedDate: ISO8601DateTime dueDate: ISO8601DateTime
  amounts: InvoiceAmounts
  lineItems(first: Int, after: String): InvoiceLineItemConnection!
  paymentRecords(first: Int, after: String): PaymentRecordConnection!
  createdAt: ISO8601DateTime updatedAt: ISO8601DateTime
}
type InvoiceConnection { nodes: [Invoice!]! pageInfo: PageInfo! totalCount: Int }

type Payment {
  id: EncodedId!
  amount: Float currency: String date: ISO8601Date invoiceNumber: String
  client: Client invoice: Invoice
  updatedAt: ISO8601DateTime
}
type PaymentConnection { nodes: [Payment!]! pageInfo: PageInfo! totalCount: Int }

type Query {
  clients(first: Int, after: String, filter: UpdatedFilter): ClientConnection!
  invoices(first: Int, after: String, filter: UpdatedFilter): InvoiceConnection!
  payments(first: Int, after: String, filter: UpdatedFilter): PaymentConnection!
  client(id: EncodedId!): Client
  invoice(id: EncodedId!): Invoice
  payment(id: EncodedId!): Payment
  property(id: EncodedId!): Property
}

type UserError { message: String! path: [String!]! }

input InvoiceCreatePaymentRecordInput {
  invoiceId: EncodedId! amount: Float! date: ISO8601Date paymentType: String note: String
}
type InvoiceCreatePaymentRecordPayload { paymentRecord: PaymentRecord userErrors: [UserError!]! }

type Mutation {
  invoiceCreatePaymentRecord(
    input: InvoiceCreatePaymentRecordInput!
  ): InvoiceCreatePaymentRecordPayload!
}
"""
