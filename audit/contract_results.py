"""The results of a ledger's contract suite, recorded for audit packages.

``syncledger audit contract-results --platform qbo`` runs that platform's contract suite
(``tests/unit/test_<platform>_contract.py`` of a syncledger source tree, the same suite
CI runs against the platform's sandbox) under pytest with a JUnit XML report, and keeps
the pass/fail counts, the failed tests, the git revision of the tree, and the syncledger
version under ``<data dir>/audit/contract-results/<platform>.json``. A package includes
the latest recorded run of each ledger its events name, and says so for a ledger none was
recorded for: nothing here is ever assumed to have passed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET  # parses only the report our own pytest run wrote
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from syncledger.audit.errors import AuditError
from syncledger.audit.files import atomic_write

FORMAT = "syncledger-contract-results/v1"
RUN_FORMAT = "syncledger-contract-run/v1"


@dataclass(frozen=True)
class ContractRun:
    platform: str
    suite: str  # the test file, relative to the source tree
    tests: int
    passed: int
    failed: int
    errors: int
    skipped: int
    failed_tests: tuple[str, ...]
    git_revision: str | None
    git_dirty: bool | None  # uncommitted changes in the tree the suite ran from
    syncledger_version: str
    ran_at: str

    @property
    def ok(self) -> bool:
        return self.tests > 0 and self.failed == 0 and self.errors == 0

    def to_json(self) -> dict[str, Any]:
        return {"format": RUN_FORMAT, **asdict(self), "ok": self.ok}


def syncledger_version() -> str:
    try:
        return metadata.version("syncledger")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_revision(tree: Path) -> tuple[str | None, bool | None]:
    """The tree's commit and whether it has uncommitted changes (None: not a git tree)."""
    try:
        head = _git(tree, "rev-parse", "HEAD")
        dirty = bool(_git(tree, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head, dirty


def _git(tree: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def suite_path(tree: Path, platform: str) -> Path:
    return tree / "tests" / "unit" / f"test_{platform}_contract.py"


# ---------------------------------------------------------------------- running


def run_suite(
    tree: Path, platform: str, now: datetime, test_file: Path | None = None
) -> ContractRun:
    """Run the platform's contract suite (or ``test_file``) and read its JUnit report."""
    suite = test_file or suite_path(tree, platform)
    if not suite.is_file():
        raise AuditError(
            f"no contract suite for {platform!r} at {suite}: give --tree, a syncledger "
            "source tree (its tests/unit/test_<platform>_contract.py)"
        )
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        _pytest(tree, suite, report)
        counts = _counts(report, suite)
    revision, dirty = git_revision(tree)
    return ContractRun(
        platform=platform,
        suite=_relative(suite, tree),
        **counts,
        git_revision=revision,
        git_dirty=dirty,
        syncledger_version=syncledger_version(),
        ran_at=now.isoformat(),
    )


def _relative(path: Path, tree: Path) -> str:
    try:
        return str(path.resolve().relative_to(tree.resolve()))
    except ValueError:
        return str(path)


def _pytest(tree: Path, suite: Path, report: Path) -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [f"--junitxml={report}", str(suite)]
    # the exit code only says whether tests failed: the report says which
    subprocess.run(command, cwd=tree, capture_output=True, check=False)


def _counts(report: Path, suite: Path) -> dict[str, Any]:
    try:
        root = ET.parse(report).getroot()  # noqa: S314 - the report our own pytest run wrote
    except (OSError, ET.ParseError) as exc:
        raise AuditError(f"the contract suite {suite} did not run (no test report)") from exc
    cases = root.iter("testcase")
    failed_tests, failed, errors, skipped, tests = [], 0, 0, 0, 0
    for case in cases:
        tests += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None:
            failed += 1
            failed_tests.append(name)
        elif case.find("error") is not None:
            errors += 1
            failed_tests.append(name)
        elif case.find("skipped") is not None:
            skipped += 1
    passed = tests - failed - errors - skipped
    return {
        "tests": tests,
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
        "failed_tests": tuple(failed_tests),
    }


# ---------------------------------------------------------------------- recording


def results_dir(audit_dir: Path) -> Path:
    return audit_dir / "contract-results"


def record_run(audit_dir: Path, run: ContractRun) -> Path:
    path = results_dir(audit_dir) / f"{run.platform}.json"
    atomic_write(path, json.dumps(run.to_json(), indent=2, sort_keys=True).encode())
    return path


def recorded(audit_dir: Path, platform: str) -> dict[str, Any] | None:
    path = results_dir(audit_dir) / f"{platform}.json"
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AuditError(f"{path} is not a contract run record: {exc}") from exc
    return doc


def package_file(audit_dir: Path, ledgers: Iterable[str]) -> dict[str, Any]:
    """``contract-results.json``: per ledger the latest recorded run, or null and a note."""
    runs = {ledger: recorded(audit_dir, ledger) for ledger in sorted(set(ledgers))}
    missing = [ledger for ledger, run in runs.items() if run is None]
    note = (
        f"no contract run was recorded for {', '.join(missing)}"
        if missing
        else "every ledger of the package has a recorded contract run"
    )
    return {
        "format": FORMAT,
        "exporting_syncledger_version": syncledger_version(),
        "ledgers": runs,
        "missing": missing,
        "note": note,
    }
