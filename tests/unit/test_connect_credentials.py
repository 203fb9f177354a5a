"""The pieces of ``syncledger connect`` for the token ledgers: what is given by flag wins
over a variable and only a missing required field is asked (secrets hidden); what is
stored is 0600 and replaces Odoo's key rotated under earlier credentials; opening the
ledger prefers a variable over the stored file; ``connections`` tells never, refused at
the last check and connected; ``syncledger sandbox`` prints the command."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from syncledger.adapters.netsuite.connect import CONNECT as NETSUITE
from syncledger.adapters.netsuite.sandbox import server as netsuite_sandbox
from syncledger.adapters.odoo.connect import CONNECT as ODOO
from syncledger.core.connect import connection_statuses, sandbox_connect_lines
from syncledger.core.connect_credentials import (
    CredentialField,
    credentials_file,
    gather,
    load_credentials,
    note_refusal,
    store,
)
from syncledger.core.errors import ConfigurationError
from syncledger.core.ledgers import ledger_credentials, stored_tenant
from syncledger.core.settings import Settings

URL = "http://127.0.0.1:9"


def test_flags_win_over_variables_and_only_missing_required_fields_are_asked() -> None:
    asked: list[CredentialField] = []

    def ask(wanted: CredentialField) -> str:
        asked.append(wanted)
        return f"typed-{wanted.name}"

    values = gather(
        NETSUITE,
        {"account_id": "123_SB1", "consumer_key": "ck"},
        {"consumer_key": "from-env", "token_id": "tid", "token_secret": "ts"},
        ask,
    )
    assert values == {
        "account_id": "123_SB1",
        "consumer_key": "ck",
        "consumer_secret": "typed-consumer_secret",
        "token_id": "tid",
        "token_secret": "ts",
    }
    assert [(f.name, f.secret) for f in asked] == [("consumer_secret", True)]
    assert gather(ODOO, {}, {"api_key": "k"}, ask) == {"api_key": "k"}  # optional: not asked
    with pytest.raises(ConfigurationError, match="API key"):
        gather(ODOO, {}, {}, lambda _wanted: "  ")


def test_what_is_stored_is_private_and_replaces_a_key_rotated_before(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens" / "odoo.json"
    tokens.parent.mkdir()
    tokens.write_text('{"access_token": "rotated-old", "refresh_token": "", "expires_at": "0"}')
    note_refusal(tokens, "401")
    record = store(ODOO, tokens, {"api_key": "k-new", "database": "books"}, URL)
    assert record.tenant == "books" and record.ledger_url == URL
    saved = credentials_file(tokens)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert load_credentials(tokens) == {"api_key": "k-new", "database": "books"}
    assert not tokens.exists()  # the old rotated key would win over the new one
    assert "k-new" not in (tmp_path / "tokens" / "odoo.connection.json").read_text()
    assert {s.ledger: s.status for s in connection_statuses(Settings(data_dir=tmp_path))}[
        "odoo"
    ] == "connected"


def test_opening_prefers_a_variable_then_the_stored_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = tmp_path / "netsuite.json"
    store(NETSUITE, tokens, {"account_id": "123", "token_secret": "stored"}, URL)
    names = ("account_id", "token_secret", "token_id")
    assert ledger_credentials("netsuite", names, tokens) == {
        "account_id": "123",
        "token_secret": "stored",
    }
    monkeypatch.setenv("SYNCLEDGER_NETSUITE_TOKEN_SECRET", "from-env")
    assert ledger_credentials("netsuite", names, tokens)["token_secret"] == "from-env"
    assert stored_tenant(tokens) is None  # the credentials carry it (a variable may win)
    credentials_file(tokens).write_text("not json")
    with pytest.raises(ConfigurationError, match="syncledger connect netsuite"):
        ledger_credentials("netsuite", names, tokens)


def test_connections_tell_never_refused_and_connected(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tokens = tmp_path / "tokens" / "netsuite.json"

    def row() -> tuple[str, str | None, str]:
        found = {s.ledger: s for s in connection_statuses(settings)}["netsuite"]
        return found.status, found.refused, found.reconnect

    assert row() == ("never", None, "syncledger connect netsuite")
    note_refusal(tokens, "INVALID_LOGIN")
    assert row() == ("refused", "INVALID_LOGIN", "syncledger connect netsuite")
    store(NETSUITE, tokens, {"account_id": "123"}, URL)
    assert row()[0] == "connected"
    assert (
        json.loads((tmp_path / "tokens" / "netsuite.connection.json").read_text())["tenant"]
        == "123"
    )


def test_the_sandbox_printout_says_how_to_connect_a_token_ledger() -> None:
    printed = "\n".join(sandbox_connect_lines("netsuite", 8765))
    assert netsuite_sandbox.DEFAULT_TOKEN_SECRET in printed  # a public sandbox credential
    assert (
        "syncledger connect netsuite --account-id 1234567_SB1 --consumer-key "
        "sandbox-consumer-key --token-id sandbox-token-id"
    ) in printed
    assert "SYNCLEDGER_NETSUITE_TOKEN_SECRET=sandbox-token-secret" in printed
    assert "--database sandbox --login admin" in "\n".join(sandbox_connect_lines("odoo", 1))
    assert "registered redirect URI" in "\n".join(sandbox_connect_lines("freshbooks", 1))
