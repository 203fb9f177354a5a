"""HPKE base mode DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM against RFC 9180.

RFC 9180 publishes its Appendix A.1.1 vector for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
with AES-128-GCM; our suite differs only in the AEAD (AES-256-GCM, id 0x0002, Nk = 32).
A small key schedule written from the RFC text (§4, §5.1) is checked against that vector,
and then opens, for our suite, what :func:`syncledger.audit.hpke.seal` produced: the library and an
independent reading of the RFC agree byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from syncledger.audit.hpke import HpkeOpenError, open_sealed, seal

# RFC 9180 A.1.1 (mode base, kem 0x0020, kdf 0x0001, aead 0x0001), first encryption.
V = {
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "skRm": "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
    "pkRm": "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
    "skEm": "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
    "enc": "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    "shared_secret": "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
    "key": "4531685d41d65f03dc48f6b8302c05b0",
    "base_nonce": "56d890e5accaaf011cff4b7d",
    "aad": "436f756e742d30",
    "ct": "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
    "6d8770ac83d07bea87e13c512a",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
}


def x(name: str) -> bytes:
    return bytes.fromhex(V[name])


# ------------------------------------------------- RFC 9180 §4, §5.1 from the RFC text

KEM_SUITE = b"KEM" + (0x0020).to_bytes(2, "big")


def hpke_suite(aead_id: int) -> bytes:
    return (
        b"HPKE" + (0x0020).to_bytes(2, "big") + (1).to_bytes(2, "big") + aead_id.to_bytes(2, "big")
    )


def extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + block, i + 1
    return out[:length]


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, n: int) -> bytes:
    return expand(prk, n.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, n)


def raw(pub: x25519.X25519PublicKey) -> bytes:
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def decap(enc: bytes, sk: x25519.X25519PrivateKey) -> bytes:
    dh = sk.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + raw(sk.public_key())
    prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    return labeled_expand(KEM_SUITE, prk, b"shared_secret", kem_context, 32)


def key_schedule(shared: bytes, info: bytes, aead_id: int, nk: int) -> tuple[bytes, bytes]:
    suite = hpke_suite(aead_id)
    psk_hash = labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_hash + info_hash
    secret = labeled_extract(suite, shared, b"secret", b"")
    return (
        labeled_expand(suite, secret, b"key", context, nk),
        labeled_expand(suite, secret, b"base_nonce", context, 12),
    )


# ------------------------------------------------- tests


def test_reference_key_schedule_reproduces_the_rfc_vector() -> None:
    sk = x25519.X25519PrivateKey.from_private_bytes(x("skRm"))
    assert raw(sk.public_key()) == x("pkRm")
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(x("skEm"))
    assert raw(ephemeral.public_key()) == x("enc")
    shared = decap(x("enc"), sk)
    assert shared == x("shared_secret")
    key, nonce = key_schedule(shared, x("info"), aead_id=1, nk=16)
    assert (key, nonce) == (x("key"), x("base_nonce"))
    assert AESGCM(key).decrypt(nonce, x("ct"), x("aad")) == x("pt")


def test_the_library_suite_opens_the_rfc_vector() -> None:
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    sk = x25519.X25519PrivateKey.from_private_bytes(x("skRm"))
    opened = rust_openssl.hpke._decrypt_with_aad(  # the vector's first message has aad
        suite, x("enc") + x("ct"), sk, info=x("info"), aad=x("aad")
    )
    assert opened == x("pt")


def test_what_we_seal_opens_with_the_independent_rfc_implementation() -> None:
    sk = x25519.X25519PrivateKey.generate()
    sealed = seal(sk.public_key(), b"content key material", b"syncledger test info")
    enc, ct = sealed[:32], sealed[32:]
    key, nonce = key_schedule(decap(enc, sk), b"syncledger test info", aead_id=2, nk=32)
    assert AESGCM(key).decrypt(nonce, ct, b"") == b"content key material"
    assert open_sealed(sk, sealed, b"syncledger test info") == b"content key material"


def test_wrong_key_wrong_info_or_altered_bytes_do_not_open() -> None:
    sk, other = x25519.X25519PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    sealed = seal(sk.public_key(), b"secret", b"info")
    for key, data, info in (
        (other, sealed, b"info"),
        (sk, sealed, b"other info"),
        (sk, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"info"),
        (sk, sealed[:20], b"info"),
    ):
        with pytest.raises(HpkeOpenError):
            open_sealed(key, data, info)
