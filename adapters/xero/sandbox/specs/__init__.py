"""Xero's published OpenAPI spec the sandbox answers by (package data, with its licence)."""
