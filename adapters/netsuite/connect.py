"""How NetSuite is connected: a token-based authentication (TBA) access token, checked
with one read.

What ``syncledger connect netsuite`` asks for (Oracle help, "Token-based
Authentication", as ``auth.py`` signs with them): the account id (``1234567`` or
``1234567_SB1`` for a sandbox account: the realm of every signature), the integration
record's consumer key and secret, and the access token's id and secret. The secrets are
asked with hidden input (or read from ``SYNCLEDGER_NETSUITE_CONSUMER_SECRET`` /
``_TOKEN_SECRET``), never echoed, logged or put in an event.

The check is a read the adapter already makes: looking a customer up by an external id
no record has (``GET /record/v1/customer/eid:…``): a 404 is the good answer, a refused
login (``INVALID_LOGIN``) is a wrong or revoked token. TBA tokens do not expire (see
``auth.py``), so no lifetime is kept.
"""

from __future__ import annotations

from syncledger.adapters.netsuite.sandbox import server as sandbox
from syncledger.core.connect_credentials import CredentialField, CredentialLedger

CONNECT = CredentialLedger(
    id="netsuite",
    title="NetSuite",
    tenant_field="account_id",
    tenant_word="account",
    fields=(
        CredentialField("account_id", "account id (e.g. 1234567 or 1234567_SB1)"),
        CredentialField("consumer_key", "integration consumer key"),
        CredentialField("consumer_secret", "integration consumer secret", secret=True),
        CredentialField("token_id", "access token id"),
        CredentialField("token_secret", "access token secret", secret=True),
    ),
    sandbox_values=(
        ("account_id", sandbox.DEFAULT_ACCOUNT_ID),
        ("consumer_key", sandbox.DEFAULT_CONSUMER_KEY),
        ("consumer_secret", sandbox.DEFAULT_CONSUMER_SECRET),
        ("token_id", sandbox.DEFAULT_TOKEN_ID),
        ("token_secret", sandbox.DEFAULT_TOKEN_SECRET),
    ),
    url_hint="https://<account id, lower case, - for _>.suitetalk.api.netsuite.com",
)
