"""The web console ``syncledger serve`` shows beside its webhook endpoints (issue 12).

Server-rendered pages (Jinja2, every value autoescaped; one stylesheet served by the app;
no script, no network asset):

- ``/`` status per ledger of the entity: records by kind and status, open mismatches,
  open errors (and of those, records waiting for a person), parked alerts; ``/errors``
  the error queue with each fix (the lines of ``syncledger errors``); ``/review`` the
  review queue with each candidate, why it matched, and a link/create form;
  ``/conflicts`` the open conflicts with what differs (field, ledger value, ours;
  personal fields named without values) and a keep-ledger / overwrite form each, then
  every conflict detected and how it was resolved; ``/reports`` the report artefacts,
  the HTML one shown in the page, CSV and JSON downloaded; ``/trace?ref=…`` a record's
  history with its inclusion proofs; ``/alerts`` the alert book by channel.
- Read-only unless an operator token is configured (``core/console_auth.py``): then
  ``/login`` opens a session and the review and conflicts pages show their forms; every
  POST without a live session and its CSRF token is answered 403. A decision is
  ``ReviewResolved`` or ``ConflictSettled`` with the actor ``console:<operator>``,
  appended through the review desk or ``core/conflicts.py``.

Every answer carries a Content-Security-Policy that allows no script and no frame of it
elsewhere; a report's HTML is served sandboxed. Error text reaching a page is masked
(``core/redact.py``) like log lines.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from syncledger.core.console_auth import COOKIE, ConsoleAuth, Session, operator_name
from syncledger.core.console_ports import ConflictDecision, ConsoleBackend, Decision
from syncledger.core.console_reports import MEDIA_TYPES, list_reports, resolve_report
from syncledger.core.console_views import channels, error_lines
from syncledger.core.errors import ConfigurationError, SyncLedgerError
from syncledger.core.redact import mask_text

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "console_templates"
MAX_FORM = 16_384
MAX_REF = 300
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)
NAV = (
    ("/", "Status"),
    ("/errors", "Errors"),
    ("/review", "Review"),
    ("/conflicts", "Conflicts"),
    ("/reports", "Reports"),
    ("/trace", "Trace"),
    ("/alerts", "Alerts"),
)

Handler = Callable[[Request], Awaitable[Response]]


class Forbidden(Exception):
    """A POST without a live operator session or its CSRF token."""


def _headers(csp: str = PAGE_CSP) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


class Console:
    """The console's pages over one backend and one set of operator sessions."""

    def __init__(self, backend: ConsoleBackend, auth: ConsoleAuth) -> None:
        self.backend = backend
        self.auth = auth
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # ------------------------------------------------------------------ rendering

    def session(self, request: Request) -> Session | None:
        return self.auth.session(request.cookies.get(COOKIE))

    def render(self, request: Request, template: str, code: int = 200, /, **ctx: Any) -> Response:
        session = self.session(request)
        sid = request.cookies.get(COOKIE)
        flash = self.auth.take_flash(sid) if session is not None and sid else ""
        page = self.env.get_template(template).render(
            nav=NAV,
            here=request.url.path,
            entity=self.backend.entity,
            session=session,
            writable=self.auth.writable,
            flash=flash,
            **ctx,
        )
        return HTMLResponse(page, status_code=code, headers=_headers())

    def problem(self, request: Request, status: int, title: str, message: str) -> Response:
        return self.render(request, "problem.html", status, title=title, message=message)

    # ------------------------------------------------------------------ guards

    async def form(self, request: Request) -> dict[str, str]:
        """The URL-encoded form of a POST (browsers' default encoding), first values."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if kind != "application/x-www-form-urlencoded" or len(body) > MAX_FORM:
            raise Forbidden("not a form this console sends")
        try:
            pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError) as exc:
            raise Forbidden("not a form this console sends") from exc
        return {k: v[0] for k, v in pairs.items()}

    async def operator_form(self, request: Request) -> tuple[Session, str, dict[str, str]]:
        """(session, session id, form) of a POST an operator may make; ``Forbidden``."""
        if not self.auth.writable:
            raise Forbidden("this console is read-only: no operator token is configured")
        sid = request.cookies.get(COOKIE)
        session = self.auth.session(sid)
        if session is None or sid is None:
            raise Forbidden("decisions need an operator login")
        form = await self.form(request)
        if not self.auth.csrf_ok(session, form.get("csrf", "")):
            raise Forbidden("the form's CSRF token does not match your session: reload the page")
        return session, sid, form

    def guarded(self, handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Forbidden as exc:
                return self.problem(request, 403, "Forbidden", str(exc))
            except SyncLedgerError as exc:
                log.warning("console page %s failed: %s", request.url.path, exc)
                return self.problem(request, 503, "Not available", mask_text(str(exc)))

        return run


# ---------------------------------------------------------------------- pages


async def status_page(c: Console, request: Request) -> Response:
    return c.render(request, "status.html", status=await c.backend.status())


async def errors_page(c: Console, request: Request) -> Response:
    lines = error_lines(await c.backend.error_lines())
    return c.render(request, "errors.html", lines=lines)


async def review_page(c: Console, request: Request) -> Response:
    return c.render(request, "review.html", queue=await c.backend.reviews())


async def review_decide(c: Console, request: Request) -> Response:
    session, sid, form = await c.operator_form(request)
    choice = form.get("choice", "")
    link = choice.removeprefix("link:") if choice.startswith("link:") else None
    if (choice != "create" and not link) or not form.get("ref"):
        c.auth.set_flash(sid, "choose one candidate to link, or create a new record")
        return RedirectResponse("/review", status_code=303)
    decision = Decision(form["ref"], link, form.get("note", "")[:500], session.actor)
    try:
        said = await c.backend.decide(decision)
    except ConfigurationError as exc:
        said = f"not recorded: {exc}"
    log.info("console decision by %s on %s: %s", session.actor, decision.ref, choice)
    c.auth.set_flash(sid, mask_text(said))
    return RedirectResponse("/review", status_code=303)


async def conflicts_page(c: Console, request: Request) -> Response:
    return c.render(
        request,
        "conflicts.html",
        open=await c.backend.open_conflicts(),
        conflicts=await c.backend.conflicts(),
    )


async def conflicts_decide(c: Console, request: Request) -> Response:
    session, sid, form = await c.operator_form(request)
    choice = form.get("decision", "")
    if choice not in ("keep_ledger", "overwrite") or not form.get("ref"):
        c.auth.set_flash(sid, "choose keep the ledger's version, or overwrite it with ours")
        return RedirectResponse("/conflicts", status_code=303)
    decision = ConflictDecision(
        form["ref"],
        "keep_ledger" if choice == "keep_ledger" else "overwrite",
        form.get("note", "")[:500],
        session.actor,
    )
    try:
        said = await c.backend.settle(decision)
    except ConfigurationError as exc:
        said = f"not recorded: {exc}"
    log.info("console decision by %s on %s: %s", session.actor, decision.ref, choice)
    c.auth.set_flash(sid, mask_text(said))
    return RedirectResponse("/conflicts", status_code=303)


async def reports_page(c: Console, request: Request) -> Response:
    return c.render(request, "reports.html", files=list_reports(c.backend.reports_root))


async def report_show(c: Console, request: Request) -> Response:
    rel = request.path_params["path"]
    path = resolve_report(c.backend.reports_root, rel)
    if path is None or path.suffix != ".html":
        return c.problem(request, 404, "Not found", "no such HTML report")
    return c.render(request, "report_show.html", rel=rel, name=path.stem)


async def report_file(c: Console, request: Request) -> Response:
    rel = request.path_params["path"]
    path = resolve_report(c.backend.reports_root, rel)
    if path is None:
        return c.problem(request, 404, "Not found", "no such report file")
    inline = path.suffix == ".html"
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        filename=path.name,
        content_disposition_type="inline" if inline else "attachment",
        headers=_headers(REPORT_CSP),
    )


async def trace_page(c: Console, request: Request) -> Response:
    ref = request.query_params.get("ref", "").strip()
    if not ref:
        return c.render(request, "trace.html", ref="", trace=None)
    if len(ref) > MAX_REF:
        return c.problem(request, 400, "Trace", "that reference is too long to be one")
    try:
        found = await c.backend.trace(ref)
    except SyncLedgerError as exc:
        return c.render(request, "trace.html", 404, ref=ref, trace=None, error=mask_text(str(exc)))
    return c.render(request, "trace.html", ref=ref, trace=found)


async def alerts_page(c: Console, request: Request) -> Response:
    book = await c.backend.alerts()
    return c.render(request, "alerts.html", channels=channels(book))


# ---------------------------------------------------------------------- login


async def login_page(c: Console, request: Request) -> Response:
    return c.render(request, "login.html")


async def login(c: Console, request: Request) -> Response:
    if not c.auth.writable:
        raise Forbidden("this console is read-only: no operator token is configured")
    form = await c.form(request)
    name = operator_name(form.get("operator", ""))
    if name is None:
        return c.render(request, "login.html", 400, error="give your name (letters, digits)")
    opened = c.auth.login(name, form.get("token", ""))
    if opened is None:
        log.warning("console login refused for operator %s: wrong token", name)
        return c.render(request, "login.html", 403, error="that token is not the operator token")
    sid, _ = opened
    log.info("console login: operator %s", name)
    response = RedirectResponse("/", status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", secure=secure, path="/")
    return response


async def logout(c: Console, request: Request) -> Response:
    _, sid, _ = await c.operator_form(request)
    c.auth.logout(sid)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def stylesheet(_: Console, __: Request) -> Response:
    css = (TEMPLATES / "console.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"X-Content-Type-Options": "nosniff"})


PageFn = Callable[[Console, Request], Awaitable[Response]]


def console_routes(backend: ConsoleBackend, auth: ConsoleAuth) -> list[BaseRoute]:
    """The console's routes, to mount beside the webhook endpoints (``core/serve.py``)."""
    c = Console(backend, auth)

    def route(path: str, fn: PageFn, methods: list[str] | None = None) -> Route:
        async def handler(request: Request) -> Response:
            return await fn(c, request)

        return Route(path, c.guarded(handler), methods=methods or ["GET"])

    return [
        route("/", status_page),
        route("/errors", errors_page),
        route("/review", review_page),
        route("/review", review_decide, ["POST"]),
        route("/conflicts", conflicts_page),
        route("/conflicts", conflicts_decide, ["POST"]),
        route("/reports", reports_page),
        route("/reports/show/{path:path}", report_show),
        route("/reports/file/{path:path}", report_file),
        route("/trace", trace_page),
        route("/alerts", alerts_page),
        route("/login", login_page),
        route("/login", login, ["POST"]),
        route("/logout", logout, ["POST"]),
        route("/console.css", stylesheet),
    ]
