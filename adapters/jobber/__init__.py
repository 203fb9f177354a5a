"""Jobber (field-service, GraphQL only) as a source: clients, invoices and payments."""
