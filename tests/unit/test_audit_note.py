"""C2SP signed notes, checkpoints and cosignatures (audit/note*.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from syncledger.audit.checkpoints import Checkpoint, sign_checkpoint
from syncledger.audit.note import (
    SIG_COSIGNATURE_V1,
    NoteError,
    NoteVerifier,
    SignedNote,
    parse_note,
    sign_note,
    verify_note,
)
from syncledger.audit.note_checkpoint import log_verifier, note_text, parse_note_text
from syncledger.audit.note_cosignature import cosign, cosigned_message, verified_cosignature
from syncledger.audit.signing import SigningKeyring

# c2sp.org/signed-note, §Verifier keys, Example
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXs"
    "YjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()


def test_the_specs_example_note_verifies_under_the_specs_vkey() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    note = parse_note(SPEC_NOTE)
    assert verify_note(note, [verifier]) == [verifier]
    assert note.text == "This is an example message.\n"
    assert verifier.vkey() == SPEC_VKEY
    assert note.render() == SPEC_NOTE


def test_a_changed_text_is_refused_and_unknown_keys_are_ignored() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    forged = parse_note(SPEC_NOTE.replace(b"example message", b"example massage"))
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(forged, [verifier])
    stranger = NoteVerifier("other.example/k", 1, ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(NoteError, match="no signature of a trusted key"):
        verify_note(parse_note(SPEC_NOTE), [stranger])


def test_a_vkey_whose_id_does_not_match_its_key_is_refused() -> None:
    with pytest.raises(NoteError, match="does not match"):
        NoteVerifier.from_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


@pytest.mark.parametrize(
    "data",
    [
        "no blank line\n\u2014 example.com/foo AAAAAAAA\n".encode(),
        b"text\n\n- example.com/foo AAAAAAA=\n",
        b"te\x01xt\n\n\xe2\x80\x94 example.com/foo AAAAAAAA\n",
        b"text\n\n",
    ],
)
def test_malformed_notes_are_refused(data: bytes) -> None:
    with pytest.raises(NoteError):
        parse_note(data)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=80))
def test_any_signed_text_round_trips_and_verifies(line: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    text = line + "\n"
    note = SignedNote(text, (sign_note(text, "log.example/a", key),))
    parsed = parse_note(note.render())
    assert verify_note(parsed, [NoteVerifier("log.example/a", 1, key.public_key())])


def test_checkpoints_are_c2sp_notes_that_verify_with_the_logs_vkey(tmp_path: Path) -> None:
    ring = SigningKeyring.open(tmp_path)
    ring.create(datetime(2026, 1, 1, tzinfo=UTC))
    root = bytes(range(32))
    cp = sign_checkpoint(ring, "syncledger/SYNCLEDGER", 7, root, 1_000)
    note = cp.note(ring.current_public_key())
    assert note is not None
    assert note.text == f"syncledger/SYNCLEDGER\n7\n{base64.b64encode(root).decode()}\n"
    vkey = log_verifier("syncledger/SYNCLEDGER", ring.current_public_key()).vkey()
    assert verify_note(parse_note(note.render()), [NoteVerifier.from_vkey(vkey)])
    assert cp.verify(ring.public_keys())
    body = parse_note_text(note.text)
    assert (body.origin, body.tree_size, body.root_hash) == ("syncledger/SYNCLEDGER", 7, root)


def test_old_v1_checkpoints_still_verify_but_are_no_notes() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    unsigned = Checkpoint("o", 3, bytes(32), 5, "ed25519:x")
    v1 = Checkpoint(**{**unsigned.__dict__, "signature": key.sign(unsigned.signed_text())})
    assert v1.verify({"ed25519:x": key.public_key()})
    assert v1.note(key.public_key()) is None


def test_cosignatures_follow_tlog_cosignature_v1() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    text = note_text("log.example/a", 20852163, bytes(32))
    line = cosign(text, "witness.example/w1", key, 1679315147)
    assert line.signature[:8] == (1679315147).to_bytes(8, "big")
    message = cosigned_message(text, 1679315147)
    assert message.startswith(b"cosignature/v1\ntime 1679315147\nlog.example/a\n20852163\n")
    key.public_key().verify(line.signature[8:], message)
    witness = NoteVerifier("witness.example/w1", SIG_COSIGNATURE_V1, key.public_key())
    note = SignedNote(text, (line,))
    found = verified_cosignature(note, witness)
    assert found is not None and found.timestamp == 1679315147
    assert (
        verified_cosignature(SignedNote(note_text("log.example/a", 1, bytes(32)), (line,)), witness)
        is None
    )
