"""HPKE (RFC 9180) base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.

Uses the HPKE implementation of ``cryptography`` (its single-shot ``Suite`` API; the
ciphertext is ``enc || ct``). Failures come back as :class:`HpkeOpenError`.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from syncledger.audit.errors import AuditError

SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
ENC_LENGTH = 32


class HpkeOpenError(AuditError):
    """The HPKE ciphertext did not open with this private key and info."""


def _suite() -> Suite:
    return Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def seal(recipient: x25519.X25519PublicKey, plaintext: bytes, info: bytes) -> bytes:
    return _suite().encrypt(plaintext, recipient, info=info)


def open_sealed(identity: x25519.X25519PrivateKey, sealed: bytes, info: bytes) -> bytes:
    try:
        return _suite().decrypt(sealed, identity, info=info)
    except (InvalidTag, ValueError) as exc:
        raise HpkeOpenError("HPKE ciphertext does not open with this key") from exc
