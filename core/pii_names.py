"""Customer names compared without being stored: a keyed digest per entity.

A customer's name and tax id are personal data here (a sole trader, a contact kept as a
customer: "Ann Lee"), so they are sealed with the other personal fields
(``Customer.PII_FIELDS``). Two readers still need to tell whether two names are the same
without opening every record: the sync's duplicate-name check (``core/sync_state.py``)
and the reconciler's comparison of the name pushed with the name the ledger holds
(``core/reconcile_checks.py``). They compare :func:`name_digest` values instead: an
HMAC-SHA256, under a key of the entity kept in ``keys.db`` (never in the log), of the
name as ledgers compare names (case and spacing do not count). An unkeyed hash of a
guessable name would give the name away to a dictionary; without the key the digest
tells nothing. The key belongs to the entity, not to a data subject: retention shreds
subjects' keys, so after erasure the digest left in the log only says "some name", and
confirming a guessed name needs ``keys.db``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, Final

from syncledger.core.ids import sha256_hex
from syncledger.core.keystore import KeyStore

#: digests carry their scheme, so a later one can sit beside them
DIGEST_PREFIX: Final = "nd1-"
#: the length (hex) a digest is cut to: 128 bits, ample to tell names apart
_HEX: Final = 32

#: reads a name (``None``: not a usable name) and returns its digest
NameDigest = Callable[[Any], str | None]


def name_key(name: Any) -> str | None:
    """Names the way ledgers compare them: case and spacing do not count."""
    return " ".join(name.casefold().split()) or None if isinstance(name, str) else None


def names_key_id(entity: str) -> str:
    """The id of the entity's name-digest key in ``keys.db`` (not a subject's ``dsk-``
    key: retention never shreds it)."""
    return "nmk-" + sha256_hex(f"{entity}\x00customer-names".encode())[:32]


def is_digest(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DIGEST_PREFIX)


def name_digest(key: bytes, name: Any) -> str | None:
    """The keyed digest of ``name`` (``None`` for no name)."""
    normal = name_key(name)
    if normal is None:
        return None
    mac = hmac.new(key, normal.encode("utf-8", "backslashreplace"), hashlib.sha256)
    return DIGEST_PREFIX + mac.hexdigest()[:_HEX]


def digester(keys: KeyStore, entity: str) -> NameDigest:
    """:func:`name_digest` under the entity's key (made on first use)."""
    key_id = names_key_id(entity)

    def digest(name: Any) -> str | None:
        if name_key(name) is None:
            return None
        return name_digest(keys.data_key(key_id, create=True), name)

    return digest
