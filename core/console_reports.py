"""The report artefacts the console lists and serves (``<data dir>/reports``).

``syncledger report`` writes ``<entity>/<ledger>/<name>.html|csv|json`` under the reports
folder (``core/reports.py``). The console only reads: it lists those files and serves one
when the path given resolves — symlinks followed — to a regular file *inside* the folder
with one of the three suffixes; anything else (``..``, an absolute path, a hidden
scratch file, another suffix) is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
}


@dataclass(frozen=True, slots=True)
class ReportFile:
    path: str  # relative to the reports folder, with ``/``
    entity: str
    ledger: str
    name: str  # e.g. daily-2026-12-06
    suffix: str  # html | csv | json
    size: int
    modified: datetime


def list_reports(root: Path) -> list[ReportFile]:
    """Every artefact under ``root``, newest name first within each entity and ledger."""
    if not root.is_dir():
        return []
    found = [_file(root, p) for p in root.glob("*/*/*") if _servable(root, p)]
    return sorted(found, key=lambda f: (f.entity, f.ledger, _desc(f.name), f.suffix))


def _desc(name: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in name)


def _file(root: Path, path: Path) -> ReportFile:
    rel = path.relative_to(root)
    stat = path.stat()
    return ReportFile(
        path=rel.as_posix(),
        entity=rel.parts[0],
        ledger=rel.parts[1],
        name=path.stem,
        suffix=path.suffix[1:],
        size=stat.st_size,
        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
    )


def _servable(root: Path, path: Path) -> bool:
    if path.name.startswith(".") or path.suffix not in MEDIA_TYPES:
        return False
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # gone, or a symlink loop
        return False
    return real.is_file() and real.is_relative_to(root.resolve())


def resolve_report(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root``, or None when it names nothing the
    console may serve (module docstring)."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts) or not rel.parts:
        return None
    if "\\" in relative or "\x00" in relative:
        return None
    path = root / Path(*rel.parts)
    return path if _servable(root, path) else None
