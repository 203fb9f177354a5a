"""The exit codes of every ``syncledger`` command (the table in README.md "Exit codes" and
docs/operations.md): one place, so the CLI and the audit commands agree."""

from __future__ import annotations

from syncledger.core.errors import (
    ConfigurationError,
    EventStoreUnavailable,
    KeyStoreError,
    LeaseHeld,
    LedgerUnavailable,
    OwnershipLost,
    SubjectErased,
    SyncLedgerError,
)

#: the command did what it was asked and nothing needs attention
OK = 0
#: the command ran, but something needs attention (rejections, open mismatches,
#: abandoned pushes, parked alerts, a failed verification)
ATTENTION = 1
#: usage or configuration error: a wrong argument, setting, or file around the data
USAGE = 2
#: a service (the log's NATS server, the ledger) cannot be reached now: nothing is lost,
#: run the command again once it is back
UNAVAILABLE = 3
#: a bug: one line unless SYNCLEDGER_DEBUG is set
INTERNAL = 70
#: another process pushes this entity+ledger (sysexits EX_TEMPFAIL): nothing was pushed
PUSH_OWNED_ELSEWHERE = 75
#: interrupted (Ctrl-C) or aborted at a prompt
ABORTED = 130
#: the reader of stdout went away (``| head``): nothing more is printed, not even an
#: error line; 1, as click and rich (which print most output) end such a command
BROKEN_PIPE = 1


def exit_code_of(exc: SyncLedgerError) -> int:
    """3 cannot reach a service; 2 configuration (and a broken file around the data, e.g.
    an unreadable key file); 75 another process pushes; 1 anything else."""
    if isinstance(exc, LedgerUnavailable | EventStoreUnavailable):
        return UNAVAILABLE
    if isinstance(exc, ConfigurationError):
        return USAGE
    if isinstance(exc, KeyStoreError) and not isinstance(exc, SubjectErased):
        return USAGE
    if isinstance(exc, LeaseHeld | OwnershipLost):
        return PUSH_OWNED_ELSEWHERE
    return ATTENTION
