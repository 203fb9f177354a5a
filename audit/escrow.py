"""Emergency escrow of the KEK: split among custodians, any ``threshold`` of them rebuild it.

The splitting is SLIP-0039 Shamir secret sharing (the SatoshiLabs standard, "Shamir's
Secret-Sharing for Mnemonic Codes"), done by ``shamir-mnemonic``, its reference
implementation by the same authors: one group of ``count`` member shares with a member
threshold, over the 256-bit KEK. Limits, as that library enforces them (0.3.0:
``shamir.split_ems``, ``constants.MAX_SHARE_COUNT``): a secret of at least 128 bits and an
even number of bytes, at most 16 shares, and no threshold of 1 with several shares — which
would make every custodian hold the whole KEK anyway, so a threshold of at least 2 is
required here. SOURCES.md does not cover SLIP-0039; the facts above were read
from the library's source. The master secret is encrypted under the SLIP-0039 passphrase
``syncledger-kek/<environment>/<kek id>``: shares relabelled with another environment or
KEK id rebuild a wrong key, which the KEK id check refuses.

A share is a small text file (``key: value`` lines; the last holds the 33 words of the
share), 0600, naming its custodian, the KEK id and the environment it was made for. Its
words never enter a log, an event or an exception message (the library's messages quote
the first words of a share; they are replaced).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from syncledger.core.errors import KeyStoreError
from syncledger.core.key_environment import checked_environment, mismatch
from syncledger.core.keystore import kek_id_of

HEADER = "# syncledger KEK escrow share: secret; for the custodian named below only"
MAX_SHARES = 16  # SLIP-0039's limit on the members of a group
_SHARE_LINE = re.compile(r"(\d+) of (\d+) \((\d+) needed\)")
_FIELDS = ("custodian", "kek-id", "environment", "share", "words")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def _slip39() -> ModuleType:
    """The library, imported when used (it reads its word list on import)."""
    import shamir_mnemonic  # type: ignore[import-untyped]  # ships no type information

    module: ModuleType = shamir_mnemonic
    return module


class EscrowError(KeyStoreError):
    """Shares that cannot rebuild the KEK (too few, of another KEK or environment, damaged)."""


@dataclass(frozen=True)
class EscrowShare:
    custodian: str
    kek_id: str
    environment: str
    index: int  # 1..count, as handed out
    count: int
    threshold: int
    words: str  # the SLIP-0039 mnemonic: the secret part
    source: str = ""  # the file it was read from

    @property
    def named(self) -> str:
        where = f" ({self.source})" if self.source else ""
        return f"{self.custodian}'s share{where}"

    def __repr__(self) -> str:
        return f"EscrowShare({self.custodian!r}, {self.kek_id}, {self.index} of {self.count})"

    def to_text(self) -> str:
        return (
            f"{HEADER}\ncustodian: {self.custodian}\nkek-id: {self.kek_id}\n"
            f"environment: {self.environment}\n"
            f"share: {self.index} of {self.count} ({self.threshold} needed)\n"
            f"words: {self.words}\n"
        )

    @classmethod
    def from_text(cls, text: str, source: str = "") -> EscrowShare:
        fields = _fields(text, source)
        found = _SHARE_LINE.fullmatch(fields["share"])
        if found is None:
            raise EscrowError(f"{source}: 'share:' is not like '2 of 5 (3 needed)'")
        index, count, threshold = (int(g) for g in found.groups())
        return cls(
            custodian=fields["custodian"],
            kek_id=fields["kek-id"],
            environment=checked_environment(fields["environment"], source),
            index=index,
            count=count,
            threshold=threshold,
            words=" ".join(fields["words"].split()),
            source=source,
        )


def _fields(text: str, source: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in _FIELDS:
            fields[name.strip()] = value.strip()
    missing = [name for name in _FIELDS if not fields.get(name)]
    if missing:
        raise EscrowError(
            f"{source} is not a syncledger KEK escrow share (no {', '.join(missing)})"
        )
    return fields


def _passphrase(environment: str, kek_id: str) -> bytes:
    return f"syncledger-kek/{environment}/{kek_id}".encode()


def check_custodians(custodians: Sequence[str], threshold: int) -> None:
    """``EscrowError`` unless 2 <= threshold <= len(custodians) <= 16, names distinct."""
    if not 2 <= len(custodians) <= MAX_SHARES:
        raise EscrowError(f"give 2 to {MAX_SHARES} custodians (SLIP-0039), not {len(custodians)}")
    if not 2 <= threshold <= len(custodians):
        raise EscrowError(
            f"the threshold must be 2 to {len(custodians)} (the custodians), not {threshold}: "
            "with 1, each custodian would hold the whole KEK"
        )
    bad = [n for n in custodians if not n.strip() or "\n" in n or n != n.strip()]
    if bad or len(set(custodians)) != len(custodians):
        raise EscrowError("custodian names must be distinct, non-empty, one line each")


def split_kek(
    kek: bytes, environment: str, custodians: Sequence[str], threshold: int
) -> list[EscrowShare]:
    """One share per custodian, any ``threshold`` of which rebuild ``kek``."""
    check_custodians(custodians, threshold)
    kek_id = kek_id_of(kek)
    (group,) = _slip39().generate_mnemonics(
        1, [(threshold, len(custodians))], kek, _passphrase(environment, kek_id)
    )
    return [
        EscrowShare(name, kek_id, environment, i, len(custodians), threshold, words)
        for i, (name, words) in enumerate(zip(custodians, group, strict=True), start=1)
    ]


def combine_shares(shares: Sequence[EscrowShare], environment: str) -> bytes:
    """The KEK rebuilt from ``shares`` (made for ``environment``); refused, one line each,
    for shares of several KEKs or environments, fewer than the threshold, or a result that
    is not the KEK the shares name."""
    first = _one_escrow(shares, environment)
    chosen = list({s.words: s for s in shares}.values())[: first.threshold]
    if len(chosen) < first.threshold:
        raise EscrowError(
            f"{len(chosen)} distinct share(s) given, {first.threshold} needed to rebuild "
            f"{first.kek_id} (escrow: {first.threshold} of {first.count})"
        )
    slip39 = _slip39()
    try:
        kek: bytes = slip39.combine_mnemonics(
            [s.words for s in chosen], _passphrase(environment, first.kek_id)
        )
    except (slip39.MnemonicError, ValueError) as exc:
        said = _QUOTED.sub("(words not shown)", str(exc))  # never echo a share's words
        raise EscrowError(f"the shares do not rebuild a key together: {said}") from None
    if kek_id_of(kek) != first.kek_id:
        raise EscrowError(
            f"the shares rebuild {kek_id_of(kek)}, not {first.kek_id} as they say: a share "
            "was relabelled or belongs to another escrow"
        )
    return kek


def _one_escrow(shares: Sequence[EscrowShare], environment: str) -> EscrowShare:
    if not shares:
        raise EscrowError("no shares given: pass --share FILE once per custodian's share")
    first = shares[0]
    for share in shares:
        if share.environment != environment:
            raise mismatch(share.named, "", share.environment, environment)
        if share.kek_id != first.kek_id:
            raise EscrowError(
                f"{share.named} is of {share.kek_id}, {first.named} of {first.kek_id}: "
                "give shares of one escrow"
            )
    return first


def read_share(path: Path) -> EscrowShare:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise EscrowError(f"cannot read the share {path} ({exc})") from None
    return EscrowShare.from_text(text, str(path))
