"""Who is acting on a legal hold, and whether they hold the compliance role.

The identity is not free text typed on the command line: it is the configured actor
(``actor`` in syncledger.toml / ``SYNCLEDGER_ACTOR``) when one is set, otherwise the
operating-system account running the command (looked up from the process's user id, not
from ``$USER``). The compliance role is granted in ``<data dir>/audit/roles.toml``::

    compliance = ["alice", "legal-bot"]

Nothing documents a directory service for this, so the safe path is taken: with no such
file nobody holds the role, and extending or releasing a hold is refused with how to grant
it. Anyone who can write the data directory can edit the file; keep it as private as the
keys beside it.
"""

from __future__ import annotations

import os
import pwd
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from syncledger.audit.context import AuditContext
from syncledger.audit.errors import HoldError
from syncledger.core.errors import ConfigurationError

#: the actor every installation has until one is configured: it names no one
GENERIC_ACTOR = "syncledger"
COMPLIANCE = "compliance"


class Roles(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    compliance: tuple[str, ...] = Field(default=())

    @classmethod
    def load(cls, path: Path) -> Roles:
        if not path.exists():
            return cls()
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError, PydanticValidationError) as exc:
            raise ConfigurationError(f"roles file {path} is not valid: {exc}") from exc


def os_user() -> str:
    """The account of this process (from its uid: not an environment variable)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid:{os.getuid()}"


def operator(ctx: AuditContext) -> str:
    """The configured actor when one is set, else the operating-system user."""
    return ctx.actor if ctx.actor and ctx.actor != GENERIC_ACTOR else os_user()


def roles_file(ctx: AuditContext) -> Path:
    return ctx.audit_dir / "roles.toml"


def require_compliance(ctx: AuditContext, action: str) -> str:
    """The acting identity, when it holds the compliance role; else a refusal."""
    who = operator(ctx)
    if who not in Roles.load(roles_file(ctx)).compliance:
        raise HoldError(
            f"{who} may not {action}: only an identity with the compliance role may "
            f"(list it under compliance = [...] in {roles_file(ctx)})"
        )
    return who
