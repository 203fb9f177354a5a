"""The witness's add-checkpoint answers (C2SP tlog-witness), in-process over ASGI."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from syncledger.audit.merkle import MerkleTree
from syncledger.audit.note import SignedNote, parse_note, sign_note
from syncledger.audit.note_checkpoint import log_verifier, note_text
from syncledger.audit.note_cosignature import verified_cosignature
from syncledger.audit.witness import Witness
from syncledger.audit.witness_client import origin_hash, submission
from syncledger.audit.witness_server import witness_app

ORIGIN = "log.example/test"


class Log:
    """A log: its leaves and key, making signed checkpoints of any of its sizes."""

    def __init__(self, leaves: list[bytes], key: ed25519.Ed25519PrivateKey | None = None) -> None:
        self.tree = MerkleTree()
        self.tree.append_entries(leaves)
        self.key = key or ed25519.Ed25519PrivateKey.generate()

    @property
    def vkey(self) -> str:
        return log_verifier(ORIGIN, self.key.public_key()).vkey()

    def checkpoint(self, size: int) -> SignedNote:
        text = note_text(ORIGIN, size, self.tree.root(size))
        return SignedNote(text, (sign_note(text, ORIGIN, self.key),))

    def body(self, old: int, size: int, proof_from: MerkleTree | None = None) -> bytes:
        tree = proof_from or self.tree
        proof = tree.consistency_proof(old, size) if 0 < old < size else []
        return submission(self.checkpoint(size), old, proof)


def leaves(n: int, tag: str = "e") -> list[bytes]:
    return [f"{tag}{i}".encode() for i in range(n)]


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness.create(tmp_path / "witness", "witness.example/w1")


def post(witness: Witness, body: bytes) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=witness_app(witness))
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
            return await client.post("/add-checkpoint", content=body)

    return asyncio.run(go())


def get(witness: Witness, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=witness_app(witness))
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_the_first_checkpoint_is_cosigned_and_kept_privately(witness: Witness) -> None:
    log = Log(leaves(10))
    witness.trust(log.vkey)
    answer = post(witness, log.body(0, 5))
    assert answer.status_code == 200
    note = parse_note(log.checkpoint(5).text.encode() + b"\n" + answer.content)
    assert verified_cosignature(note, witness.verifier) is not None
    kept = witness.latest(ORIGIN)
    assert kept is not None and kept.text == log.checkpoint(5).text
    state = witness._path(ORIGIN)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(witness.directory.stat().st_mode) == 0o700
    served = get(witness, f"/{origin_hash(ORIGIN)}/checkpoint")
    assert served.status_code == 200 and parse_note(served.content) == kept


def test_a_consistent_extension_is_cosigned(witness: Witness) -> None:
    log = Log(leaves(10))
    witness.trust(log.vkey)
    assert post(witness, log.body(0, 5)).status_code == 200
    assert post(witness, log.body(5, 9)).status_code == 200
    assert post(witness, log.body(9, 9)).status_code == 200  # the same head again


def test_a_stale_old_size_gets_409_with_the_held_size(witness: Witness) -> None:
    log = Log(leaves(10))
    witness.trust(log.vkey)
    post(witness, log.body(0, 7))
    answer = post(witness, log.body(0, 9))
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("text/x.tlog.size")
    assert answer.text == "7\n"


def test_a_rollback_is_refused(witness: Witness) -> None:
    log = Log(leaves(10))
    witness.trust(log.vkey)
    post(witness, log.body(0, 9))
    assert post(witness, log.body(9, 5)).status_code == 400
    assert post(witness, log.body(5, 5)).status_code == 409
    kept = witness.latest(ORIGIN)
    assert kept is not None and kept.text == log.checkpoint(9).text


def test_a_fork_is_refused_with_422(witness: Witness) -> None:
    honest = Log(leaves(10))
    fork = Log([*leaves(3), *leaves(7, "x")], honest.key)  # same key, history rewritten
    witness.trust(honest.vkey)
    assert post(witness, honest.body(0, 6)).status_code == 200
    assert post(witness, fork.body(6, 10)).status_code == 422  # its own proof does not fit
    assert post(witness, fork.body(6, 6)).status_code == 422  # same size, another root
    kept = witness.latest(ORIGIN)
    assert kept is not None and kept.text == honest.checkpoint(6).text


def test_unknown_origins_untrusted_keys_and_bad_signatures(witness: Witness) -> None:
    log = Log(leaves(4))
    assert post(witness, log.body(0, 4)).status_code == 404
    witness.trust(Log(leaves(1)).vkey)  # another key for the same origin
    assert post(witness, log.body(0, 4)).status_code == 403
    witness.trust(log.vkey)
    forged = log.body(0, 4).replace(b"\n4\n", b"\n3\n")
    assert post(witness, forged).status_code == 403
    assert post(witness, b"not a request").status_code == 400


def test_a_proof_from_size_zero_is_refused(witness: Witness) -> None:
    log = Log(leaves(4))
    witness.trust(log.vkey)
    body = submission(log.checkpoint(4), 0, [bytes(32)])
    assert post(witness, body).status_code == 422


def test_the_witness_state_survives_a_restart(witness: Witness) -> None:
    log = Log(leaves(8))
    witness.trust(log.vkey)
    post(witness, log.body(0, 8))
    again = Witness.open(witness.directory)
    assert again.verifier == witness.verifier
    assert post(again, log.body(0, 8)).status_code == 409


def test_concurrent_requests_cannot_roll_the_head_back(witness: Witness) -> None:
    log = Log(leaves(40))
    witness.trust(log.vkey)
    post(witness, log.body(0, 10))

    async def both() -> list[int]:
        transport = httpx.ASGITransport(app=witness_app(witness))
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
            answers = await asyncio.gather(
                *(client.post("/add-checkpoint", content=log.body(10, n)) for n in (20, 30))
            )
        return sorted(a.status_code for a in answers)

    assert asyncio.run(both()) == [200, 409]
    kept = witness.latest(ORIGIN)
    assert kept is not None and kept.text.split("\n")[1] in {"20", "30"}


def test_configured_witnesses_are_url_and_vkey_pairs(witness: Witness) -> None:
    from syncledger.audit.witness_client import parse_witnesses
    from syncledger.core.errors import ConfigurationError

    vkey = witness.verifier.vkey()
    (one, two) = parse_witnesses(f"http://a.example:7380/ {vkey},\nhttps://b.example {vkey}")
    assert one.url == "http://a.example:7380" and one.verifier == witness.verifier
    assert two.url == "https://b.example"
    assert parse_witnesses("") == [] and parse_witnesses(None) == []
    for bad in (vkey, f"ftp://a.example {vkey}", "http://a.example not+a+vkey"):
        with pytest.raises(ConfigurationError, match="SYNCLEDGER_WITNESSES"):
            parse_witnesses(bad)
