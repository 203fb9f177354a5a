"""``syncledger alerts``: what was told to whom, the dead-letter list, replay and test.

Exit codes: 0 nothing needs attention; 1 an alert or a channel is parked (the list says
how to replay it), or ``alerts test`` was not taken; 2 an unknown channel or alert id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from syncledger.core.alerts import AlertBook, AlertState
from syncledger.core.settings import Settings

alerts_app = typer.Typer(
    help="Finance alerts: delivered, waiting, parked; replay and test.",
    invoke_without_command=True,
)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="state directory (default .syncledger)")
]
Entity = Annotated[str | None, typer.Option("--entity", help="fiscal entity")]


def _settings(data_dir: Path | None, entity: str | None) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if entity is not None:
        overrides["entity"] = entity
    return Settings(**overrides)


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    data_dir: DataDir = None,
    entity: Entity = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Every alert by channel: delivered, waiting (next try), parked (the dead-letter list)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = (data_dir, entity)
        return
    book = asyncio.run(_book(_settings(data_dir, entity)))
    typer.echo(json.dumps(book_json(book), sort_keys=True) if json_out else book_text(book))
    if _needs_attention(book):
        raise typer.Exit(1)


async def _book(settings: Settings) -> AlertBook:
    from syncledger.core.bootstrap import open_runtime

    async with open_runtime(settings) as rt:
        book = AlertBook(settings.entity)
        await book.catch_up(rt.store)
        return book


def _needs_attention(book: AlertBook) -> bool:
    return bool(book.parked_channels) or any(a.parked for a in book.alerts.values())


def book_text(book: AlertBook) -> str:
    if not book.alerts and not book.parked_channels:
        return "no alerts yet"
    lines: list[str] = []
    for channel in sorted({a.channel for a in book.alerts.values()} | set(book.parked_channels)):
        mine = [a for a in book.alerts.values() if a.channel == channel]
        counts: dict[str, int] = {}
        for a in mine:
            counts[a.status()] = counts.get(a.status(), 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        lines.append(f"channel {channel}: {summary or 'no alerts'}")
        if channel in book.parked_channels:
            lines.append(
                f"  PARKED: {book.parked_channels[channel]} — fix the endpoint, then "
                f"`syncledger alerts replay --channel {channel}`"
            )
        lines.extend(_detail(a) for a in mine if a.status() in ("pending", "parked"))
    return "\n".join(lines)


def _detail(a: AlertState) -> str:
    if a.parked is not None:
        return (
            f"  parked   {a.alert_id}  {a.raised.title}\n"
            f"           why: {a.parked}; `syncledger alerts replay {a.alert_id}`"
        )
    when = a.retry_at or a.raised.not_before
    next_try = f", next try {when:%Y-%m-%d %H:%M:%S} UTC" if when else ""
    last = f" (last: {a.last_reason})" if a.last_reason else ""
    return f"  waiting  {a.alert_id}  {a.raised.title}: {a.attempts} attempts{next_try}{last}"


def book_json(book: AlertBook) -> dict[str, object]:
    return {
        "entity": book.entity,
        "parked_channels": dict(book.parked_channels),
        "alerts": [_alert_json(a) for a in book.alerts.values()],
    }


def _alert_json(a: AlertState) -> dict[str, object]:
    return {
        "alert_id": a.alert_id,
        "channel": a.channel,
        "type": a.raised.event_type,
        "title": a.raised.title,
        "status": a.status(),
        "attempts": a.attempts,
        "next_try": a.retry_at.isoformat() if a.retry_at else None,
        "last_reason": a.last_reason,
        "parked": a.parked,
        "withdrawn": a.withdrawn,
        "digest": a.digest,
        "raised_at": a.raised_at.isoformat(),
        "delivered_at": a.delivered_at.isoformat() if a.delivered_at else None,
    }


def _where(ctx: typer.Context, data_dir: Path | None, entity: str | None) -> Settings:
    """The options given after the subcommand, else those given before it."""
    before = ctx.obj if isinstance(ctx.obj, tuple) else (None, None)
    return _settings(data_dir or before[0], entity or before[1])


@alerts_app.command("deliver")
def alerts_deliver(ctx: typer.Context, data_dir: DataDir = None, entity: Entity = None) -> None:
    """Raise alerts from what the log holds and try every due one now (``run`` does this
    every few seconds by itself)."""
    from syncledger.core.alert_jobs import deliver_alerts

    typer.echo(asyncio.run(deliver_alerts(_where(ctx, data_dir, entity))).text())


@alerts_app.command("replay")
def alerts_replay(
    ctx: typer.Context,
    alert_ids: Annotated[list[str] | None, typer.Argument(help="alert ids to send again")] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="resume a parked channel, replay its alerts")
    ] = None,
    parked: Annotated[bool, typer.Option("--parked", help="every parked alert")] = False,
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Send parked (or named) alerts again, with the same alert id (receivers deduplicate)."""
    from syncledger.core.alert_jobs import alert_desk
    from syncledger.core.bootstrap import open_runtime

    if not alert_ids and channel is None and not parked:
        raise typer.BadParameter("name alert ids, --channel NAME or --parked")

    async def go() -> list[str]:
        async with open_runtime(_where(ctx, data_dir, entity)) as rt, alert_desk(rt) as desk:
            await desk.book.catch_up(rt.store)
            _known(desk.book, alert_ids or (), channel)
            return await desk.replay(alert_ids or (), parked_on=channel, everything=parked)

    replayed = asyncio.run(go())
    plural = "alert" if len(replayed) == 1 else "alerts"
    typer.echo(f"{len(replayed)} {plural} queued again; `run` (or `alerts deliver`) sends them")


def _known(book: AlertBook, alert_ids: Iterable[str], channel: str | None) -> None:
    unknown = [a for a in alert_ids if a not in book.alerts]
    if unknown:
        raise typer.BadParameter(f"no alert {unknown[0]} (see `syncledger alerts`)")
    channels = {a.channel for a in book.alerts.values()} | set(book.parked_channels)
    if channel is not None and channel not in channels:
        raise typer.BadParameter(f"no alerts for channel {channel!r} (see `syncledger alerts`)")


@alerts_app.command("test")
def alerts_test(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="a channel name from [[alert_channels]]")],
    data_dir: DataDir = None,
    entity: Entity = None,
) -> None:
    """Send one test message to a channel now and say whether it was taken."""
    from syncledger.core.alert_jobs import alert_desk
    from syncledger.core.bootstrap import open_runtime

    settings = _where(ctx, data_dir, entity)
    names = [c.name for c in settings.alert_channels]
    if channel not in names:
        known = ", ".join(names) or "none configured ([[alert_channels]] in syncledger.toml)"
        raise typer.BadParameter(f"no alert channel {channel!r}; channels: {known}")

    async def go() -> AlertState:
        async with open_runtime(settings) as rt, alert_desk(rt) as desk:
            return await desk.test(channel)

    state = asyncio.run(go())
    if state.delivered_at is None:
        typer.echo(f"channel {channel}: NOT delivered: {state.parked}", err=True)
        raise typer.Exit(1)
    typer.echo(f"channel {channel}: test alert {state.alert_id} delivered")
