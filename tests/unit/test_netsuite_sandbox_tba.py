"""Both sides of NetSuite TBA pinned to the specification, not to each other: the sandbox's
verifier (``sandbox/tba.py``) and the adapter's signer (``auth.py``) each reproduce the
published examples of RFC 5849 (OAuth 1.0), so a bug they shared would fail here.

The RFC's examples are HMAC-SHA1 and NetSuite signs only with HMAC-SHA256, so:
- the base string is pinned by the RFC's own (§3.4.1.1, §3.4.1.2);
- base string, key and base64 together by §1.2's complete HMAC-SHA1 signature (the SHA-1
  digest taken with the standard library, over each side's base string and key);
- HMAC-SHA256 itself by RFC 4231's test case 2;
- the whole HMAC-SHA256 signature of §1.2's request (as NetSuite clients send it:
  ``HMAC-SHA256``, ``oauth_version="1.0"``) by a known answer computed once with Python's
  ``hmac``/``hashlib`` over the hand-written base string: no published vector of that
  exists in the RFC, and Oracle's worked examples could not be read in full here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from syncledger.adapters.netsuite import auth as adapter
from syncledger.adapters.netsuite.sandbox import tba as sandbox
from syncledger.adapters.netsuite.sandbox.book import NetSuiteBook

# RFC 5849 §3.1 / §3.4.1.1: a form POST with a tricky query, and its published base string
FORM_QUERY = "b5=%3D%253D&a3=a&c%40=&a2=r%20b"
FORM_BODY = [("c2", ""), ("a3", "2 q")]  # the body "c2&a3=2+q", decoded
FORM_HEADER = (
    'OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", '
    'oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", '
    'oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", '
    'oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"'
)
FORM_BASE_STRING = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
    "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
    "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
    "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
    "9d7dh3k39sjv7"
)

# RFC 5849 §1.2: Jane's photo request and its published HMAC-SHA1 signature
PHOTO_URL = "http://photos.example.net/photos?file=vacation.jpg&size=original"
PHOTO_CLIENT = ("dpf43f3p2l4k3l03", "kd94hf93k423kf44")  # identifier, shared secret
PHOTO_TOKEN = ("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
PHOTO_TIMESTAMP, PHOTO_NONCE = 137131202, "chapoH"
PHOTO_HEADER = (
    'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", '
    'oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", '
    'oauth_timestamp="137131202", oauth_nonce="chapoH", '
    'oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"'
)
PHOTO_SHA1 = "MdpQcU8iPSUjWoN/UDMsK2sui9I="
#: the same request signed as NetSuite wants it (computed known answer, see the docstring)
PHOTO_SHA256 = "rAAvYu1BQL0v7E7CJl81nKGKZdQr4XFo7E7vbGJxPz4="

# RFC 4231 §4.3, test case 2
RFC4231_KEY, RFC4231_DATA = b"Jefe", "what do ya want for nothing?"
RFC4231_SHA256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"

# RFC 5849 §3.4.1.2's two base string URIs: (scheme, host, port, path) → URI
URI_EXAMPLES = [
    (("http", "EXAMPLE.COM", 80, "/r%20v/X"), "http://example.com/r%20v/X"),
    (("https", "www.example.net", 8080, "/"), "https://www.example.net:8080/"),
]


def _sha1(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha1).digest()).decode()


def _photo_key() -> bytes:
    return f"{PHOTO_CLIENT[1]}&{PHOTO_TOKEN[1]}".encode()


def _netsuite_photo_header(signature: str) -> str:
    """§1.2's photo request as a NetSuite client sends it."""
    return (
        'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", '
        'oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA256", '
        'oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_version="1.0", '
        f'oauth_signature="{quote(signature, safe="")}"'
    )


def _photo_request(authorization: str) -> sandbox.SignedRequest:
    url = httpx.URL(PHOTO_URL)
    return sandbox.SignedRequest(
        "GET", "http", url.host, None, url.path, url.query.decode(), authorization
    )


# ------------------------------------------------------------------- sandbox


def test_the_sandbox_reads_the_rfc_s_form_request_into_its_base_string() -> None:
    oauth = sandbox.header_parameters(FORM_HEADER)
    assert oauth is not None
    params = [*sandbox.signed_parameters(FORM_QUERY, oauth), *FORM_BODY]
    uri = sandbox.base_string_uri("http", "example.com", None, "/request")
    assert sandbox.base_string("POST", uri, params) == FORM_BASE_STRING


@pytest.mark.parametrize(("parts", "uri"), URI_EXAMPLES)
def test_the_sandbox_s_base_string_uri_is_the_rfc_s(
    parts: tuple[str, str, int, str], uri: str
) -> None:
    assert sandbox.base_string_uri(*parts) == uri


def test_the_sandbox_s_base_string_and_key_give_the_rfc_s_photo_signature() -> None:
    request = _photo_request(PHOTO_HEADER)
    oauth = sandbox.header_parameters(PHOTO_HEADER)
    assert oauth is not None and oauth["oauth_signature"] == PHOTO_SHA1
    key = sandbox.signing_key(PHOTO_CLIENT[1], PHOTO_TOKEN[1])
    assert _sha1(key, request.base_string(oauth)) == PHOTO_SHA1


def test_the_sandbox_s_hmac_sha256_is_rfc_4231_s() -> None:
    expected = base64.b64encode(bytes.fromhex(RFC4231_SHA256)).decode()
    assert sandbox.hmac_sha256(RFC4231_KEY, RFC4231_DATA) == expected


@pytest.fixture
def photos() -> sandbox.TbaServer:
    server = sandbox.TbaServer(
        NetSuiteBook(None), "Photos", *PHOTO_CLIENT, clock=lambda: PHOTO_TIMESTAMP
    )
    server.issue(*PHOTO_TOKEN)
    return server


def test_the_sandbox_admits_the_photo_request_signed_with_hmac_sha256(
    photos: sandbox.TbaServer,
) -> None:
    assert photos.failure(_photo_request(_netsuite_photo_header(PHOTO_SHA256))) is None
    assert photos.audit == []


def test_the_sandbox_refuses_the_photo_request_with_one_character_of_its_signature_changed(
    photos: sandbox.TbaServer,
) -> None:
    forged = PHOTO_SHA256.replace("r", "s", 1)
    assert photos.failure(_photo_request(_netsuite_photo_header(forged))) == "InvalidSignature"


def test_the_sandbox_refuses_the_rfc_s_own_hmac_sha1_signature(
    photos: sandbox.TbaServer,
) -> None:
    assert photos.failure(_photo_request(PHOTO_HEADER)) == "InvalidSignatureMethod"


# ------------------------------------------------------------------- adapter


def test_the_adapter_reads_the_rfc_s_form_request_into_its_base_string() -> None:
    url = httpx.URL(f"http://example.com/request?{FORM_QUERY}")
    oauth = adapter.parse_authorization(FORM_HEADER) or {}
    signed = [(k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    params = [*url.params.multi_items(), *signed, *FORM_BODY]
    base = adapter.signature_base_string("POST", adapter.request_uri(url), params)
    assert base == FORM_BASE_STRING


@pytest.mark.parametrize(("parts", "uri"), URI_EXAMPLES)
def test_the_adapter_s_base_string_uri_is_the_rfc_s(
    parts: tuple[str, str, int, str], uri: str
) -> None:
    assert adapter.base_string_uri(*parts) == uri


def test_the_adapter_s_base_string_gives_the_rfc_s_photo_signature() -> None:
    url = httpx.URL(PHOTO_URL)
    oauth = {
        "oauth_consumer_key": PHOTO_CLIENT[0],
        "oauth_token": PHOTO_TOKEN[0],
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(PHOTO_TIMESTAMP),
        "oauth_nonce": PHOTO_NONCE,
    }
    params = [*url.params.multi_items(), *oauth.items()]
    base = adapter.signature_base_string("GET", adapter.request_uri(url), params)
    assert _sha1(_photo_key(), base) == PHOTO_SHA1


def test_the_adapter_signs_the_photo_request_with_the_known_hmac_sha256_answer() -> None:
    credentials = adapter.TbaCredentials(
        account_id="Photos",
        consumer_key=PHOTO_CLIENT[0],
        consumer_secret=SecretStr(PHOTO_CLIENT[1]),
        token_id=PHOTO_TOKEN[0],
        token_secret=SecretStr(PHOTO_TOKEN[1]),
    )
    signer = adapter.TbaAuth(credentials, clock=lambda: PHOTO_TIMESTAMP, nonce=lambda: PHOTO_NONCE)
    sent = sandbox.header_parameters(signer.header("GET", httpx.URL(PHOTO_URL)))
    assert sent is not None
    assert sent["oauth_signature"] == PHOTO_SHA256
