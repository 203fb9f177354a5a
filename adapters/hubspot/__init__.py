"""HubSpot CRM as a source (docs/sources/hubspot.md): companies and contacts as
customers, deals in the closed stage as invoices, webhooks v3, payment status written
back onto the deal. ``platform.SOURCE`` is the registry's entry."""
