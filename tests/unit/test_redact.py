"""URLs lose their passwords wherever they are shown (core/redact.py, settings repr)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncledger.core.redact import MASK, MaskingFilter, mask_text, mask_url
from syncledger.core.settings import Settings

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"nats://app:{SECRET}@127.0.0.1:4222", "nats://app:***@127.0.0.1:4222"),
        (f"nats://{SECRET}@nats.internal:4222", "nats://***@nats.internal:4222"),
        (f"nats://app:{SECRET}@x@h:4222", "nats://app:***@h:4222"),
        (f"tls://app:{SECRET}@a:4222,tls://app:{SECRET}@b:4222", "tls://app:***@a:4222,"),
        (f"https://me:{SECRET}@books.example/v3?minorversion=75", "https://me:***@books.example"),
        (f"https://books.example/api?api_key={SECRET}&page=2", "?api_key=***&page=2"),
        (f"https://books.example/api?page=2&access_token={SECRET}", "?page=2&access_token=***"),
        (f"postgresql+psycopg://sync:{SECRET}@db:5432/ledger", "postgresql+psycopg://sync:***@db"),
    ],
)
def test_a_url_is_shown_without_its_secret(url: str, shown: str) -> None:
    masked = mask_url(url)
    assert SECRET not in masked
    assert shown in masked


def test_a_url_without_secrets_is_unchanged() -> None:
    url = "http://127.0.0.1:8765/v3/company/1/query?minorversion=75&page=2"
    assert mask_url(url) == url


def test_urls_inside_text_are_masked_and_the_rest_stays() -> None:
    text = f"cannot reach NATS at nats://app:{SECRET}@10.0.0.1:4222: ConnectionRefusedError"
    assert mask_text(text) == (
        "cannot reach NATS at nats://app:***@10.0.0.1:4222: ConnectionRefusedError"
    )


@given(
    user=st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    password=st.from_regex(r"[A-Za-z0-9_~!$&*+=.\-]{6,30}", fullmatch=True),
    host=st.from_regex(r"[a-z][a-z0-9\-]{0,10}(\.[a-z]{2,5})?", fullmatch=True),
    scheme=st.sampled_from(["nats", "tls", "ws", "http", "https", "postgresql"]),
)
def test_no_password_survives_masking(user: str, password: str, host: str, scheme: str) -> None:
    url = f"{scheme}://{user}:{password}@{host}:4222/x"
    masked = mask_text(f"error at {url} (retrying)")
    assert f":{password}@" not in masked
    assert f"{scheme}://{user}:{MASK}@{host}:4222/x" in masked


def test_settings_repr_and_str_mask_every_url() -> None:
    settings = Settings(
        nats_url=f"nats://app:{SECRET}@h:4222",
        ledger_url=f"https://me:{SECRET}@books.example",
        database_url=f"postgresql://sync:{SECRET}@db/ledger",
    )
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert "nats://app:***@h:4222" in repr(settings)
    assert settings.nats_url == f"nats://app:{SECRET}@h:4222"  # the value itself is intact


def test_the_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "cannot reach %s", (f"nats://a:{SECRET}@h",), None
    )
    try:
        raise OSError(f"refused by nats://a:{SECRET}@h")
    except OSError:
        import sys

        record.exc_info = sys.exc_info()
    assert MaskingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert SECRET not in formatted
    assert "cannot reach nats://a:***@h" in formatted
    assert "OSError: refused by nats://a:***@h" in formatted
