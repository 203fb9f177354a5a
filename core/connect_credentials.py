"""``syncledger connect <ledger>`` for the token-based ledgers (NetSuite TBA, Odoo API
key): part of the composition root (it reaches ``adapters/<platform>/connect.py``).

1. what the ledger needs (each ledger's ``CredentialLedger``): from the command's flags,
   then the ``SYNCLEDGER_<LEDGER>_<NAME>`` variables, then (the required ones) asked,
   secrets with hidden input; the ledger's address is ``SYNCLEDGER_LEDGER_URL``;
2. checked with ONE harmless read the adapter already makes (``find`` of a customer by a
   reference no record has), with no earlier stored key in the way: a refusal is one line
   and exit 2 (``ConfigurationError``), and is noted for ``connections`` ("refused at last
   check", no secret in the note); an unreachable ledger is exit 3 (``LedgerUnavailable``)
   and changes nothing;
3. stored where opening the ledger reads them (``<data-dir>/tokens/<ledger>.credentials
   .json``, 0600 in a 0700 directory, replaced atomically; with ``--entity <name>`` for an
   entity with a ledger of its own, under ``tokens/<name>/``: beside the token file
   ``Settings.ledger_token_file`` names, which ``core/connect.py`` hands in);
   ``core/ledgers.py`` prefers a variable that is set, then this file;
4. the account / database beside them (``<ledger>.connection.json``, no secret) and
   ``LedgerConnected`` (method ``credentials``, never a secret) appended by
   ``core/connect.py``.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from syncledger.adapters.jsonwire import decode_json, encode_json
from syncledger.adapters.oauth2 import write_private
from syncledger.adapters.oauth2_connect import ConnectionRecord, save_connection
from syncledger.core.errors import (
    AuthExpiredError,
    ConfigurationError,
    LedgerUnavailable,
    PermanentLedgerError,
    TransientLedgerError,
)
from syncledger.core.redact import mask_url

CREDENTIAL_LEDGERS: dict[str, str] = {
    "netsuite": "syncledger.adapters.netsuite.connect",
    "odoo": "syncledger.adapters.odoo.connect",
}
#: the external reference the check looks up: no record carries it
CHECK_REF = "syncledger-connect-check"


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One thing a ledger needs: its name (``SYNCLEDGER_<LEDGER>_<NAME>``), how it is
    asked for, whether it must be given, and whether it is a secret (hidden input)."""

    name: str
    prompt: str
    required: bool = True
    secret: bool = False


@dataclass(frozen=True)
class CredentialLedger:
    """How a token-based ledger is connected (``adapters/<platform>/connect.py``).
    ``tenant_field``: the field naming the account / database; ``sandbox_values``: what
    its sandbox takes (printed by ``syncledger sandbox``); ``replaces_token_file``: the
    token file holds a key derived from the credentials (Odoo's rotated key), dropped
    when new credentials are connected."""

    id: str
    title: str
    tenant_field: str
    tenant_word: str
    fields: tuple[CredentialField, ...]
    sandbox_values: tuple[tuple[str, str], ...] = field(repr=False)
    url_hint: str
    replaces_token_file: bool = False


def credential_ledger(ledger: str) -> CredentialLedger | None:
    module = CREDENTIAL_LEDGERS.get(ledger)
    if module is None:
        return None
    found: CredentialLedger = importlib.import_module(module).CONNECT
    return found


def credentials_file(token_file: Path) -> Path:
    """``<ledger>.credentials.json`` beside the ledger's token file."""
    return token_file.with_name(token_file.stem + ".credentials.json")


def refusal_file(token_file: Path) -> Path:
    return token_file.with_name(token_file.stem + ".credentials.refused")


def load_credentials(token_file: Path) -> dict[str, str]:
    """The stored credentials ({} when none). A file that cannot be read is one line
    naming it and the way out."""
    path = credentials_file(token_file)
    try:
        raw = decode_json(path.read_bytes())
        return {str(k): str(v) for k, v in raw.items() if v is not None}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError) as exc:
        ledger = token_file.stem
        raise ConfigurationError(
            f"the credentials file {path} cannot be read: delete it and run "
            f"`syncledger connect {ledger}` again"
        ) from exc


def refused_at_last_check(token_file: Path) -> str | None:
    """The refusal the last ``connect`` check met (the ledger's code), else None."""
    try:
        return str(decode_json(refusal_file(token_file).read_bytes()).get("error", "refused"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        return "refused"


# ----------------------------------------------------------------- gather


Ask = Callable[[CredentialField], str]


def gather(
    spec: CredentialLedger,
    given: Mapping[str, str],
    environment: Mapping[str, str],
    ask: Ask,
) -> dict[str, str]:
    """Each field from the flags, else the variables; a required one not given is asked
    (an optional one is only ever given: a flag or a variable)."""
    values: dict[str, str] = {}
    for wanted in spec.fields:
        value = given.get(wanted.name) or environment.get(wanted.name)
        if not value and wanted.required:
            value = _asked(wanted, ask)
        if value:
            values[wanted.name] = value
    return values


def _asked(wanted: CredentialField, ask: Ask) -> str:
    value = ask(wanted).strip()
    if not value:
        raise ConfigurationError(f"connecting needs the {wanted.prompt}: nothing was given")
    return value


# ------------------------------------------------------------------ check


async def check(spec: CredentialLedger, ledger_url: str, values: Mapping[str, str]) -> None:
    """ONE read with ``values`` and nothing stored in the way (a temporary token file);
    a refusal is a ``ConfigurationError``, an unreachable ledger ``LedgerUnavailable``."""
    from syncledger.adapters.platforms import Connection, platform

    with tempfile.TemporaryDirectory(prefix="syncledger-connect-") as scratch:
        connection = Connection(ledger_url, Path(scratch) / "check.json", dict(values))
        adapter = platform(spec.id).connect(connection)
        try:
            await adapter.find("customer", CHECK_REF)
        except (AuthExpiredError, PermanentLedgerError) as exc:
            raise _refused(spec, exc) from exc
        except TransientLedgerError as exc:
            raise LedgerUnavailable(
                f"{spec.title} at {mask_url(ledger_url)} cannot be reached "
                f"({type(exc).__name__}): nothing was stored; run `syncledger connect "
                f"{spec.id}` again once it answers",
                code=exc.code,
            ) from exc
        finally:
            await adapter.aclose()


class CredentialsRefused(ConfigurationError):
    """The ledger refused the credentials (``code``: how it said so)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _refused(spec: CredentialLedger, exc: AuthExpiredError | PermanentLedgerError) -> Exception:
    code = exc.code or "refused"
    return CredentialsRefused(
        f"{spec.title} refused these credentials ({code}): nothing was stored; check "
        f"them and run `syncledger connect {spec.id}` again",
        code,
    )


# ------------------------------------------------------------------ store


def store(
    spec: CredentialLedger, token_file: Path, values: Mapping[str, str], ledger_url: str
) -> ConnectionRecord:
    """The checked credentials, the record beside them, the stale refusal and (Odoo) the
    key derived from earlier credentials gone."""
    write_private(credentials_file(token_file), encode_json(dict(values)))
    record = ConnectionRecord(
        ledger=spec.id,
        tenant=values.get(spec.tenant_field) or None,
        tenant_name=None,
        scopes=(),
        connected_at=time.time(),
        refresh_ttl=None,
        ledger_url=ledger_url,
    )
    save_connection(token_file, record)
    with contextlib.suppress(FileNotFoundError):
        refusal_file(token_file).unlink()
    if spec.replaces_token_file:
        with contextlib.suppress(FileNotFoundError):
            token_file.unlink()
    return record


def note_refusal(token_file: Path, code: str) -> None:
    """What ``connections`` tells as "refused at last check" (a code and a time only)."""
    write_private(refusal_file(token_file), encode_json({"error": code, "at": str(time.time())}))
