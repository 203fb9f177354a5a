"""The pull reader's reading of a JetStream message's reply subject (ADR-15 forms)."""

from __future__ import annotations

import pytest

from syncledger.core.errors import EventStoreUnavailable
from syncledger.core.jetstream_read import sequences


def test_the_short_form_gives_stream_and_consumer_sequence_and_pending() -> None:
    assert sequences("$JS.ACK.SYNCLEDGER.c1.1.4071.12.1765000000000000000.99") == (4071, 12, 99)


def test_the_form_with_domain_and_account_hash_reads_the_same_fields() -> None:
    with_token = "$JS.ACK._.ACCHASH.SYNCLEDGER.c1.1.4071.12.1765000000000000000.99.tok"
    assert sequences(with_token) == (4071, 12, 99)
    assert sequences(with_token.rsplit(".", 1)[0]) == (4071, 12, 99)


@pytest.mark.parametrize("reply", ["", "_INBOX.abc", "$JS.ACK.S.c.1.2", "$JS.NAK.S.c.1.2.3.4.5"])
def test_a_reply_that_is_no_jetstream_ack_subject_is_refused(reply: str) -> None:
    with pytest.raises(EventStoreUnavailable):
        sequences(reply)
