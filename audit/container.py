"""The inner file container of an audit package: named files, every byte accounted for.

Layout: ``SLAUDIT-FILES/1\\n``, a u32 file count, then per file a u16 name length, the
UTF-8 name, a u64 data length and the data. Names are unique and sorted; nothing may
follow the last file. (A zip has unauthenticated metadata; this has none.)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from syncledger.audit.errors import PackageInvalid

MAGIC = b"SLAUDIT-FILES/1\n"


def pack_files(files: Mapping[str, bytes]) -> bytes:
    parts = [MAGIC, struct.pack(">I", len(files))]
    for name in sorted(files):
        encoded = name.encode()
        parts += [
            struct.pack(">H", len(encoded)),
            encoded,
            struct.pack(">Q", len(files[name])),
            files[name],
        ]
    return b"".join(parts)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PackageInvalid("container-corrupt", "the file container ends early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def number(self, fmt: str) -> int:
        (value,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return int(value)


def unpack_files(data: bytes) -> dict[str, bytes]:
    reader = _Reader(data)
    if reader.take(len(MAGIC)) != MAGIC:
        raise PackageInvalid("container-corrupt", "not a syncledger file container")
    files: dict[str, bytes] = {}
    previous = ""
    for _ in range(reader.number(">I")):
        name = _name(reader.take(reader.number(">H")))
        if name <= previous:
            raise PackageInvalid("container-corrupt", f"file {name!r} is out of order")
        files[name] = reader.take(reader.number(">Q"))
        previous = name
    if reader.pos != len(data):
        raise PackageInvalid("container-corrupt", "bytes follow the last file")
    return files


def _name(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise PackageInvalid("container-corrupt", "a file name is not UTF-8") from exc
