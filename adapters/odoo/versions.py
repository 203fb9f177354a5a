"""Which Odoo release a database runs, and the fields syncledger writes on each.

Supported: 17.0, 18 and 19 (and their SaaS releases after 18.0). Detected once per
connection: over XML-RPC with ``common.version()`` (no login needed; ``server_version_info``
is ``[17, 0, 0, "final", 0, ""]``, or ``["saas~17", 2, ...]`` for a SaaS release:
``odoo/release.py``, ``odoo/service/common.py`` ``exp_version``); JSON-2 exists only from
19.0 (odoo/documentation ``external_api.rst``, "new JSON-2 API"), so a database answering
it is 19 or newer and is not asked.

What differs for us (Odoo's own models, compared by OCA/OpenUpgrade's analysis of them:
``openupgrade_scripts/scripts/account/18.0.1.3/upgrade_analysis.txt`` for 17.0 → 18.0 and
``19.0.1.4/upgrade_analysis.txt`` for 18.0 → 19.0; odoo/odoo itself, 19 GB, could not be
fetched here):

============================ =============================== ==========================
what                         17.0                            18, 19
============================ =============================== ==========================
a payment's memo (our ref)   ``ref``: ``account.payment``    ``memo`` ("account.payment
                             ``_inherits`` ``account.move``  / memo (char) : NEW" in 18;
                             (the register wizard's          the ``_inherits`` is "DEL"
                             ``communication`` fills it)     there)
an invoice's own rate        none: the move converts at      ``invoice_currency_rate``
                             ``res.currency``'s rate for     ("account.move /
                             its date                        invoice_currency_rate
                                                             (float) : NEW" in 18)
============================ =============================== ==========================

Neither changes from 18 to 19. On 17, syncledger never lets Odoo convert at a rate the
source did not give: before writing a foreign-currency document it reads the rate 17 will
use (``res.currency.rate`` computed for the document's date, context ``date``:
``res.currency._compute_current_rate``) and writes the document only when that rate is the
source's; otherwise the record is refused (``syncledger.exchange_rate_differs``) saying
which rate to enter in Odoo. Below 17.0, and on a SaaS release between 17.0 and 18.0 (whose
fields moved in steps not documented here), the connection is refused
(``ConfigurationError``): one line saying what runs and what is supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncledger.core.errors import ConfigurationError

OLDEST = 17
NEWEST_KNOWN = 19
#: relative difference below which Odoo's float rate is the source's rate
RATE_TOLERANCE = Decimal("1E-9")


@dataclass(frozen=True, slots=True)
class OdooDialect:
    """The fields one Odoo release has, where they differ between supported releases."""

    serie: str  # "17.0", "saas~18.2", "19.0"
    major: int
    #: the ``account.payment`` field holding a payment's memo (our reference)
    payment_memo: str
    #: ``account.move``'s field for the document's own rate, None when the release has none
    rate_field: str | None

    def field(self, model: str, name: str) -> str:
        """``name`` as this release calls it (the mapping file names 18+ fields)."""
        if model == "account.payment" and name == "memo":
            return self.payment_memo
        return name


ODOO_17 = OdooDialect("17.0", 17, payment_memo="ref", rate_field=None)
JSON2 = OdooDialect("19.0", 19, payment_memo="memo", rate_field="invoice_currency_rate")


def dialect_of(version: Any) -> OdooDialect:
    """The dialect of the release ``common.version()`` describes; refused below 17.0."""
    major, minor, serie = _parse(version)
    if major < OLDEST or (major == OLDEST and minor > 0):
        raise ConfigurationError(_unsupported(serie, major))
    if major == OLDEST:
        return ODOO_17
    return OdooDialect(serie, major, payment_memo="memo", rate_field="invoice_currency_rate")


def same_rate(odoo: Decimal, ours: Decimal) -> bool:
    """Odoo keeps rates as floats: equal within ``RATE_TOLERANCE`` relative."""
    return ours > 0 and abs(odoo - ours) <= ours * RATE_TOLERANCE


def _parse(version: Any) -> tuple[int, int, str]:
    info = version.get("server_version_info") if isinstance(version, Mapping) else None
    if not isinstance(info, list | tuple) or len(info) < 2:
        raise ConfigurationError(
            f"Odoo's common.version() answered {version!r}, not a server version: check "
            "that the URL is an Odoo server"
        )
    head = str(info[0])
    try:
        major, minor = int(head.removeprefix("saas~")), int(info[1])
    except ValueError:
        raise ConfigurationError(f"Odoo reports the unknown version {head!r}") from None
    serie = str(version.get("server_serie") or f"{head}.{minor}")
    return major, minor, serie


def _unsupported(serie: str, major: int) -> str:
    if major == OLDEST:
        why = "a SaaS release between 17.0 and 18.0, whose fields syncledger does not know"
    else:
        why = f"older than {OLDEST}.0, the oldest release syncledger supports"
    return (
        f"Odoo {serie} is {why}: syncledger supports Odoo {OLDEST}.0, 18 and "
        f"{NEWEST_KNOWN} (over XML-RPC before 19, JSON-2 from 19); upgrade the database "
        "or sync it another way"
    )
