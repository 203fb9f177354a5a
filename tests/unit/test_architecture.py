"""Which module may import which: the boundaries the layout promises, checked on every
``make test`` from the source (every import statement, including function-level and
TYPE_CHECKING ones).

- core depends on no adapter, projection or audit module, except its composition root
  (the modules that wire the parts together); nothing else in core imports the root.
- A platform's sandbox never imports its own adapter (nor another platform's): the
  sandbox is the independent second reading of the platform's documentation, so a bug
  shared by both sides cannot pass unnoticed.
- One platform folder (a ledger's or a source's) never imports another; the shared kit
  imports no platform.

Checking direct imports is enough: when every module of a group imports only from the
allowed groups, nothing it reaches can break the rule either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("core", "adapters", "projections", "audit")

#: the modules of core that wire adapters, projections and audit together
COMPOSITION_ROOT = frozenset(
    f"syncledger.core.{name}"
    for name in (
        "cli",
        "demo",
        "demo_source",
        "pipeline",
        "bootstrap",
        "ledgers",
        "sources",
        "alert_jobs",
        "alerts_cli",
        "console_wiring",
        "run_watch",
        "settings_check",
        "connect",
        "connect_credentials",
        "mapping_publish",
        "data_map_build",
        "partitions",
        "entity_prune",
    )
)


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return "syncledger." + ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module(p): p
        for folder in FOLDERS
        for p in (REPO / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    }


MODULES = _modules()


def _imports(name: str) -> Iterator[str]:
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _platform_folders() -> list[str]:
    return sorted(
        p.name
        for p in (REPO / "adapters").iterdir()
        if p.is_dir() and ((p / "rules.py").exists() or (p / "platform.py").exists())
    )


PLATFORMS = _platform_folders()


def _violations(sources: list[str], allowed: object, refused: object) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for source in sources:
        bad = sorted(
            {
                target
                for target in _imports(source)
                if target in MODULES or _within(target, "syncledger")
                if refused(source, target) and not allowed(source, target)  # type: ignore[operator]
            }
        )
        if bad:
            found[source] = bad
    return found


def test_the_platform_folders_are_found() -> None:
    ledgers = {"qbo", "xero", "sage", "zoho", "freshbooks", "netsuite", "odoo"}
    sources = {"hubspot", "jobber", "google_contacts", "webhooks"}
    assert ledgers | sources <= set(PLATFORMS)


def test_core_reaches_adapters_projections_and_audit_only_from_its_composition_root() -> None:
    outer = ("syncledger.adapters", "syncledger.projections", "syncledger.audit")
    core = [m for m in MODULES if _within(m, "syncledger.core") and m not in COMPOSITION_ROOT]

    def refused(_source: str, target: str) -> bool:
        return any(_within(target, o) for o in outer) or any(
            _within(target, root) for root in COMPOSITION_ROOT
        )

    assert _violations(core, lambda *_: False, refused) == {}


@pytest.mark.parametrize("folder", PLATFORMS)
def test_a_sandbox_imports_neither_its_adapter_nor_another_platform(folder: str) -> None:
    sandbox = f"syncledger.adapters.{folder}.sandbox"
    sources = [m for m in MODULES if _within(m, sandbox)]

    def refused(_source: str, target: str) -> bool:
        platform_code = any(_within(target, f"syncledger.adapters.{p}") for p in PLATFORMS)
        return platform_code or _within(target, "syncledger.adapters.platforms")

    assert _violations(sources, lambda _s, t: _within(t, sandbox), refused) == {}


@pytest.mark.parametrize("folder", PLATFORMS)
def test_a_platform_folder_imports_no_other_platform(folder: str) -> None:
    own = f"syncledger.adapters.{folder}"
    sources = [m for m in MODULES if _within(m, own)]

    def refused(_source: str, target: str) -> bool:
        return any(_within(target, f"syncledger.adapters.{p}") for p in PLATFORMS if p != folder)

    assert _violations(sources, lambda *_: False, refused) == {}


def test_the_shared_kit_imports_no_platform() -> None:
    folders = tuple(f"syncledger.adapters.{p}" for p in PLATFORMS)
    kit = [
        m
        for m in MODULES
        if _within(m, "syncledger.adapters")
        and not any(_within(m, f) for f in folders)
        and m != "syncledger.adapters.platforms"  # the registry names every platform
    ]

    def refused(_source: str, target: str) -> bool:
        return any(_within(target, f) for f in folders)

    assert _violations(kit, lambda *_: False, refused) == {}
