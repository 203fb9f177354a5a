"""The installed distribution: everything under the ``syncledger`` namespace.

The repository keeps ``core/``, ``adapters/``, ``projections/`` and ``audit/`` at its top;
``pyproject.toml`` maps them to ``syncledger.<folder>``, so site-packages never gains
top-level modules with names as common as ``core`` or ``audit``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from syncledger.adapters.platforms import platform, platform_ids

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("core", "adapters", "projections", "audit")


def _packages_in_tree() -> set[str]:
    found = set()
    for folder in FOLDERS:
        for init in (REPO / folder).rglob("__init__.py"):
            found.add("syncledger." + ".".join(init.parent.relative_to(REPO).parts))
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert set(listed) == _packages_in_tree()


def _python_files() -> list[Path]:
    roots = [*(REPO / f for f in FOLDERS), REPO / "tests", REPO / "bench"]
    return [p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts]


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_code_imports_the_folders_by_their_bare_names() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_top_level_imports(path) & set(FOLDERS))
        for path in _python_files()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.slow
def test_the_wheel_holds_only_the_syncledger_namespace(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("syncledger-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"syncledger", next(t for t in tops if t.endswith(".dist-info"))}
    for ledger in platform_ids():
        folder = type(platform(ledger)).__module__.split(".")[2]
        assert f"syncledger/adapters/{folder}/mapping.toml" in names
    assert "syncledger/core/sample_data/invoices.csv" in names
    assert "syncledger/adapters/xero/sandbox/specs/xero_accounting.yaml" in names
