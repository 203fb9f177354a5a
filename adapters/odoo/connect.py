"""How Odoo is connected: the server's address, the database, the login and an API key,
checked with one read.

What ``syncledger connect odoo`` asks for (the platform's settings, ``platform.py``):
the API key (Odoo: Preferences > Account Security > New API Key; asked with hidden input
or read from ``SYNCLEDGER_ODOO_API_KEY``), the database (needed when the server hosts
several: sent as ``X-Odoo-Database`` over JSON-2) and the login (needed only with the
XML-RPC transport of Odoo 17.0 and 18). The address is ``SYNCLEDGER_LEDGER_URL``.

The check is a read the adapter already makes: a ``search_read`` of ``res.partner`` by a
reference no partner has; a 401 is a wrong, expired or revoked key. A key rotated earlier
by ``OdooLedger.rotate_api_key`` belongs to the previous connection and is dropped when a
new key is connected (``core/connect_credentials.py``). Odoo keys last at most three
months (``ledger.py``); the key's own expiry is not readable without an admin call, so
none is kept.
"""

from __future__ import annotations

from syncledger.adapters.odoo.sandbox import server as sandbox
from syncledger.core.connect_credentials import CredentialField, CredentialLedger

CONNECT = CredentialLedger(
    id="odoo",
    title="Odoo",
    tenant_field="database",
    tenant_word="database",
    fields=(
        CredentialField("database", "database (--database; when the server hosts several)", False),
        CredentialField("login", "login (--login; the XML-RPC transport only)", False),
        CredentialField("api_key", "API key", secret=True),
    ),
    sandbox_values=(
        ("database", sandbox.DEFAULT_DATABASE),
        ("login", sandbox.DEFAULT_LOGIN),
        ("api_key", sandbox.DEFAULT_API_KEY),
    ),
    url_hint="https://<your Odoo's address>",
    replaces_token_file=True,
)
