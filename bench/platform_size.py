"""Lines per ledger platform: its folder's adapter modules, its sandbox, and the tests
that are only about it (``tests/unit/test_<platform>_*.py``, ``tests/support/<platform>.py``),
and the average over the platforms — the figure the platform kit is measured by.

Counts every line of the Python files (blank lines and comments included), so the
figure is the one ``wc -l`` gives. Run: ``python bench/platform_size.py``.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _lines(paths: list[Path]) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in paths)


def _platforms() -> list[str]:
    adapters = REPO / "adapters"
    return sorted(p.name for p in adapters.iterdir() if (p / "platform.py").exists())


def measure(folder: str) -> tuple[int, int, int]:
    root = REPO / "adapters" / folder
    sandbox = sorted((root / "sandbox").rglob("*.py"))
    adapter = sorted(p for p in root.rglob("*.py") if p not in sandbox)
    tests = sorted((REPO / "tests").rglob(f"test_{folder}_*.py"))
    tests += [p for p in [REPO / "tests" / "support" / f"{folder}.py"] if p.exists()]
    return _lines(adapter), _lines(sandbox), _lines(tests)


def main() -> None:
    totals = []
    print(f"{'platform':<12}{'adapter':>9}{'sandbox':>9}{'tests':>9}{'total':>9}")
    for folder in _platforms():
        adapter, sandbox, tests = measure(folder)
        totals.append(adapter + sandbox + tests)
        print(f"{folder:<12}{adapter:>9}{sandbox:>9}{tests:>9}{totals[-1]:>9}")
    print(f"lines_per_platform_avg={sum(totals) / len(totals):.0f}")


if __name__ == "__main__":
    main()
