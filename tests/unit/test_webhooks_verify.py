"""Standard Webhooks verification and signing (adapters/webhooks/verify.py, sign.py)."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncledger.adapters.webhooks.sign import new_key_pair, new_secret, sign
from syncledger.adapters.webhooks.verify import TrustedKeys, verify_signature
from syncledger.core.errors import ConfigurationError
from syncledger.core.source_ports import WebhookRefused, WebhookRequest

# The reference library's published vector (standard-webhooks/standard-webhooks:
# libraries/python/tests/test_webhooks.py, test_sign_function).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODY = b'{"type":"customer.updated","timestamp":"2026-03-01T12:00:00Z","data":{"id":"c1"}}'


def request(headers: dict[str, str], body: bytes = BODY, at: datetime = NOW) -> WebhookRequest:
    return WebhookRequest("POST", "https://example.com/webhooks/webhooks", headers, body, at)


def refusal(keys: TrustedKeys, req: WebhookRequest) -> WebhookRefused:
    with pytest.raises(WebhookRefused) as refused:
        verify_signature(keys, req)
    return refused.value


def test_the_reference_vector_signs_as_published() -> None:
    headers = sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers["webhook-signature"] == SPEC_SIGNATURE
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    keys = TrustedKeys.parse([SPEC_SECRET])
    assert verify_signature(keys, request(headers, SPEC_BODY, at)) == SPEC_ID


def test_the_reference_vector_is_refused_when_one_character_of_it_changes() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE[:-2] + "A=",
    }
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    assert refusal(TrustedKeys.parse([SPEC_SECRET]), request(headers, SPEC_BODY, at)).reason == (
        "bad_signature"
    )


def test_the_key_is_the_decoded_secret_not_its_text() -> None:
    secret = new_secret()
    headers = sign(secret, "msg_1", NOW, BODY)
    literal = "whsec_" + base64.b64encode(secret.encode()[:48]).decode()
    assert verify_signature(TrustedKeys.parse([secret]), request(headers)) == "msg_1"
    assert refusal(TrustedKeys.parse([literal]), request(headers)).reason == "bad_signature"


def test_two_configured_secrets_accept_either_during_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    keys = TrustedKeys.parse([old, new])
    for secret in (old, new):
        assert verify_signature(keys, request(sign(secret, "msg_r", NOW, BODY))) == "msg_r"
    assert refusal(keys, request(sign(new_secret(), "msg_r", NOW, BODY))).reason == (
        "bad_signature"
    )


def test_one_valid_signature_among_several_in_the_header_passes() -> None:
    retired, current = new_secret(), new_secret()
    headers = sign([retired, current], "msg_two", NOW, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify_signature(TrustedKeys.parse([current]), request(headers)) == "msg_two"
    junk = "v2,AAAA v1,not*base64 nocomma " + headers["webhook-signature"]
    junked = request({**headers, "webhook-signature": junk})
    assert verify_signature(TrustedKeys.parse([retired]), junked) == "msg_two"


def test_an_ed25519_v1a_signature_from_a_trusted_key_passes() -> None:
    private, public = new_key_pair()
    headers = sign(private, "msg_a", NOW, BODY)
    assert headers["webhook-signature"].startswith("v1a,")
    keys = TrustedKeys.parse([], [public])
    assert verify_signature(keys, request(headers)) == "msg_a"
    assert refusal(keys, request(headers, BODY + b" ")).reason == "bad_signature"
    _, stranger = new_key_pair()
    assert refusal(TrustedKeys.parse([], [stranger]), request(headers)).reason == ("bad_signature")


def test_a_v1a_signature_is_not_checked_against_a_hmac_secret() -> None:
    private, _ = new_key_pair()
    assert refusal(
        TrustedKeys.parse([new_secret()]), request(sign(private, "m", NOW, BODY))
    ).reason == ("bad_signature")


@pytest.mark.parametrize("shift", [timedelta(minutes=5), timedelta(minutes=-5)])
def test_five_minutes_either_way_is_still_fresh(shift: timedelta) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_t", NOW + shift, BODY)
    assert verify_signature(TrustedKeys.parse([secret]), request(headers)) == "msg_t"


@pytest.mark.parametrize(
    "shift", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1)]
)
def test_beyond_five_minutes_either_way_is_stale(shift: timedelta) -> None:
    secret = new_secret()
    headers = sign(secret, "msg_t", NOW + shift, BODY)
    assert refusal(TrustedKeys.parse([secret]), request(headers)).reason == "stale"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_unsigned(missing: str) -> None:
    secret = new_secret()
    headers = {k: v for k, v in sign(secret, "msg_u", NOW, BODY).items() if k != missing}
    assert refusal(TrustedKeys.parse([secret]), request(headers)).reason == "unsigned"


def test_header_names_are_matched_in_any_case() -> None:
    secret = new_secret()
    headers = {k.title(): v for k, v in sign(secret, "msg_c", NOW, BODY).items()}
    assert verify_signature(TrustedKeys.parse([secret]), request(headers)) == "msg_c"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-id", "msg.1"),
        ("webhook-timestamp", f"{int(NOW.timestamp())}.5"),
        ("webhook-timestamp", "yesterday"),
        ("webhook-timestamp", "-1"),
    ],
)
def test_a_dotted_id_or_an_unreadable_timestamp_is_malformed(name: str, value: str) -> None:
    secret = new_secret()
    headers = {**sign(secret, "msg_m", NOW, BODY), name: value}
    assert refusal(TrustedKeys.parse([secret]), request(headers)).reason == "malformed"


def test_no_refusal_message_holds_a_secret_or_a_signature() -> None:
    secret = new_secret()
    headers = sign(secret, "msg_s", NOW, BODY)
    keys = TrustedKeys.parse([secret])
    cases = [
        request(headers, BODY + b"x"),
        request(headers, at=NOW + timedelta(hours=1)),
        request({**headers, "webhook-id": "a.b"}),
    ]
    for case in cases:
        text = str(refusal(keys, case))
        assert secret not in text and secret.removeprefix("whsec_") not in text
        assert headers["webhook-signature"].split(",")[1] not in text
    assert secret.removeprefix("whsec_") not in repr(keys)


@pytest.mark.parametrize("bad", ["whsec_", "whsec_not base64!", "whsec_" + "QUFB" * 4])
def test_a_bad_or_short_secret_is_a_configuration_error_without_its_text(bad: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        TrustedKeys.parse([bad])
    assert bad.removeprefix("whsec_") == "" or bad.removeprefix("whsec_") not in str(error.value)


def test_new_secrets_are_random_and_within_the_spec_sizes() -> None:
    assert new_secret() != new_secret()
    for size in (24, 64):
        assert len(base64.b64decode(new_secret(size).removeprefix("whsec_"))) == size
    with pytest.raises(ConfigurationError):
        new_secret(16)


@given(st.data())
def test_any_change_to_the_body_is_refused(data: st.DataObject) -> None:
    body = data.draw(st.binary(min_size=1, max_size=200))
    headers = sign(SPEC_SECRET, "msg_h", NOW, body)
    keys = TrustedKeys.parse([SPEC_SECRET])
    assert verify_signature(keys, request(headers, body)) == "msg_h"
    at = data.draw(st.integers(0, len(body) - 1))
    mutation = data.draw(
        st.one_of(
            st.integers(1, 255).map(lambda x: body[:at] + bytes([body[at] ^ x]) + body[at + 1 :]),
            st.just(body[:at] + body[at + 1 :]),
            st.binary(min_size=1, max_size=5).map(lambda extra: body[:at] + extra + body[at:]),
        )
    )
    assert mutation != body
    with pytest.raises(WebhookRefused) as refused:
        verify_signature(keys, replace(request(headers, body), body=mutation))
    assert refused.value.reason == "bad_signature"
