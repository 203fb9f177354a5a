"""The README and docs/ stand on their own: no reference to files outside the repository
(the team's research notes, a sibling folder, a machine path), and every relative
Markdown link points at a file the repository holds."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
OUTSIDE = re.compile(
    r"\.\./shared|/work/|\bSOURCES\.md\b|\bPLATFORMS\.md\b|\bDESIGN\.md\b|\bCONVENTIONS\.md\b"
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_no_page_names_a_file_outside_the_repository() -> None:
    found = [
        f"{page.relative_to(REPO)}:{n}: {line.strip()[:80]}"
        for page in PAGES
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_relative_links_point_at_files_the_repository_holds() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert broken == []
