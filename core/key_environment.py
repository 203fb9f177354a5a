"""Which environment (dev / staging / prod) a key file was made for, and refusing to mix.

``SYNCLEDGER_ENVIRONMENT`` names the environment a process runs in (default ``dev``, so a
demo runs with nothing set; production sets ``prod``). Every key file records the
environment it was made for:

- ``keys.db``: a row of its ``keystore_meta`` table (see :mod:`syncledger.core.keystore`);
- the KEK file: a tag file beside it, ``<kek file>.environment`` (the KEK file itself
  stays the base64 key that every reader and secret manager already expects);
- the signing keyring: ``<data dir>/audit/signing/environment``;
- escrow shares: a ``environment:`` line (:mod:`syncledger.audit.escrow`).

A tag naming another environment than the configured one is refused with one line naming
both (:class:`EnvironmentMismatch`, a ``KeyStoreError``: exit 2). An untagged file made
before tags existed is adopted for the configured environment the first time it is opened.
A tag file that cannot be written (a read-only secret mount) leaves the file untagged and
says so: the ``keys.db`` tag still guards the data directory.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal, get_args

from syncledger.core.errors import KeyStoreError

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
#: the signing keyring's tag, relative to the data directory
KEYRING_TAG = Path("audit") / "signing" / "environment"


class EnvironmentMismatch(KeyStoreError):
    """A key file made for one environment, opened by a process configured for another."""


def mismatch(what: str, where: Path | str, found: str, configured: str) -> EnvironmentMismatch:
    named = f"{what} {where}" if str(where) else what
    return EnvironmentMismatch(
        f"{named} was made for the {found} environment, but this process runs as "
        f"{configured} (SYNCLEDGER_ENVIRONMENT): use the {configured} keys, or set "
        f"SYNCLEDGER_ENVIRONMENT={found} if that is where you are"
    )


def checked_environment(value: str, where: Path | str) -> str:
    """``value`` when it names an environment; a ``KeyStoreError`` naming ``where`` if not."""
    if value not in ENVIRONMENTS:
        raise KeyStoreError(
            f"{where} names the environment {value!r}, not one of {', '.join(ENVIRONMENTS)}: "
            "restore it from your backup"
        )
    return value


def kek_tag_file(kek_file: Path) -> Path:
    return kek_file.with_name(kek_file.name + ".environment")


def read_tag(tag: Path) -> str | None:
    """The environment a tag file names; None when there is no tag file."""
    try:
        text = tag.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyStoreError(f"cannot read {tag} ({exc.strerror or exc})") from exc
    return checked_environment(text, tag)


def check_tag(tag: Path, configured: str, what: str, subject: Path) -> bool:
    """True when ``subject`` is tagged for ``configured``; False when untagged;
    :class:`EnvironmentMismatch` when tagged for another environment."""
    found = read_tag(tag)
    if found is not None and found != configured:
        raise mismatch(what, subject, found, configured)
    return found is not None


def write_tag(tag: Path, environment: str) -> str | None:
    """Tag (0600, the directory 0700); None when done, else why it could not be."""
    tmp = tag.with_name(f".{tag.name}.{os.getpid()}.tmp")
    try:
        tag.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(environment + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, tag)
    except OSError as exc:
        with contextlib.suppress(OSError):
            if tmp.is_file():
                tmp.unlink()
        return str(exc.strerror or exc)
    return None
