"""``syncledger mapping diff`` and ``syncledger mapping publish``: a ledger mapping file
compared with the version in force (``core/mapping_diff.py``), then, once a person agrees,
published with the same ``MappingVersionPublished`` a sync start appends
(``core/bootstrap.publish_mapping``), so both paths meet: the next worker start finds the
version in force and re-flows the records it now accepts (``core/reflow.py``).

``diff`` writes nothing (it runs as a reading command, ``READ_COMMANDS`` in
``core/cli.py``: no event, no state, no key). A file that does not read is the mapping's
usual ``ConfigurationError`` line (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from syncledger.adapters.platforms import ledger_rules, mapping_file
from syncledger.core.bootstrap import Runtime, open_runtime, publish_mapping
from syncledger.core.errors import ConfigurationError
from syncledger.core.exit_codes import ATTENTION
from syncledger.core.mapping import Mapping
from syncledger.core.mapping_diff import DryRun, Judge, MappingDiff, dry_run, unified_diff
from syncledger.core.mapping_diff_log import last_published, latest_items
from syncledger.core.pipeline import Said
from syncledger.core.settings import Settings

#: asked before publishing, with the diff's text; True: publish
Confirm = Callable[[str], bool]


def read_file(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the mapping file {path}: {exc}") from exc


async def compare(rt: Runtime, path: Path, text: str) -> MappingDiff:
    """``text`` (read from ``path``) against the version in force, with its dry run."""
    ledger, s = rt.settings.ledger, rt.settings
    new = Mapping.from_text(ledger, text, source=str(path))
    published = await last_published(rt.store, s.entity, ledger)
    if published is None or published.mapping_version == new.version:
        version = None if published is None else published.mapping_version
        return MappingDiff(ledger, version, new.version, str(path), [], DryRun())
    where = f"{published.mapping_version} (in force)"
    old = Mapping.from_text(ledger, published.content, source=where)
    diff = unified_diff(published.content, text, where, f"{new.version} ({path})")
    items = await latest_items(rt.store, rt.keys, s.entity)
    run = dry_run(Judge(ledger_rules(ledger), s.home_currency), old, new, items)
    return MappingDiff(ledger, published.mapping_version, new.version, str(path), diff, run)


async def diff_said(settings: Settings, file: Path | None) -> Said:
    """``mapping diff``: exit 0 when no record changes, 1 when records change."""
    path = file or mapping_file(settings.ledger)
    text = read_file(path)
    async with open_runtime(settings) as rt:
        found = await compare(rt, path, text)
    return Said(found.text(), found.as_json(), found.exit_code)


async def publish_said(settings: Settings, confirm: Confirm) -> Said:
    """``mapping publish``: the ledger's mapping file, shown as ``diff`` shows it (given to
    ``confirm``), then published if ``confirm`` agrees; exit 1 when it was not. The
    answer's text is what happened (the diff itself went to ``confirm``)."""
    path = mapping_file(settings.ledger)
    text = read_file(path)
    async with open_runtime(settings) as rt:
        found = await compare(rt, path, text)
        if found.in_force == found.proposed:
            return Said(found.text(), {**found.as_json(), "published": None})
        if not confirm(found.text()):
            line = f"not published: {found.in_force or 'no version'} stays in force"
            return Said(line, {**found.as_json(), "published": None}, ATTENTION)
        s = rt.settings
        version = await publish_mapping(rt.store, s.entity, s.ledger, s.actor, content=text)
    line = (
        f"published {version}: the next sync start runs with it and tries again by itself "
        "the records it now accepts (a running `syncledger run` keeps the version it "
        "started with until it is restarted)"
    )
    return Said(line, {**found.as_json(), "published": version})
