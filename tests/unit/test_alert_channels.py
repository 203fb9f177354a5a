"""Alert channels (adapters/alerts/) against a real HTTP receiver on 127.0.0.1.

The receiver is an asyncio server speaking HTTP/1.1: it records every request and answers
what a test tells it to (a status, headers, a body, or nothing at all). Standard Webhooks
signatures are checked with the reference library ``standardwebhooks``, independently of
our own signing code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.alerts import slack, teams
from syncledger.adapters.alerts.outcome import excerpt, parse_retry_after, refusal, url_secrets
from syncledger.adapters.alerts.registry import open_channel, open_channels
from syncledger.adapters.alerts.webhook import SignedWebhookChannel, signature, signing_key
from syncledger.core.alert_config import AlertChannelConfig
from syncledger.core.alert_ports import (
    AlertChannel,
    AlertField,
    AlertItem,
    AlertMessage,
    AlertNotDelivered,
)
from syncledger.core.embedded import free_port
from syncledger.core.errors import ConfigurationError

TOKEN = "XyZsecretTOKEN0123456789"  # stands for the token in a Slack URL
SIG = "sigSECRETvalue987654321"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
KEY = signing_key(SECRET)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- receiver


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # accept the request, never answer


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers as scripted."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.received: list[Received] = []
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, path: str = f"/services/T0001/B0002/{TOKEN}") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _read(self, reader: asyncio.StreamReader) -> Received:
        method, target, _ = (await reader.readline()).decode().split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Received(method, target, headers, body)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.received.append(await self._read(reader))
            answer = self.answers.pop(0) if self.answers else Answer()
            if answer.hang:
                await self._release.wait()
                return
            extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
            head = (
                f"HTTP/1.1 {answer.status} Answer\r\ncontent-length: {len(answer.body)}\r\n"
                f"connection: close\r\n{extra}\r\n"
            )
            writer.write(head.encode() + answer.body)
            await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """Environment variables set for one test and removed after it."""
    values: dict[str, str] = {}
    yield values
    for name in values:
        os.environ.pop(name, None)


def setenv(env: dict[str, str], name: str, value: str) -> None:
    env[name] = value
    os.environ[name] = value


# --------------------------------------------------------------------------- messages


def alert(**overrides: Any) -> AlertMessage:
    values: dict[str, Any] = {
        "alert_id": "al_01HZX3",
        "event_type": "mismatch.detected",
        "title": "Invoice INV-1042 differs in qbo",
        "severity": "critical",
        "occurred_at": NOW,
        "fields": (
            AlertField("Ledger", "qbo"),
            AlertField("Expected", "125.00 USD"),
            AlertField("Found", "120.00 USD"),
        ),
        "data": {"entity": "acme", "amount": Decimal("125.00"), "currency": "USD"},
        "link": "https://console.example.test/mismatches/42",
    }
    values.update(overrides)
    return AlertMessage(**values)


def digest(count: int) -> AlertMessage:
    items = tuple(
        AlertItem(f"Invoice INV-{n} differs", (AlertField("Open since", "3h"),))
        for n in range(count)
    )
    return alert(event_type="mismatch.digest", title=f"{count} open mismatches", items=items)


async def failure(channel: AlertChannel, message: AlertMessage | None = None) -> AlertNotDelivered:
    with pytest.raises(AlertNotDelivered) as caught:
        await channel.deliver(message or alert())
    return caught.value


# --------------------------------------------------------------------------- Slack


async def slack_channel(receiver: Receiver, timeout_s: float = 5.0) -> slack.SlackChannel:
    return slack.SlackChannel("finance-slack", receiver.url(), timeout_s)


async def test_slack_posts_block_kit_with_fallback_text_and_button(receiver: Receiver) -> None:
    channel = await slack_channel(receiver)
    await channel.deliver(alert())
    await channel.aclose()

    (request,) = receiver.received
    assert request.method == "POST"
    assert request.target == f"/services/T0001/B0002/{TOKEN}"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["text"] == "Invoice INV-1042 differs in qbo"
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "context", "actions"]
    header, fields, context, actions = body["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Invoice INV-1042 differs in qbo"}
    assert [f["type"] for f in fields["fields"]] == ["mrkdwn"] * 3
    assert fields["fields"][1]["text"] == "*Expected*\n125.00 USD"
    assert "Critical" in context["elements"][0]["text"]
    assert "2026-03-01 12:00 UTC" in context["elements"][0]["text"]
    button = actions["elements"][0]
    assert button["type"] == "button"
    assert button["url"] == "https://console.example.test/mismatches/42"


async def test_slack_escapes_so_nothing_pings(receiver: Receiver) -> None:
    channel = await slack_channel(receiver)
    message = alert(
        title="<!channel> R&D <b>",
        fields=(AlertField("<@U123>", "a < b & c > d <!here>"),),
        items=(AlertItem("<!everyone>", (AlertField("x", "<https://evil.test|click>"),)),),
    )
    await channel.deliver(message)
    await channel.aclose()

    raw = receiver.received[0].body.decode()
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://"):
        assert ping not in raw
    body = receiver.received[0].json()
    assert body["text"] == "&lt;!channel&gt; R&amp;D &lt;b&gt;"
    assert "a &lt; b &amp; c &gt; d &lt;!here&gt;" in body["blocks"][1]["fields"][0]["text"]


async def test_slack_digest_of_200_stays_under_50_blocks(receiver: Receiver) -> None:
    channel = await slack_channel(receiver)
    await channel.deliver(digest(200))
    await channel.aclose()

    blocks = receiver.received[0].json()["blocks"]
    assert len(blocks) <= 50
    items = [b for b in blocks if b["type"] == "section" and "text" in b]
    more = [b for b in blocks if b["type"] == "context" and "more" in b["elements"][0]["text"]]
    (note,) = more
    left_out = int(note["elements"][0]["text"].removeprefix("… and ").removesuffix(" more"))
    assert len(items) + left_out == 200
    assert items[0]["text"]["text"].startswith("*Invoice INV-0 differs*")
    assert blocks[-1]["type"] == "actions"


def test_slack_keeps_every_text_within_its_limit() -> None:
    long = "&" * 5000
    message = alert(
        title=long,
        fields=tuple(AlertField(f"F{n}", long) for n in range(60)),
        items=(AlertItem(long, (AlertField("x", long),)),),
    )
    body = slack.payload(message)
    header = body["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…") and "&amp;…" in header
    sections = [b for b in body["blocks"] if b["type"] == "section"]
    for section in sections:
        assert len(section.get("fields", [])) <= 10
        for text in [section.get("text", {}).get("text", "")] + [
            f["text"] for f in section.get("fields", [])
        ]:
            assert len(text) <= 2800
            assert not text.rstrip("…").endswith(("&", "&a", "&am", "&amp"[:-1]))
    assert len(body["blocks"]) <= 50
    assert "and 21 more fields" in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize(
    ("status", "code", "gone", "permanent", "retry_after"),
    [
        (404, "no_service", True, False, None),
        (404, "channel_not_found", True, False, None),
        (410, "channel_is_archived", True, False, None),
        (400, "invalid_payload", False, True, None),
        (403, "action_prohibited", False, True, None),
        (404, "user_not_found", False, True, None),
        (400, "rollup_error", False, True, None),
        (429, "rate_limited", False, False, 7.0),
        (500, "internal_error", False, False, None),
    ],
)
async def test_slack_error_strings(
    receiver: Receiver,
    status: int,
    code: str,
    gone: bool,
    permanent: bool,
    retry_after: float | None,
) -> None:
    headers = {"Retry-After": "7"} if retry_after else {}
    receiver.answers.append(Answer(status, code.encode(), headers))
    channel = await slack_channel(receiver)
    error = await failure(channel)
    await channel.aclose()
    assert (error.gone, error.permanent, error.retry_after) == (gone, permanent, retry_after)
    assert code in str(error) and str(status) in str(error)
    assert TOKEN not in str(error) and receiver.url() not in str(error)


# --------------------------------------------------------------------------- Teams


def teams_url(receiver: Receiver) -> str:
    return receiver.url(f"/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig={SIG}")


async def test_teams_posts_an_adaptive_card_envelope(receiver: Receiver) -> None:
    receiver.answers.append(Answer(202, b""))
    channel = teams.TeamsChannel("finance-teams", teams_url(receiver), 5.0)
    await channel.deliver(digest(3))
    await channel.aclose()

    body = receiver.received[0].json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.2"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    kinds = [element["type"] for element in card["body"]]
    assert set(kinds) == {"TextBlock", "FactSet"}
    assert card["body"][0]["text"] == "3 open mismatches"
    facts = card["body"][2]["facts"]
    assert facts[1] == {"title": "Expected", "value": "125.00 USD"}
    assert [e["text"] for e in card["body"] if e["type"] == "TextBlock"][2:] == [
        "Invoice INV-0 differs",
        "Invoice INV-1 differs",
        "Invoice INV-2 differs",
    ]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open",
            "url": "https://console.example.test/mismatches/42",
        }
    ]
    assert "Action.Submit" not in receiver.received[0].body.decode()


def test_teams_digest_is_trimmed_to_fit() -> None:
    message = digest(2000)
    body = teams.encoded(message)
    assert len(body) <= teams.MAX_BYTES
    texts = [e.get("text", "") for e in json.loads(body)["attachments"][0]["content"]["body"]]
    shown = sum(1 for t in texts if t.startswith("Invoice INV-"))
    assert texts[-1] == f"… and {2000 - shown} more"


@pytest.mark.parametrize("status", [200, 202, 400])
async def test_teams_429_in_the_body_is_retried(receiver: Receiver, status: int) -> None:
    said = b"Microsoft Teams endpoint returned HTTP error 429 to " + SIG.encode()
    receiver.answers.append(Answer(status, said))
    channel = teams.TeamsChannel("finance-teams", teams_url(receiver), 5.0)
    error = await failure(channel)
    await channel.aclose()
    assert not error.permanent and not error.gone
    assert "429" in str(error)
    assert SIG not in str(error) and "sig=" not in str(error)


async def test_teams_status_outcomes_hide_the_url(receiver: Receiver) -> None:
    url = teams_url(receiver)
    receiver.answers += [
        Answer(401, f"bad signature for {url}".encode()),
        Answer(410, b"gone"),
    ]
    channel = teams.TeamsChannel("finance-teams", url, 5.0)
    refused, gone = await failure(channel), await failure(channel)
    await channel.aclose()
    assert refused.permanent and SIG not in str(refused) and "/workflows/abc" not in str(refused)
    assert gone.gone


# --------------------------------------------------------------------------- signed webhooks


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_webhook_is_signed_and_verified_by_the_reference_library(
    receiver: Receiver,
) -> None:
    channel = SignedWebhookChannel("erp", receiver.url("/hooks/alerts"), KEY, 5.0)
    await channel.deliver(alert())
    await channel.aclose()

    (request,) = receiver.received
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "al_01HZX3"
    stamp = int(request.headers["webhook-timestamp"])
    assert abs(stamp - datetime.now(UTC).timestamp()) < 300  # the reference tolerance
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    assert payload["type"] == "mismatch.detected"
    assert payload["timestamp"] == "2026-03-01T12:00:00Z"
    data = payload["data"]
    assert data["entity"] == "acme" and data["currency"] == "USD"
    assert json.loads(request.body, parse_float=Decimal)["data"]["amount"] == Decimal("125.00")
    assert data["title"] == "Invoice INV-1042 differs in qbo"
    assert data["severity"] == "critical"
    assert data["fields"][0] == {"label": "Ledger", "value": "qbo"}
    assert data["items"] == []


async def test_webhook_signature_fails_with_another_secret(receiver: Receiver) -> None:
    channel = SignedWebhookChannel("erp", receiver.url("/hooks"), KEY, 5.0)
    await channel.deliver(alert())
    await channel.aclose()
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    request = receiver.received[0]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(request.body, request.headers)


async def test_webhook_id_is_the_same_on_every_attempt(receiver: Receiver) -> None:
    clock = Clock(datetime.now(UTC).timestamp())
    channel = SignedWebhookChannel("erp", receiver.url("/hooks"), KEY, 5.0, clock=clock)
    receiver.answers.append(Answer(503, b"busy"))
    await failure(channel)
    clock.now += 61
    await channel.deliver(alert())
    await channel.aclose()

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "al_01HZX3"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 61
    assert first.body == second.body
    for request in (first, second):
        standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)


def retry_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("answer", "gone", "permanent", "retry_after"),
    [
        (Answer(301, b"moved", {"Location": "http://127.0.0.1:1/elsewhere"}), False, False, None),
        (Answer(307, b"", {"Location": "/elsewhere"}), False, False, None),
        (Answer(410, b"endpoint disabled"), True, False, None),
        (Answer(429, b"slow down", {"Retry-After": "30"}), False, False, 30.0),
        (Answer(502, b"bad gateway", {"Retry-After": "5"}), False, False, 5.0),
        (Answer(504, b"gateway timeout"), False, False, None),
        (Answer(408, b""), False, False, None),
        (Answer(409, b"in progress"), False, False, None),
        (Answer(425, b"too early"), False, False, None),
        (Answer(500, b"oops"), False, False, None),
        (Answer(400, b"bad request"), False, True, None),
        (Answer(401, b"who are you"), False, True, None),
        (Answer(404, b"no such hook"), False, True, None),
        (Answer(422, b"unprocessable"), False, True, None),
    ],
)
async def test_webhook_outcomes(
    receiver: Receiver,
    answer: Answer,
    gone: bool,
    permanent: bool,
    retry_after: float | None,
) -> None:
    url = receiver.url(f"/hooks?token={TOKEN}")
    answer.body += f" for {url}".encode()  # a receiver that echoes the URL back
    receiver.answers.append(answer)
    channel = SignedWebhookChannel("erp", url, KEY, 5.0)
    error = await failure(channel)
    await channel.aclose()

    assert (error.gone, error.permanent, error.retry_after) == (gone, permanent, retry_after)
    assert f"HTTP {answer.status}" in str(error)
    assert TOKEN not in str(error) and url not in str(error)
    assert SECRET.removeprefix("whsec_") not in str(error)
    assert len(receiver.received) == 1  # a redirect is never followed


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_webhook_2xx_is_success(receiver: Receiver, status: int) -> None:
    receiver.answers.append(Answer(status, b""))
    channel = SignedWebhookChannel("erp", receiver.url("/hooks"), KEY, 5.0)
    await channel.deliver(alert())
    await channel.aclose()
    assert len(receiver.received) == 1


async def test_retry_after_as_an_http_date(receiver: Receiver) -> None:
    receiver.answers.append(Answer(503, b"", {"Retry-After": retry_date(120)}))
    channel = SignedWebhookChannel("erp", receiver.url("/hooks"), KEY, 5.0)
    error = await failure(channel)
    await channel.aclose()
    assert error.retry_after is not None and 100 <= error.retry_after <= 120


async def test_no_answer_in_time_is_retried(receiver: Receiver) -> None:
    receiver.answers.append(Answer(hang=True))
    url = receiver.url(f"/hooks?token={TOKEN}")
    channel = SignedWebhookChannel("erp", url, KEY, 0.3)
    error = await failure(channel)
    await channel.aclose()
    assert not error.permanent and not error.gone
    assert "in time" in str(error) and TOKEN not in str(error)


async def test_nobody_listening_is_retried() -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T/B/{TOKEN}"
    channel = slack.SlackChannel("finance-slack", url, 2.0)
    error = await failure(channel)
    await channel.aclose()
    assert not error.permanent and not error.gone
    assert "could not be reached" in str(error)
    assert TOKEN not in str(error) and error.__cause__ is None


async def test_a_float_in_data_is_refused_for_good(receiver: Receiver) -> None:
    channel = SignedWebhookChannel("erp", receiver.url("/hooks"), KEY, 5.0)
    error = await failure(channel, alert(data={"amount": 1.5}))
    await channel.aclose()
    assert error.permanent and receiver.received == []


async def test_an_id_with_a_dot_is_refused_for_good(receiver: Receiver) -> None:
    channel = SignedWebhookChannel("erp", receiver.url("/hooks"), KEY, 5.0)
    error = await failure(channel, alert(alert_id="a.b"))
    await channel.aclose()
    assert error.permanent and receiver.received == []


# --------------------------------------------------------------------------- outcome pieces


def test_retry_after_parsing() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:01:30 -0000", now) == 90.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0.0
    for junk in ("", None, "soon", "-5", "1e9", "nan", "inf"):
        assert parse_retry_after(junk, now) is None


def test_excerpt_masks_url_parts_and_is_one_short_line() -> None:
    url = f"https://prod.example.test/workflows/w1/invoke?api-version=1&sig={SIG}"
    text = excerpt(f"failed:\n  {url}\n" + "x" * 500, url_secrets(url))
    assert SIG not in text and url not in text and "\n" not in text
    assert len(text) <= 200


# --------------------------------------------------------------------------- registry


def slack_config(**values: Any) -> AlertChannelConfig:
    return AlertChannelConfig(name="finance-slack", kind="slack", url_env="SL_SLACK_URL", **values)


async def test_registry_opens_each_kind(receiver: Receiver, env: dict[str, str]) -> None:
    setenv(env, "SL_SLACK_URL", receiver.url())
    setenv(env, "SL_TEAMS_URL", teams_url(receiver))
    setenv(env, "SL_HOOK_SECRET", SECRET)
    configs = [
        slack_config(),
        AlertChannelConfig(name="finance-teams", kind="teams", url_env="SL_TEAMS_URL"),
        AlertChannelConfig(
            name="erp", kind="webhook", url=receiver.url("/hooks"), secret_env="SL_HOOK_SECRET"
        ),
        AlertChannelConfig(
            name="mail",
            kind="email",
            smtp_host="127.0.0.1",
            smtp_tls="none",
            mail_from="alerts@example.test",
            mail_to=("finance@example.test",),
        ),
    ]
    channels = open_channels(configs)
    assert list(channels) == ["finance-slack", "finance-teams", "erp", "mail"]
    for name, channel in channels.items():
        assert isinstance(channel, AlertChannel) and channel.name == name
    await channels["erp"].deliver(alert())
    await channels["finance-slack"].deliver(alert())
    for channel in channels.values():
        await channel.aclose()
    webhook, slack_post = receiver.received
    standardwebhooks.Webhook(SECRET).verify(webhook.body, webhook.headers)
    assert "blocks" in slack_post.json()


def test_registry_names_a_missing_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="SL_SLACK_URL is not set"):
        open_channel(slack_config())


@pytest.mark.parametrize(
    "url",
    [
        f"http://hooks.example.test/services/T/B/{TOKEN}",
        f"ftp://hooks.example.test/{TOKEN}",
        f"hooks.example.test/{TOKEN}",
    ],
)
@pytest.mark.parametrize("kind", ["slack", "teams", "webhook"])
def test_registry_refuses_a_url_that_is_not_https(env: dict[str, str], url: str, kind: str) -> None:
    setenv(env, "SL_URL", url)
    setenv(env, "SL_HOOK_SECRET", SECRET)
    extra = {"secret_env": "SL_HOOK_SECRET"} if kind == "webhook" else {}
    config = AlertChannelConfig(name="c", kind=kind, url_env="SL_URL", **extra)
    with pytest.raises(ConfigurationError) as caught:
        open_channel(config)
    assert TOKEN not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (base64.b64encode(b"k" * 32).decode(), "must start with whsec_"),
        ("whsec_not base64!!", "is not whsec_<base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "is not whsec_<base64"),
    ],
)
def test_registry_refuses_a_malformed_signing_secret(
    env: dict[str, str], secret: str, says: str
) -> None:
    setenv(env, "SL_HOOK_SECRET", secret)
    config = AlertChannelConfig(
        name="erp",
        kind="webhook",
        url="https://erp.example.test/hooks",
        secret_env="SL_HOOK_SECRET",
    )
    with pytest.raises(ConfigurationError, match=says) as caught:
        open_channel(config)
    assert "SL_HOOK_SECRET" in str(caught.value)
    assert secret.removeprefix("whsec_") not in str(caught.value)


def test_registry_refuses_a_repeated_name(env: dict[str, str]) -> None:
    setenv(env, "SL_SLACK_URL", f"https://hooks.example.test/services/T/B/{TOKEN}")
    with pytest.raises(ConfigurationError, match="configured twice"):
        open_channels([slack_config(), slack_config()])


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"smtp_host": "smtp.example.test", "smtp_tls": "none"}, "in clear"),
        ({"smtp_host": "smtp.example.test"}, "password_env"),
        ({"smtp_host": "smtp.example.test", "password_env": "SL_NO_SUCH_PW"}, "SL_NO_SUCH_PW"),
    ],
)
def test_registry_checks_smtp_login(env: dict[str, str], values: dict[str, Any], says: str) -> None:
    config = AlertChannelConfig(
        name="mail",
        kind="email",
        smtp_user="alerts",
        mail_from="alerts@example.test",
        mail_to=("finance@example.test",),
        **values,
    )
    with pytest.raises(ConfigurationError, match=says):
        open_channel(config)


def test_signature_matches_the_reference_librarys_published_vector() -> None:
    # standard-webhooks/standard-webhooks: libraries/python/tests/test_webhooks.py
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    got = signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@given(status=st.integers(200, 599), body=st.text(max_size=300), retry=st.integers(0, 10**6))
def test_every_status_gets_exactly_one_verdict(status: int, body: str, retry: int) -> None:
    url = f"https://hooks.example.test/services/T1/B2/{TOKEN}?sig={SIG}"
    said = f"{body}{url}{body}".encode()
    answer = httpx.Response(status, content=said, headers={"Retry-After": str(retry)})
    verdict = refusal(answer, "the receiver", url_secrets(url))
    if 200 <= status < 300:
        assert verdict is None
        return
    assert verdict is not None
    assert not (verdict.gone and verdict.permanent)
    assert verdict.gone is (status == 410)
    assert verdict.permanent is (400 <= status < 500 and status not in (408, 409, 410, 425, 429))
    if verdict.retry_after is not None:
        assert verdict.retry_after == retry and (status >= 500 or status in (408, 409, 425, 429))
    for secret in (TOKEN, SIG, url):
        assert secret not in str(verdict)


@given(text=st.text(max_size=400), secret=st.text(alphabet="abcXYZ019-_%", min_size=6, max_size=30))
def test_excerpt_never_shows_a_secret(text: str, secret: str) -> None:
    shown = excerpt(f"{text}{secret}{text}{secret}", [secret])
    assert secret not in shown and "\n" not in shown and len(shown) <= 200
