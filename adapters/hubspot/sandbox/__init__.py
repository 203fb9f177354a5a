"""HubSpot's sandbox: an in-memory CRM answering the 2026-03 endpoints the adapter uses
(facts and citations in :mod:`syncledger.adapters.hubspot.sandbox.server`)."""
