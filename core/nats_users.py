"""The NATS users syncledger's log needs, and what each may do (issue 19 §4).

One definition serves the embedded server (``core/embedded.py`` writes it into its
configuration with generated passwords) and a server you run yourself
(:func:`authorization_block` without passwords reads each from an environment variable;
``docs/security.md`` and ``compose.yaml`` carry that block, and a test keeps them equal).

- ``syncledger``: the app (commands and the worker). Publishes the log (``sl.>``), the
  lease bucket and the rate-usage bucket (``SL_RATES``, adapters/rate_usage_kv.py), reads
  streams, uses consumers; may create only those two buckets' streams;
  can never delete, purge or update a stream or delete a message.
- ``syncledger-admin``: the JetStream API; syncledger uses it only to create the log at
  first-time setup. Publishes nothing on ``sl.>``.
- ``syncledger-reader``: reads the log (stream info, message get, ordered consumers) for
  people and tools that inspect it; publishes nothing on ``sl.>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

APP_USER = "syncledger"
ADMIN_USER = "syncledger-admin"
READER_USER = "syncledger-reader"
LEASE_STREAM = "KV_SL_LEASES"  # the push-lease bucket SL_LEASES (core/lease.py)
RATES_STREAM = "KV_SL_RATES"  # the rate-usage bucket SL_RATES (adapters/rate_usage_kv.py)


@dataclass(frozen=True)
class Role:
    """A NATS user's permissions: what it may publish to and subscribe to."""

    user: str
    name: str  # app, admin, reader: names its password variable and secret file
    publish: tuple[str, ...]
    subscribe: tuple[str, ...] = ("_INBOX.>",)
    deny_publish: tuple[str, ...] = ()

    @property
    def password_variable(self) -> str:
        """The environment variable a self-run server's configuration reads it from."""
        return f"SL_{self.name.upper()}_PASSWORD"

    def conf(self, password: str) -> str:
        """This user in nats-server configuration syntax (``password`` as written)."""
        deny = f"          deny: {_conf_list(self.deny_publish)}\n" if self.deny_publish else ""
        return (
            "    {\n"
            f"      user: {json.dumps(self.user)}\n"
            f"      password: {password}\n"
            "      permissions: {\n"
            "        publish: {\n"
            f"          allow: {_conf_list(self.publish)}\n"
            f"{deny}"
            "        }\n"
            f"        subscribe: {{ allow: {_conf_list(self.subscribe)} }}\n"
            "      }\n"
            "    }\n"
        )


def _conf_list(subjects: tuple[str, ...]) -> str:
    if len(subjects) == 1:
        return f"[{json.dumps(subjects[0])}]"
    inner = ",\n".join(f"            {json.dumps(s)}" for s in subjects)
    return f"[\n{inner}\n          ]"


_READ_API = (
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>",
    "$JS.FC.>",  # flow-control replies of ordered consumers
)
_NEVER = (  # explicit, although nothing grants them: deny wins over any later allow
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
    "$JS.API.STREAM.UPDATE.>",
    "$JS.API.STREAM.SNAPSHOT.>",
    "$JS.API.STREAM.RESTORE.>",
)
APP = Role(
    APP_USER,
    "app",
    publish=(
        "sl.>",
        "$KV.SL_LEASES.>",
        "$KV.SL_RATES.>",
        *_READ_API,
        "$JS.API.CONSUMER.>",
        "$JS.ACK.>",
        f"$JS.API.STREAM.CREATE.{LEASE_STREAM}",
        f"$JS.API.STREAM.CREATE.{RATES_STREAM}",
    ),
    deny_publish=_NEVER,
)
ADMIN = Role(ADMIN_USER, "admin", publish=("$JS.API.>",), deny_publish=("sl.>", "$KV.>"))
READER = Role(
    READER_USER,
    "reader",
    publish=(
        *_READ_API,
        "$JS.API.CONSUMER.CREATE.>",
        "$JS.API.CONSUMER.INFO.>",
        "$JS.API.CONSUMER.MSG.NEXT.>",
    ),
    deny_publish=("sl.>", "$KV.>", *_NEVER),
)
ROLES = (APP, ADMIN, READER)


def authorization_block(passwords: Mapping[str, str] | None = None) -> str:
    """The ``authorization { users = [...] }`` section of the roles. Without
    ``passwords`` each password is read from an environment variable
    (``$SL_APP_PASSWORD``, …): the block for a server you run yourself (README Security)."""
    users = "".join(
        r.conf(json.dumps(passwords[r.user]) if passwords else f"${r.password_variable}")
        for r in ROLES
    )
    return f"authorization {{\n  users = [\n{users}  ]\n}}\n"
