"""The web console (issue 12) against the real app, in-process through httpx: the log is
the in-memory store with a real sync run on it, the read models real SQLite, the ledger
the in-memory one, the trace the real audit trace with proofs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import httpx
import pytest

from syncledger.audit.context import AuditContext
from syncledger.core.alerts import alert_subject
from syncledger.core.console import console_routes
from syncledger.core.console_auth import COOKIE, ConsoleAuth, read_token
from syncledger.core.console_wiring import RuntimeConsole
from syncledger.core.errors import ConfigurationError, EventStoreUnavailable
from syncledger.core.events import (
    AlertDelivered,
    AlertParked,
    AlertRaised,
    ConflictDetected,
    ConflictSettled,
    ReviewResolved,
    make_envelope,
)
from syncledger.core.model import RecordRef
from syncledger.core.pipeline import errors_report
from syncledger.core.review import ReviewDesk
from syncledger.core.serve import serve_app
from syncledger.core.store_memory import MemoryEventStore
from syncledger.core.subjects import ledger_subject
from syncledger.projections import ProjectionRunner, ReadModels, make_engine
from syncledger.projections.schema import create_all
from tests.support.records import customer, invoice
from tests.unit.test_sync import ENTITY, Harness

TOKEN = "operator-token-0123456789abcdef"
AT = datetime(2026, 1, 2, tzinfo=UTC)


@dataclass
class World:
    harness: Harness
    backend: RuntimeConsole
    candidates: tuple[str, str]
    root: Path


async def _append(store: MemoryEventStore, payload: object, subject: str) -> None:
    envelope = make_envelope(payload, entity=ENTITY, subject=subject, actor="t")  # type: ignore[arg-type]
    await store.append([envelope])


async def _alerts(store: MemoryEventStore) -> None:
    for alert_id, title in (("al-1", "Mismatch on 701"), ("al-2", "Push abandoned: i9")):
        raised = AlertRaised(
            alert_id=alert_id, channel="finance", topic="mismatch", event_type="x",
            title=title, severity="warning", about_at=AT,
        )  # fmt: skip
        await _append(store, raised, alert_subject(ENTITY, "finance", alert_id))
    done = AlertDelivered(alert_id="al-1", channel="finance", attempt=1)
    await _append(store, done, alert_subject(ENTITY, "finance", "al-1"))
    parked = AlertParked(alert_id="al-2", channel="finance", reason="410 gone: webhook revoked")
    await _append(store, parked, alert_subject(ENTITY, "finance", "al-2"))


def _reports(data_dir: Path) -> Path:
    folder = data_dir / "reports" / ENTITY / "memory"
    folder.mkdir(parents=True)
    (folder / "daily-2026-01-01.html").write_text("<html><body><h1>0 mismatches</h1></body></html>")
    (folder / "daily-2026-01-01.csv").write_text("fact,value\nmismatches,0\n")
    (folder / "daily-2026-01-01.json").write_text('{"mismatches": 0}\n')
    (folder / ".daily-2026-01-02.html.tmp").write_text("half written")
    (data_dir / "secret.txt").write_text("not a report")
    (folder / "escape.html").symlink_to(data_dir / "secret.txt")
    return data_dir / "reports"


@pytest.fixture
async def world(tmp_path: Path) -> World:
    h = Harness()
    first = h.ledger.seed_customer("Twin Co")
    second = h.ledger.seed_customer("twin co")
    await h.ingest([customer("c1", name="Twin Co"), invoice("i1", "c1")])
    await h.run()
    conflict = ConflictDetected(
        source_ref="csv/invoice/i7", ledger="memory", ledger_ref="L-7", expected_version="1",
        actual_version="2", resolution="needs_review", detail="<script>alert(1)</script>",
    )  # fmt: skip
    ref = RecordRef.parse("csv/invoice/i7")
    await _append(h.store, conflict, ledger_subject(ENTITY, "memory", ref))
    await _alerts(h.store)
    engine = make_engine(f"sqlite:///{tmp_path / 'projections.db'}")
    create_all(engine)
    desk = ReviewDesk(h.store, h.ledger, ENTITY, "syncledger")
    audit = AuditContext(h.store, h.keys, tmp_path, ENTITY, "syncledger")
    backend = RuntimeConsole(h.store, engine, desk, audit, tmp_path, h.ledger.ledger)
    return World(h, backend, (first, second), _reports(tmp_path))


def _client(backend: RuntimeConsole, token: str | None) -> httpx.AsyncClient:
    app = serve_app(
        {}, console=console_routes(backend, ConsoleAuth(token)), unready=backend.unready
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


@pytest.fixture
async def reader(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(world.backend, None) as client:
        yield client


@pytest.fixture
async def operator(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(world.backend, TOKEN) as client:
        yield client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def _login(client: httpx.AsyncClient, name: str = "Ada") -> httpx.Response:
    form = {"operator": name, "token": TOKEN}
    return await client.post("/login", data=form)


HEADLINES = {
    "/": "<h1>Status</h1>",
    "/errors": "<h1>Error queue</h1>",
    "/review": "<h1>Review queue</h1>",
    "/conflicts": "<h1>Conflicts</h1>",
    "/reports": "<h1>Reports</h1>",
    "/trace": "<h1>Trace</h1>",
    "/alerts": "<h1>Alerts</h1>",
}


async def test_every_page_renders_its_headline_with_no_script_and_a_strict_policy(
    reader: httpx.AsyncClient,
) -> None:
    for path, headline in HEADLINES.items():
        page = await reader.get(path)
        assert page.status_code == 200, (path, page.text)
        assert headline in page.text
        assert "<script" not in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    css = await reader.get("/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_status_counts_records_per_ledger_errors_and_parked_alerts(
    reader: httpx.AsyncClient, world: World
) -> None:
    page = (await reader.get("/")).text
    models = ReadModels(world.backend.engine)
    events = await world.harness.store.last_seq()
    assert f"{events} events in the log" in page
    assert "Ledger memory" in page
    for row in models.status_counts(ENTITY):
        assert f'<td>{row.kind}</td><td>{row.status}</td><td class="num">{row.count}</td>' in page
    errors = [e for e in models.open_errors(ENTITY) if e.ledger == "memory"]
    assert f"{len(errors)} open errors" in page
    assert '<span class="figure">1</span> alerts parked' in page


async def test_the_error_queue_shows_the_lines_of_syncledger_errors(
    reader: httpx.AsyncClient, world: World
) -> None:
    page = (await reader.get("/errors")).text
    await ProjectionRunner(world.backend.engine, world.harness.store).catch_up()
    lines = errors_report(ReadModels(world.backend.engine), ENTITY).splitlines()
    assert lines and lines != ["no open errors"]
    shown = [unescape(m) for m in re.findall(r"<li class=\"[^\"]+\">([^<]*)</li>", page)]
    assert shown == [line.strip() for line in lines if line.strip()]


async def test_read_only_console_shows_no_form_and_refuses_every_decision(
    reader: httpx.AsyncClient, world: World
) -> None:
    page = (await reader.get("/review")).text
    assert "csv/customer/c1" in page and "Twin Co" in page
    assert 'method="post"' not in page
    assert "read-only" in page
    ref = "csv/customer/c1"
    refused = await reader.post("/review", data={"ref": ref, "choice": "create", "csrf": "x"})
    assert refused.status_code == 403
    login = await reader.post("/login", data={"operator": "Ada", "token": TOKEN})
    assert login.status_code == 403
    assert not [e async for e in world.harness.store.read() if b"ReviewResolved" in e.raw]


async def test_a_wrong_token_opens_no_session(operator: httpx.AsyncClient) -> None:
    wrong = await operator.post("/login", data={"operator": "Mallory", "token": TOKEN[:-1] + "x"})
    assert wrong.status_code == 403
    assert COOKIE not in wrong.headers.get("set-cookie", "")
    assert TOKEN not in wrong.text
    page = (await operator.get("/review")).text
    assert 'action="/review"' not in page
    forged = await operator.post("/review", data={"ref": "csv/customer/c1", "choice": "create"})
    assert forged.status_code == 403


async def test_an_operator_links_a_candidate_and_the_decision_is_in_the_log_with_the_actor(
    operator: httpx.AsyncClient, world: World
) -> None:
    login = await _login(operator)
    assert login.status_code == 303
    cookie = login.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = (await operator.get("/review")).text
    first, second = world.candidates
    assert f'value="link:{second}"' in page and f"link to {first}: Twin Co" in page
    assert TOKEN not in page
    form = {"ref": "csv/customer/c1", "choice": f"link:{second}", "note": "same VAT"}
    no_csrf = await operator.post("/review", data=form)
    assert no_csrf.status_code == 403
    decided = await operator.post("/review", data={**form, "csrf": _csrf(page)})
    assert (decided.status_code, decided.headers["location"]) == (303, "/review")
    after = (await operator.get("/review")).text
    assert "decision recorded (link to memory customer" in after
    assert "No records wait for review" in after
    resolved = [
        e.envelope() async for e in world.harness.store.read() if b"ReviewResolved" in e.raw
    ]
    assert [e.actor for e in resolved] == ["console:Ada"]
    payload = resolved[0].payload()
    assert isinstance(payload, ReviewResolved)
    assert (payload.decision, payload.ledger_ref, payload.note) == ("link", second, "same VAT")


async def test_a_refused_decision_says_why_and_appends_nothing(
    operator: httpx.AsyncClient, world: World
) -> None:
    await _login(operator)
    csrf = _csrf((await operator.get("/review")).text)
    form = {"ref": "csv/customer/c1", "choice": "link:999", "csrf": csrf}
    await operator.post("/review", data=form)
    page = (await operator.get("/review")).text
    assert "not recorded: memory has no customer 999" in page
    assert not [e async for e in world.harness.store.read() if b"ReviewResolved" in e.raw]


async def test_logging_out_needs_the_csrf_token_and_ends_the_session(
    operator: httpx.AsyncClient,
) -> None:
    await _login(operator)
    csrf = _csrf((await operator.get("/")).text)
    assert (await operator.post("/logout", data={"csrf": "nope"})).status_code == 403
    assert (await operator.post("/logout", data={"csrf": csrf})).status_code == 303
    operator.cookies.clear()
    assert 'action="/review"' not in (await operator.get("/review")).text


async def test_conflicts_are_listed_escaped(reader: httpx.AsyncClient) -> None:
    page = (await reader.get("/conflicts")).text
    assert "csv/invoice/i7" in page and "needs_review" in page and "version 1 → 2" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_reports_are_listed_shown_and_downloaded_and_nothing_outside_is_served(
    reader: httpx.AsyncClient,
) -> None:
    page = (await reader.get("/reports")).text
    assert "/reports/show/acme/memory/daily-2026-01-01.html" in page
    assert "/reports/file/acme/memory/daily-2026-01-01.csv" in page
    assert "escape" not in page and ".tmp" not in page
    shown = await reader.get("/reports/show/acme/memory/daily-2026-01-01.html")
    assert shown.status_code == 200 and "<iframe" in shown.text
    html = await reader.get("/reports/file/acme/memory/daily-2026-01-01.html")
    assert "0 mismatches" in html.text
    assert html.headers["content-disposition"].startswith("inline")
    assert "sandbox" in html.headers["content-security-policy"]
    csv = await reader.get("/reports/file/acme/memory/daily-2026-01-01.csv")
    assert csv.headers["content-disposition"].startswith("attachment")
    assert csv.text == "fact,value\nmismatches,0\n"
    for bad in (
        "/reports/file/../secret.txt",
        "/reports/file/acme/memory/../../../secret.txt",
        "/reports/file/acme/memory/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/reports/file/acme/memory/escape.html",
        "/reports/file//etc/passwd",
        "/reports/file/acme/memory/.daily-2026-01-02.html.tmp",
        "/reports/show/acme/memory/daily-2026-01-01.csv",
    ):
        answer = await reader.get(bad)
        assert answer.status_code == 404, bad
        assert "not a report" not in answer.text and "root:" not in answer.text


async def test_a_trace_shows_each_event_with_its_inclusion_proof(
    reader: httpx.AsyncClient,
) -> None:
    page = await reader.get("/trace", params={"ref": "csv/customer/c1"})
    assert page.status_code == 200
    assert "<h2>csv/customer/c1</h2>" in page.text
    assert "SourceRecordObserved" in page.text and "ReviewRequested" in page.text
    proofs = re.findall(r"inclusion proof \(leaf \d+\): ([0-9a-f ]+)<", page.text)
    assert proofs and all(len(p.split()[0]) == 64 for p in proofs)
    assert "tree size" in page.text
    unknown = await reader.get("/trace", params={"ref": "csv/invoice/nope"})
    assert unknown.status_code == 404 and "no record" in unknown.text


async def test_the_alert_book_shows_delivered_and_parked_with_the_reason(
    reader: httpx.AsyncClient,
) -> None:
    page = (await reader.get("/alerts")).text
    assert "Channel finance" in page and "1 delivered, 1 parked" in page
    assert "410 gone: webhook revoked" in page
    assert "Push abandoned: i9" in page


class _DownStore(MemoryEventStore):
    async def last_seq(self) -> int:
        raise EventStoreUnavailable("cannot read stream SYNCLEDGER: no servers available")


async def test_readyz_answers_only_when_the_log_and_the_read_models_do(
    world: World, tmp_path: Path
) -> None:
    async with _client(world.backend, None) as client:
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.text) == (200, "ready")
    down = replace(world.backend, store=_DownStore())
    async with _client(down, None) as client:
        answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.text == (
        "not ready: NATS does not answer: cannot read stream SYNCLEDGER: no servers available"
    )
    (tmp_path / "gone").mkdir()
    broken = replace(world.backend, engine=make_engine(f"sqlite:///{tmp_path / 'gone'}"))
    async with _client(broken, None) as client:
        answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.text.startswith("not ready: the projections database does not answer")
    assert "\n" not in answer.text


def test_the_token_file_must_hold_a_long_token_and_errors_never_show_it(tmp_path: Path) -> None:
    path = tmp_path / "token"
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_token(path)
    path.write_text("short-secret\n")
    with pytest.raises(ConfigurationError, match="shorter than 16") as refused:
        read_token(path)
    assert "short-secret" not in str(refused.value)
    path.write_text(f"  {TOKEN}\n")
    assert read_token(path) == TOKEN


async def test_a_bad_operator_name_opens_no_session(operator: httpx.AsyncClient) -> None:
    answer = await operator.post("/login", data={"operator": "<b>x</b>", "token": TOKEN})
    assert answer.status_code == 400
    assert "<b>x</b>" not in answer.text
    assert COOKIE not in answer.headers.get("set-cookie", "")


# ---------------------------------------------------------------------- conflicts decided


async def test_status_and_errors_count_the_record_waiting_for_a_person(
    reader: httpx.AsyncClient,
) -> None:
    status = (await reader.get("/")).text
    assert '<a href="/review" class="bad">1 waiting for a person</a>' in status
    errors = unescape((await reader.get("/errors")).text)
    assert "csv/customer/c1 (waiting for a person on memory: `syncledger review`)" in errors


async def test_the_review_queue_says_why_each_candidate_matched(
    reader: httpx.AsyncClient, world: World
) -> None:
    page = (await reader.get("/review")).text
    first, _ = world.candidates
    assert f'candidate {first}: Twin Co <span class="why">(matched by name)</span>' in page


@dataclass
class Conflicted:
    harness: Harness
    backend: RuntimeConsole


@pytest.fixture
async def conflicted(tmp_path: Path) -> Conflicted:
    from tests.unit.test_conflicts import _invoice_conflict

    h = Harness()
    await _invoice_conflict(h)
    engine = make_engine(f"sqlite:///{tmp_path / 'projections.db'}")
    create_all(engine)
    desk = ReviewDesk(h.store, h.ledger, ENTITY, "syncledger")
    audit = AuditContext(h.store, h.keys, tmp_path, ENTITY, "syncledger")
    return Conflicted(h, RuntimeConsole(h.store, engine, desk, audit, tmp_path, h.ledger.ledger))


async def _settled(h: Harness) -> list[tuple[str, ConflictSettled]]:
    found = []
    async for stored in h.store.read():
        envelope = stored.envelope()
        if envelope.type == "ConflictSettled":
            payload = envelope.payload()
            assert isinstance(payload, ConflictSettled)
            found.append((envelope.actor, payload))
    return found


async def test_an_open_conflict_shows_what_differs_and_read_only_offers_no_form(
    conflicted: Conflicted,
) -> None:
    async with _client(conflicted.backend, None) as reader:
        page = (await reader.get("/conflicts")).text
        assert "<td>total</td><td>99.00</td><td>105.00</td>" in page
        assert 'method="post"' not in page and "read-only" in page
        form = {"ref": "csv/invoice/i1", "decision": "overwrite", "csrf": "x"}
        assert (await reader.post("/conflicts", data=form)).status_code == 403
    assert await _settled(conflicted.harness) == []


async def test_an_operator_overwrites_and_the_worker_pushes_our_version(
    conflicted: Conflicted,
) -> None:
    h = conflicted.harness
    async with _client(conflicted.backend, TOKEN) as operator:
        await _login(operator)
        page = (await operator.get("/conflicts")).text
        assert 'action="/conflicts"' in page and 'value="overwrite"' in page
        form = {"ref": "csv/invoice/i1", "decision": "overwrite", "note": "source is right"}
        assert (await operator.post("/conflicts", data=form)).status_code == 403  # no CSRF
        decided = await operator.post("/conflicts", data={**form, "csrf": _csrf(page)})
        assert (decided.status_code, decided.headers["location"]) == (303, "/conflicts")
        after = unescape((await operator.get("/conflicts")).text)
        assert "our version will be pushed over memory's edit" in after
        assert "No conflict waits for a decision." in after
        again = await operator.post("/conflicts", data={**form, "csrf": _csrf(page)})
        assert again.status_code == 303
        refused = unescape((await operator.get("/conflicts")).text)
        assert "not recorded: csv/invoice/i1 has no open conflict on memory" in refused
    [(actor, settled)] = await _settled(h)
    assert (actor, settled.decision, settled.note) == (
        "console:Ada",
        "overwrite",
        "source is right",
    )
    assert "pushed" in [o.status for o in await h.run()]
    inv = await h.ledger.find("invoice", "csv/invoice/i1")
    assert inv is not None and str(inv.total) == "105.00"


async def test_keep_ledger_from_the_console_is_an_event_with_the_operator(
    conflicted: Conflicted,
) -> None:
    async with _client(conflicted.backend, TOKEN) as operator:
        await _login(operator, "Grace")
        csrf = _csrf((await operator.get("/conflicts")).text)
        form = {"ref": "csv/invoice/i1", "decision": "keep_ledger", "csrf": csrf}
        await operator.post("/conflicts", data=form)
        assert "the ledger&#39;s version" in (await operator.get("/conflicts")).text
    [(actor, settled)] = await _settled(conflicted.harness)
    assert (actor, settled.decision) == ("console:Grace", "keep_ledger")
