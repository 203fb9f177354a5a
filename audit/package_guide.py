"""``REPRODUCE.md`` of an audit package: how to check and replay what it shows.

Written for an auditor: the inputs (each source record version, by content hash), the
software (syncledger version and, when installed from a git checkout, its revision), the
mapping versions with their hashes and approvals, the recorded contract runs, and the
commands — verifying the package, re-hashing the mapping files, and, on the company's
installation, replaying the log into fresh read models and comparing. Only commands
syncledger has are named; what a package cannot do alone (it holds the scope's events,
not the whole log) is said plainly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncledger.audit.contract_results import git_revision, syncledger_version
from syncledger.audit.index import LoggedEvent
from syncledger.core.events import SourceRecordObserved


@dataclass(frozen=True)
class GuideFacts:
    scope: str
    package_version: int
    origin: str
    tree_size: int
    root_hash: str
    created_at: str


def software() -> tuple[str, str]:
    """syncledger's version, and its git revision when run from a checkout."""
    revision, dirty = git_revision(Path(__file__).resolve().parent.parent)
    if revision is None:
        return syncledger_version(), "not recorded (not run from a git checkout)"
    return syncledger_version(), revision + (" (with uncommitted changes)" if dirty else "")


def _inputs(events: Sequence[LoggedEvent]) -> list[str]:
    rows = ["| seq | source record | version | content sha256 |", "|---|---|---|---|"]
    for ev in events:
        if isinstance(e := ev.event, SourceRecordObserved):
            rows.append(f"| {ev.seq} | `{e.ref}` | {e.version} | `{e.content_sha256}` |")
    return rows if len(rows) > 2 else ["(no source record versions in this scope)"]


def _mappings(mappings: Sequence[Mapping[str, Any]], approvals: Mapping[str, int]) -> list[str]:
    if not mappings:
        return ["(no mapping version in this scope)"]
    rows = ["| seq | ledger | mapping version | sha256 | approvals |", "|---|---|---|---|---|"]
    for m in mappings:
        version = m["mapping_version"]
        rows.append(
            f"| {m['seq']} | {m['ledger']} | `{version}` | `{m['sha256']}` | "
            f"{approvals.get(version, 0)} |"
        )
    return rows


def _contracts(contract: Mapping[str, Any]) -> list[str]:
    rows = []
    for ledger, run in contract["ledgers"].items():
        if run is None:
            rows.append(f"- {ledger}: no contract run recorded")
        else:
            rows.append(
                f"- {ledger}: {run['passed']} passed, {run['failed']} failed, {run['errors']} "
                f"errors, {run['skipped']} skipped of {run['tests']} ({run['suite']}), "
                f"syncledger {run['syncledger_version']}, revision {run['git_revision']}, "
                f"run {run['ran_at']}"
            )
    return rows or ["(no ledger in this scope)"]


_COMMANDS = """\
1. Verify the package and extract its files (either verifier gives the same answer):

       syncledger audit verify PACKAGE --identity YOUR.key --signer SIGNERS.json \\
           [--approver APPROVER.pub ...] --extract ./package
       python standalone_verify.py PACKAGE --identity YOUR.key --signer SIGNERS.json

2. Re-hash each mapping version: write the `content` of each entry of `mappings.json`
   to a file, byte for byte (UTF-8), and compare its SHA-256 with `sha256` above.
   `approvals.json` holds each approver's Ed25519 signature over
   `syncledger-mapping-approval/v1\\n<ledger>\\n<version>\\n<sha256>\\n`.

3. On the company's installation, with the syncledger version above (from its git
   revision when one is named), in front of the auditor:

       syncledger audit verify-log          # every stored byte against the signed checkpoints
       syncledger replay                    # rebuild every read model from the log
       syncledger projections verify        # scratch rebuild compared with the live models
       syncledger audit trace <source ref>  # each record of traces.json, with fresh proofs
       syncledger mapping diff --file <mapping file>   # a dry run of a mapping file
                                                      # against the version in force

   The package holds this scope's events only, not the whole log, so the replay runs on
   the installation's log; what it shows for this scope must equal what the package
   proves (events.jsonl, traces.json, errors.json), and the log's checkpoint must extend
   the package's (`audit verify --previous` / `--state` on a later package).
"""


def reproduce_md(
    facts: GuideFacts,
    events: Sequence[LoggedEvent],
    mappings: Sequence[Mapping[str, Any]],
    approvals: Mapping[str, int],
    contract: Mapping[str, Any],
) -> bytes:
    version, revision = software()
    lines = [
        f"# Reproducing audit package {facts.scope} version {facts.package_version}",
        "",
        f"- log: `{facts.origin}`, tree size {facts.tree_size}, root `{facts.root_hash}`",
        f"- exported: {facts.created_at}",
        f"- syncledger version: {version}; git revision: {revision}",
        "",
        "## Inputs (source record versions)",
        "",
        *_inputs(events),
        "",
        "## Mapping versions",
        "",
        *_mappings(mappings, approvals),
        "",
        "## Ledger contract runs",
        "",
        *_contracts(contract),
        "",
        "## Commands",
        "",
        _COMMANDS,
    ]
    return "\n".join(lines).encode()
