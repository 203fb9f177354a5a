"""Prometheus metrics of the running process (prometheus-client, one registry of ours).

- ``syncledger_ledger_requests_total{ledger}``: HTTP requests sent to a ledger's API
  (every attempt, retries included; token requests excluded) — the scarce resource.
- ``syncledger_pushes_total{ledger,kind,outcome}``: what the sync worker did with each
  record it handled (``pushed``, ``linked``, ``recovered``, ``rejected``, …).
- ``syncledger_rate_limit_wait_seconds_total``: seconds requests waited in client-side
  rate limiters (the platform's published limits) before being sent.
- ``syncledger_webhooks_received_total{source,outcome}``: verified deliveries ``serve``
  took (``stored``, ``duplicate``).
- ``syncledger_webhooks_refused_total{source,reason}``: deliveries ``serve`` refused
  (``unsigned``, ``bad_signature``, ``stale``, ``malformed``, ``unknown_sender``).

- ``syncledger_ledger_request_duration_seconds{ledger}`` (histogram): how long each ledger
  API request took to answer (push latency as the ledger gives it).
- ``syncledger_source_to_ledger_lag_seconds{ledger}`` (histogram): from a source change
  being stored in the log to the worker settling it in the ledger (pushed, linked,
  recovered) — the sync latency a user sees.
- ``syncledger_rejections_total{stage,reason}``: records refused, at ``import`` (validation,
  per reason code) or by the ``ledger`` (a push it refused for good); per day is
  ``increase(syncledger_rejections_total[1d])``.
- ``syncledger_consumer_pending{consumer}`` (gauge): events a durable consumer (the sync
  worker's, the alerts subscriber's) has not yet acknowledged.
- ``syncledger_open_mismatches{ledger}`` (gauge): mismatches the reconciler has open.
- ``syncledger_alert_deliveries_total{channel,outcome}``: finance alert attempts
  (``delivered``, ``failed``, ``parked``, ``withdrawn``).

Requests per pushed record, the figure ``bench/calls.py`` prints, is then
``sum(rate(syncledger_ledger_requests_total[1h])) by (ledger) /
sum(rate(syncledger_pushes_total{outcome=~"pushed|linked|recovered"}[1h])) by (ledger)``.

``syncledger run`` (and ``sync``) serve them on ``http://<addr>:<port>/metrics`` when
``SYNCLEDGER_METRICS_PORT`` is set (``SYNCLEDGER_METRICS_ADDR``, default 127.0.0.1).
Nothing is served, and no port opened, otherwise; importing this module does no I/O.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
)

from syncledger.core.errors import ConfigurationError

REGISTRY = CollectorRegistry(auto_describe=True)

LEDGER_REQUESTS = Counter(
    "syncledger_ledger_requests",
    "HTTP requests sent to a ledger's API (retries included, token requests excluded).",
    ["ledger"],
    registry=REGISTRY,
)
PUSHES = Counter(
    "syncledger_pushes",
    "Records the sync worker handled, by ledger, record kind and outcome.",
    ["ledger", "kind", "outcome"],
    registry=REGISTRY,
)

WEBHOOKS_RECEIVED = Counter(
    "syncledger_webhooks_received",
    "Verified webhook deliveries serve stored (or had stored before: duplicate).",
    ["source", "outcome"],
    registry=REGISTRY,
)
WEBHOOKS_REFUSED = Counter(
    "syncledger_webhooks_refused",
    "Webhook deliveries serve refused before the log, by reason.",
    ["source", "reason"],
    registry=REGISTRY,
)

#: seconds: 10 ms … 2 min (a ledger answers in tens of ms; a slow batch in tens of s)
_REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: seconds: 100 ms … 1 day (a record waits for its customer, an outage, a person)
_LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
LEDGER_REQUEST_DURATION = Histogram(
    "syncledger_ledger_request_duration_seconds",
    "How long each ledger API request took to answer (or to fail).",
    ["ledger"],
    buckets=_REQUEST_BUCKETS,
    registry=REGISTRY,
)
SOURCE_TO_LEDGER_LAG = Histogram(
    "syncledger_source_to_ledger_lag_seconds",
    "From a source change stored in the log to the worker settling it in the ledger.",
    ["ledger"],
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)
REJECTIONS = Counter(
    "syncledger_rejections",
    "Records refused: at import (validation) or by the ledger (for good), by reason.",
    ["stage", "reason"],
    registry=REGISTRY,
)
CONSUMER_PENDING = Gauge(
    "syncledger_consumer_pending",
    "Events a durable JetStream consumer has not yet acknowledged.",
    ["consumer"],
    registry=REGISTRY,
)
OPEN_MISMATCHES = Gauge(
    "syncledger_open_mismatches",
    "Mismatches the reconciler has open, by ledger.",
    ["ledger"],
    registry=REGISTRY,
)
ALERT_DELIVERIES = Counter(
    "syncledger_alert_deliveries",
    "Finance alert attempts by channel and outcome (delivered, failed, parked, withdrawn).",
    ["channel", "outcome"],
    registry=REGISTRY,
)

RATE_LIMIT_WAIT = Counter(
    "syncledger_rate_limit_wait_seconds",
    "Seconds requests waited in a client-side rate limiter before being sent.",
    registry=REGISTRY,
)


def count_push(ledger: str, ref: str | None, outcome: str) -> None:
    """Count one handled record; ``ref`` is ``system/kind/id`` (its kind is the label)."""
    parts = (ref or "").split("/")
    kind = parts[1] if len(parts) >= 3 else "none"
    PUSHES.labels(ledger=ledger, kind=kind, outcome=outcome).inc()


def count_rejection(stage: str, reason: str) -> None:
    REJECTIONS.labels(stage=stage, reason=reason or "unknown").inc()


def count_alert(channel: str, outcome: str) -> None:
    ALERT_DELIVERIES.labels(channel=channel, outcome=outcome).inc()


def requests_sent(ledger: str) -> int:
    """``syncledger_ledger_requests_total`` of one ledger so far in this process."""
    value = REGISTRY.get_sample_value("syncledger_ledger_requests_total", {"ledger": ledger})
    return int(value or 0)


def exposition() -> bytes:
    """The metrics in Prometheus' text format, as ``/metrics`` serves them."""
    return generate_latest(REGISTRY)


Readiness = Callable[[], tuple[bool, str]]


def _always_ready() -> tuple[bool, str]:
    return True, "ready"


def _app(readiness: Readiness) -> Callable[..., Iterable[bytes]]:
    """``/metrics`` (the exposition), ``/healthz`` (the process answers), ``/readyz``
    (200 with ``ready`` or 503 with the one-line reason ``readiness`` gives)."""
    metrics = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if path == "/readyz":
            ok, why = readiness()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{why}\n".encode()]
        return metrics(environ, start_response)  # type: ignore[no-any-return]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextlib.contextmanager
def served(
    port: int | None, addr: str = "127.0.0.1", readiness: Readiness = _always_ready
) -> Iterator[int | None]:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``addr:port`` while the block
    runs (port 0: a free one, yielded); ``port`` None serves nothing."""
    if port is None:
        yield None
        return
    try:
        server = make_server(addr, port, _app(readiness), _Server, handler_class=_Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve metrics on {addr}:{port} ({exc.strerror or exc}); set "
            "SYNCLEDGER_METRICS_PORT to a free port, or unset it"
        ) from None
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
