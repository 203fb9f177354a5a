"""How every command logs: one line per record on stderr, as text for a person or as JSON
(structlog) for a log shipper; passwords and tokens masked either way.

- ``SYNCLEDGER_LOG_FORMAT``: ``text`` (default) or ``json`` — one JSON object a line with
  ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``event`` and the context a command
  bound (``entity``, ``ledger``, ``run_id`` for ``run``, ``ref`` while a record is handled),
  and ``exception`` (the masked traceback) where there is one.
- ``SYNCLEDGER_LOG_LEVEL``: ``debug``, ``info``, ``warning`` (default), ``error``.

``run``'s own lines (its start banner, a line per cycle that did something, taking over
and losing the push lease) are always shown: logger ``syncledger.run`` at INFO, printed as
the bare line in text mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from syncledger.core.errors import ConfigurationError
from syncledger.core.redact import install_masking, mask_text

RUN_LOGGER = "syncledger.run"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS |= {"error": logging.ERROR}
FORMATS = ("text", "json")


class _TextFormatter(logging.Formatter):
    """``LEVEL logger: message``; ``run``'s own lines bare."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == RUN_LOGGER and record.levelno == logging.INFO:
            return record.getMessage()
        return super().format(record)


def _masked_exception(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The traceback the masking filter left on the record (it drops ``exc_info``)."""
    record = event.get("_record")
    if isinstance(record, logging.LogRecord) and record.exc_text:
        event["exception"] = record.exc_text
    return event


def _masked_values(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str) and not key.startswith("_"):
            event[key] = mask_text(value)
    return event


def json_formatter() -> logging.Formatter:
    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _masked_exception,
        _masked_values,
    ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    )


def chosen(environ: MutableMapping[str, str] | None = None) -> tuple[int, str]:
    """The level and format the environment asks for; ConfigurationError naming the
    variable and the values it takes when it asks for something else."""
    env = os.environ if environ is None else environ
    level_name = env.get("SYNCLEDGER_LOG_LEVEL", "warning").strip().lower()
    fmt = env.get("SYNCLEDGER_LOG_FORMAT", "text").strip().lower()
    if level_name not in LEVELS:
        raise ConfigurationError(
            f"SYNCLEDGER_LOG_LEVEL={level_name!r} is not a level: use one of {', '.join(LEVELS)}"
        )
    if fmt not in FORMATS:
        raise ConfigurationError(f"SYNCLEDGER_LOG_FORMAT={fmt!r} is not a format: use text or json")
    return LEVELS[level_name], fmt


def configure(
    level: int = logging.WARNING, fmt: str = "text", stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else _TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger(RUN_LOGGER).setLevel(min(level, logging.INFO))
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))  # INFO carries queries
    install_masking()  # no log line shows a password, whoever wrote it


class IdleFetchFilter(logging.Filter):
    """Drops FastStream's report of a pull fetch that timed out on an idle stream (its
    supervisor restarts the fetch, and a traceback would alarm an operator for nothing).

    Not always nothing: before ``core.worker.FetchTimeouts``, a bare ``TimeoutError`` out
    of nats-py's fetch escaped FastStream's batch loop with the batch in hand, which then
    waited for ``ack_wait`` — this filter hid those reports. The worker now turns that
    timeout into the one FastStream expects, so such a report should no longer occur from
    the worker's batch loop; if stalls of ``ack_wait`` come back, look here first."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        idle = isinstance(exc, TimeoutError) and "retrying" in record.getMessage()
        return not idle


def quiet_idle_fetches(logger: logging.Logger) -> None:
    if not any(isinstance(f, IdleFetchFilter) for f in logger.filters):
        logger.addFilter(IdleFetchFilter())


def log_context(**context: str) -> contextlib.AbstractContextManager[object]:
    """Context the log lines inside the block carry (JSON format), e.g. the record's ref."""
    return structlog.contextvars.bound_contextvars(**context)


def bind(**context: str) -> None:
    """Context every later log line of this task carries (JSON format)."""
    structlog.contextvars.bind_contextvars(**context)
