"""Shapes the console's pages lay out: the error queue's lines and the alert book by
channel. Pure functions over what the backend returned; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from syncledger.core.alerts import AlertBook, AlertState


@dataclass(frozen=True, slots=True)
class ErrorLine:
    """One line of ``syncledger errors``: its depth (indent / 2), text, and what it is."""

    depth: int
    text: str
    role: str  # head | fix | item


def error_lines(lines: list[str]) -> list[ErrorLine]:
    return [_error_line(line) for line in lines if line.strip()]


def _error_line(line: str) -> ErrorLine:
    text = line.strip()
    depth = (len(line) - len(line.lstrip(" "))) // 2
    role = "head" if depth == 0 else "fix" if text.startswith("fix:") else "item"
    return ErrorLine(depth, text, role)


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert_id: str
    title: str
    status: str  # delivered | pending | parked | withdrawn | in digest
    attempts: int
    next_try: str
    reason: str  # why it is parked, or the last failure


@dataclass(frozen=True, slots=True)
class ChannelView:
    channel: str
    counts: tuple[tuple[str, int], ...]  # (status, how many), by status
    parked: str | None  # the whole channel is parked, and why
    alerts: tuple[AlertRow, ...]


def channels(book: AlertBook) -> list[ChannelView]:
    names = {a.channel for a in book.alerts.values()} | set(book.parked_channels)
    return [_channel(book, name) for name in sorted(names)]


def _channel(book: AlertBook, name: str) -> ChannelView:
    mine = sorted((a for a in book.alerts.values() if a.channel == name), key=lambda a: a.raised_at)
    counts: dict[str, int] = {}
    for a in mine:
        counts[a.status()] = counts.get(a.status(), 0) + 1
    rows = tuple(_row(a) for a in mine)
    return ChannelView(name, tuple(sorted(counts.items())), book.parked_channels.get(name), rows)


def _row(a: AlertState) -> AlertRow:
    when = a.retry_at or a.raised.not_before
    waiting = a.status() == "pending" and when is not None
    next_try = f"{when:%Y-%m-%d %H:%M:%S} UTC" if waiting and when is not None else ""
    reason = a.parked or a.withdrawn or a.last_reason or ""
    return AlertRow(a.alert_id, a.raised.title, a.status(), a.attempts, next_try, reason)


def parked_alerts(book: AlertBook) -> int:
    return sum(1 for a in book.alerts.values() if a.status() == "parked")
