"""Settings of the signed-webhook source: which keys it trusts and what it names records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncledger.adapters.sources.registry import SourceConnection
from syncledger.adapters.webhooks.platform import SOURCE, TEST_SECRET
from syncledger.adapters.webhooks.sign import new_key_pair, new_secret, sign
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import WebhookReceiver, WebhookRefused, WebhookRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RECORD = {"id": "c1", "name": "A Ltd", "currency": "USD", "updated_at": "2026-01-01T00:00:00Z"}
BODY = json.dumps({"type": "customer.created", "timestamp": "x", "data": RECORD}).encode()


def receiver(tmp_path: Path, **credentials: str) -> WebhookReceiver:
    reader = SOURCE.connect(SourceConnection(tmp_path / "t.json", credentials=credentials))
    assert isinstance(reader, WebhookReceiver)
    return reader


def post(key: str) -> WebhookRequest:
    return WebhookRequest(
        "POST", "https://x/webhooks/webhooks", sign(key, "m1", NOW, BODY), BODY, NOW
    )


def test_the_platform_says_what_it_is() -> None:
    assert (SOURCE.id, SOURCE.title, SOURCE.sandbox_url) == ("webhooks", "Signed webhooks", None)
    assert SOURCE.credential_names == ("secret", "secrets", "public_keys", "system")


async def test_without_settings_it_trusts_the_test_secret_and_reads_nothing(tmp_path: Path) -> None:
    reader = SOURCE.connect(SourceConnection(tmp_path / "t.json"))
    delivery = reader.verify(post(TEST_SECRET))
    assert delivery.delivery_id == "m1"
    assert [(i.system, i.kind, i.id, i.fields["name"]) for i in delivery.items] == [
        ("webhooks", "customer", "c1", "A Ltd")
    ]
    changes = await reader.read_changes(None)
    assert (changes.items, changes.cursor) == ((), None)


def test_a_configured_secret_replaces_the_test_secret(tmp_path: Path) -> None:
    secret = new_secret()
    hook = receiver(tmp_path, secret=secret, system="pos")
    assert [i.system for i in hook.verify(post(secret)).items] == ["pos"]
    with pytest.raises(WebhookRefused) as refused:
        hook.verify(post(TEST_SECRET))
    assert refused.value.reason == "bad_signature"


def test_several_secrets_and_public_keys_are_all_trusted(tmp_path: Path) -> None:
    old, new = new_secret(), new_secret()
    private, public = new_key_pair()
    hook = receiver(tmp_path, secrets=f"{old}, {new}", public_keys=public)
    for key in (old, new, private):
        assert hook.verify(post(key)).delivery_id == "m1"


@pytest.mark.parametrize(
    "credentials",
    [
        {"system": "pos"},
        {"secret": "whsec_short"},
        {"public_keys": "whpk_AAAA"},
        {"secret": new_secret(), "system": "A/B"},
    ],
)
def test_settings_without_a_usable_key_are_refused(
    tmp_path: Path, credentials: dict[str, str]
) -> None:
    with pytest.raises(ConfigurationError):
        receiver(tmp_path, **credentials)
