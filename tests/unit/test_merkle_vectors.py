"""transparency-dev/merkle's published proof vectors, each accepted or refused exactly as
upstream says (tests/fixtures/merkle_vectors/README.md names the source and commit)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from syncledger.audit.merkle import verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "merkle_vectors"


def _vectors(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _bytes(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _proof(values: list[str] | None) -> list[bytes]:
    return [_bytes(v) for v in values or []]


def _id(path: Path) -> str:
    return "/".join(path.parts[-2:])


def test_every_published_vector_is_vendored() -> None:
    assert (len(_vectors("inclusion")), len(_vectors("consistency"))) == (98, 98)
    assert "Apache License" in (VECTORS / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", _vectors("inclusion"), ids=_id)
def test_inclusion_vector_verdict(path: Path) -> None:
    v = _load(path)
    accepted = verify_inclusion(
        v["leafIdx"], v["treeSize"], _bytes(v["leafHash"]), _proof(v["proof"]), _bytes(v["root"])
    )
    assert accepted is not v["wantErr"], v["desc"]


@pytest.mark.parametrize("path", _vectors("consistency"), ids=_id)
def test_consistency_vector_verdict(path: Path) -> None:
    v = _load(path)
    accepted = verify_consistency(
        v["size1"], v["size2"], _bytes(v["root1"]), _bytes(v["root2"]), _proof(v["proof"])
    )
    assert accepted is not v["wantErr"], v["desc"]
