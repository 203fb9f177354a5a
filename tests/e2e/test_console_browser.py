"""The web console in a real headless browser: Debian's Chromium driven by Playwright
against ``syncledger serve`` as a real process (console only: the CSV source takes no
webhooks) on a data directory with a real log, read models, a review item, a mismatch
and a report. An operator logs in with the token, links a review item in the page, and
the decision is in the log with the console actor. Screenshots of the main pages go to
docs/console/."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from syncledger.adapters.qbo.sandbox.server import create_app, sandbox_of
from syncledger.core.bootstrap import open_runtime
from syncledger.core.events import ReviewRequested, ReviewResolved
from syncledger.core.ledgers import sandbox_book
from syncledger.core.pipeline import import_csv, reconcile_now, report_now, sync_once
from syncledger.core.reports import daily
from syncledger.core.settings import Settings
from tests.support.mismatches import tamper_total
from tests.support.processes import Proc, wait_for

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package",
    ),
]
REPO = Path(__file__).resolve().parents[2]
#: the screenshots in docs/ are refreshed only when asked (SYNCLEDGER_UPDATE_SCREENSHOTS=1);
#: otherwise they are still taken (the pages must render), into a scratch folder, so a
#: test run leaves the checkout as it was
SHOTS = (
    REPO / "docs" / "console"
    if os.environ.get("SYNCLEDGER_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "syncledger-console-shots"
)
ENTITY = "console"
TOKEN = "e2e-operator-token-9f8e7d6c5b4a3210"
EMAIL = "ap@twin.example.com"
STAMP = "2026-01-02T00:00:00Z"


def _export(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "customers.csv").write_text(
        "id,name,currency,email,updated_at\n"
        f"C1,Twin Co,USD,{EMAIL},{STAMP}\n"
        f"C2,Solo Ltd,USD,ap@solo.example.com,{STAMP}\n"
    )
    (folder / "invoices.csv").write_text(
        "id,number,customer_id,issue_date,currency,total,updated_at,description,quantity,"
        "unit_price\n"
        f"I1,701,C2,2026-01-02,USD,100.00,{STAMP},Work,1,100.00\n"
        f"I2,702,C1,2026-01-02,USD,250.00,{STAMP},Work,1,250.00\n"
    )
    (folder / "payments.csv").write_text(
        "id,customer_id,invoice_id,amount,currency,paid_on,updated_at\n"
    )
    return folder


def _two_ledger_customers_match_c1(data_dir: Path) -> None:
    """A bookkeeper made C1 twice in QBO: by its name, and under another name with its
    e-mail — the sync cannot tell which it is and asks a person."""
    sandbox = sandbox_of(create_app(sandbox_book(data_dir, "qbo")))
    try:
        for name in ("Twin Co", "Twin Company Holdings"):
            body = {
                "DisplayName": name,
                "PrimaryEmailAddr": {"Address": EMAIL},
                "CurrencyRef": {"value": "USD"},
                "Active": True,
            }
            sandbox.book.add("customer", body)
    finally:
        sandbox.close()


async def _books(settings: Settings, tmp_path: Path) -> None:
    _two_ledger_customers_match_c1(settings.data_dir)
    await import_csv(settings, _export(tmp_path / "export"))
    await sync_once(settings)
    tamper_total(settings.data_dir, "701", "90.00")
    report = await reconcile_now(settings)
    assert "amount_mismatch" in [m.mismatch_type for m in report.open]
    await report_now(settings, daily(date(2026, 1, 2)))


async def _review_events(settings: Settings) -> tuple[list[str], list[tuple[str, str]]]:
    """(candidates of the C1 review request, (actor, decision) of each resolution)."""
    candidates: list[str] = []
    resolved: list[tuple[str, str]] = []
    async with open_runtime(settings) as rt:
        async for stored in rt.store.read():
            envelope = stored.envelope()
            payload = envelope.payload()
            if isinstance(payload, ReviewRequested):
                candidates = list(payload.candidates)
            elif isinstance(payload, ReviewResolved):
                resolved.append((envelope.actor, f"{payload.decision}:{payload.ledger_ref}"))
    return candidates, resolved


def _serve(settings: Settings, token_file: Path, log: Path) -> tuple[Proc, str]:
    env = {
        "SYNCLEDGER_DATA_DIR": str(settings.data_dir),
        "SYNCLEDGER_ENTITY": ENTITY,
        "SYNCLEDGER_SERVE_PORT": "0",
        "SYNCLEDGER_CONSOLE_TOKEN_FILE": str(token_file),
    }
    proc = Proc(["serve"], env, log).start()
    found: list[str] = []

    def listening() -> bool:
        text = log.read_text(errors="replace")
        found[:] = re.findall(r"serving the console on (http://\S+/) \(operator login", text)
        return bool(found) or (proc.popen is not None and proc.popen.poll() is not None)

    wait_for(listening, "serve to listen")
    assert found, log.read_text()
    return proc, found[-1]


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def _headline(page: Page, url: str, headline: str, shot: str | None = None) -> None:
    answer = await page.goto(url)
    assert answer is not None and answer.status == 200, url
    assert (await page.inner_text("h1")).strip() == headline
    if shot is not None:
        await _shot(page, shot)


async def _decide_in_the_page(page: Page, base: str, ledger_id: str) -> None:
    await page.goto(base + "login")
    await page.fill("input[name=operator]", "Ada Lovelace")
    await page.fill("input[name=token]", TOKEN)
    await page.click("button:has-text('Log in')")
    await page.wait_for_url(base)
    await _headline(page, base + "review", "Review queue", "review")
    await page.check(f"input[value='link:{ledger_id}']")
    await page.fill("input[name=note]", "same e-mail; the other is a typo")
    await page.click("button:has-text('Record decision')")
    await page.wait_for_selector("p.flash")
    flash = await page.inner_text("p.flash")
    assert "decision recorded (link to qbo customer" in flash, flash
    assert "No records wait for review" in await page.inner_text("main")
    assert TOKEN not in await page.content()


async def test_an_operator_decides_a_review_in_the_browser_and_it_reaches_the_log(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "state", entity=ENTITY, ledger="qbo")
    await _books(settings, tmp_path)
    candidates, resolved = await _review_events(settings)
    assert len(candidates) == 2 and resolved == []
    token_file = tmp_path / "console-token"
    token_file.write_text(TOKEN + "\n")
    proc, base = _serve(settings, token_file, tmp_path / "serve.log")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await _headline(page, base, "Status", "status")
                assert re.search(r"\b[1-9]\d* open mismatches", await page.inner_text("main"))
                await _headline(page, base + "errors", "Error queue", "errors")
                assert "amount_mismatch csv/invoice/I1" in await page.inner_text("main")
                await _headline(page, base + "conflicts", "Conflicts", "conflicts")
                await _headline(page, base + "reports", "Reports", "reports")
                await page.click("a:has-text('open HTML')")
                await page.wait_for_selector("iframe.report")
                await _shot(page, "report")
                await _headline(page, base + "trace?ref=csv/invoice/I1", "Trace", "trace")
                assert "inclusion proof" in await page.inner_text("main")
                await _headline(page, base + "alerts", "Alerts", "alerts")
                await _decide_in_the_page(page, base, candidates[1])
            finally:
                await browser.close()
    finally:
        proc.stop()
    _, resolved = await _review_events(settings)
    assert resolved == [("console:Ada Lovelace", f"link:{candidates[1]}")]
    assert TOKEN not in (tmp_path / "serve.log").read_text()
