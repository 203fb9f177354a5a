"""The one error tree of syncledger.

Every exception a caller can see is one of these; library exceptions (httpx, nats,
SQLAlchemy, cryptography) are translated at the boundary that meets them.

::

    SyncLedgerError
    ├── ConfigurationError          bad settings / CLI arguments (what to set, and how)
    ├── ValidationError             a record broke a named rule (reason codes inside)
    ├── MoneyError                  invalid amount or currency, mixed currencies
    ├── EventStoreError             the log could not be read or written
    │   ├── ConcurrencyError        per-record optimistic concurrency failed (JetStream 10071)
    │   ├── ImmutableLogError       someone tried to delete or purge the log
    │   ├── UndecodableEvent        stored bytes that do not read as their typed event
    │   ├── LogMissing              the log stream this data directory used is gone
    │   └── EventStoreUnavailable   the server could not be reached / acked in time
    │       └── LogNotWritable      the server answers but cannot store (disk full, I/O error)
    ├── KeyStoreError               data keys: missing, shredded, unwrap failed
    │   └── SubjectErased           the subject's key was shredded (crypto-shredding)
    ├── LedgerError                 talking to an accounting ledger failed
    │   ├── TransientLedgerError    retry later (retry_after seconds, if the ledger said)
    │   │   └── LedgerUnavailable   the ledger did not answer for a while; records wait
    │   ├── PermanentLedgerError    the ledger refused (platform code + message)
    │   ├── StaleVersionError       the record changed in the ledger (SyncToken, …)
    │   └── AuthExpiredError        credentials must be refreshed or re-granted
    ├── SourceError                 reading a source system failed
    ├── OwnershipLost               this process no longer holds the entity+ledger push lease
    ├── LeaseHeld                   another process pushes this entity+ledger (who, since when)
    └── ProjectionError             a read model could not be built or verified
"""

from __future__ import annotations


class SyncLedgerError(Exception):
    """Root of every error syncledger raises on purpose."""


class ConfigurationError(SyncLedgerError):
    """A setting or argument is wrong; the message says what to set."""


class ValidationError(SyncLedgerError):
    """A record broke one or more named validation rules."""

    def __init__(self, message: str, reasons: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class MoneyError(SyncLedgerError):
    """An amount or a currency is invalid, or two currencies were mixed."""


class EventStoreError(SyncLedgerError):
    """The event log could not be read or written."""


class ConcurrencyError(EventStoreError):
    """Another writer appended to this record first (expected version did not match)."""

    def __init__(self, subject: str, expected: int, detail: str = "") -> None:
        super().__init__(
            f"concurrent write on {subject}: expected last sequence {expected}"
            + (f" ({detail})" if detail else "")
        )
        self.subject = subject
        self.expected = expected


class UndecodableEvent(EventStoreError):
    """Stored bytes that do not read as their typed event (not an envelope, an unknown
    type, no upcaster to the current version, or data that does not validate)."""


class ImmutableLogError(EventStoreError):
    """Deleting or purging events is refused: the log is append-only."""


class LogMissing(EventStoreError):
    """The log stream does not exist: created only at first-time setup, never again."""


class EventStoreUnavailable(EventStoreError):
    """The event store did not answer in time; the write may or may not have landed."""


class LogNotWritable(EventStoreUnavailable):
    """The log's server answers but does not store events (its disk is full or failing):
    nothing was written; writes resume once it can store again."""


class KeyStoreError(SyncLedgerError):
    """A data key could not be created, found or unwrapped."""


class SubjectErased(KeyStoreError):
    """The data subject's key was shredded; its personal data reads as erased."""


class LedgerError(SyncLedgerError):
    """Talking to an accounting ledger failed (``step``: which write of a multi-write
    operation, when it was one)."""

    step: str | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientLedgerError(LedgerError):
    """Temporary failure (timeout, 5xx, throttling): retry, after ``retry_after`` if set."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class LedgerUnavailable(TransientLedgerError):
    """The ledger did not answer for the whole wait: the records stay queued in the log and
    are pushed once it answers again."""


class PermanentLedgerError(LedgerError):
    """The ledger refused the request; retrying the same payload will not help."""


class StaleVersionError(LedgerError):
    """The ledger record changed since we read it (SyncToken / EditSequence mismatch)."""


class AuthExpiredError(LedgerError):
    """The ledger credentials expired or were revoked; refresh or re-authorise."""


class OwnershipLost(SyncLedgerError):
    """This process's push lease on an entity+ledger lapsed or was taken: stop writing."""


class LeaseHeld(SyncLedgerError):
    """Another process holds the push lease for this entity+ledger; the message says who."""


class SourceError(SyncLedgerError):
    """A source system could not be read."""


class ProjectionError(SyncLedgerError):
    """A read model could not be built, replayed or verified."""
