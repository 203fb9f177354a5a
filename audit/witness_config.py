"""The checkpoint publisher the settings describe: witnesses (``witnesses``) and WORM
storage (``worm_*``); see :mod:`syncledger.audit.witness_client` and
:mod:`syncledger.audit.worm` for the formats."""

from __future__ import annotations

from pathlib import Path

from syncledger.audit.witness_client import WitnessEndpoint, parse_witnesses
from syncledger.audit.witness_publish import CheckpointPublisher, WitnessedStore
from syncledger.audit.worm import WormTarget, WormWriter
from syncledger.core.errors import ConfigurationError
from syncledger.core.settings import Settings


def worm_target(s: Settings) -> WormTarget | None:
    if s.worm_url is None and s.worm_bucket is None:
        return None
    missing = [
        name
        for name, value in (
            ("SYNCLEDGER_WORM_URL", s.worm_url),
            ("SYNCLEDGER_WORM_BUCKET", s.worm_bucket),
            ("SYNCLEDGER_WORM_ACCESS_KEY_ID", s.worm_access_key_id),
            ("SYNCLEDGER_WORM_SECRET_ACCESS_KEY", s.worm_secret_access_key),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(f"WORM publication needs {', '.join(missing)} as well")
    assert s.worm_url and s.worm_bucket and s.worm_access_key_id and s.worm_secret_access_key
    return WormTarget(
        s.worm_url,
        s.worm_bucket,
        s.worm_region,
        s.worm_access_key_id,
        s.worm_secret_access_key,
        s.worm_retain_days,
        s.worm_prefix,
    )


def configured_witnesses(s: Settings) -> list[WitnessEndpoint]:
    return parse_witnesses(s.witnesses)


def configured_publisher(s: Settings, audit_dir: Path) -> CheckpointPublisher | None:
    """None when neither witnesses nor WORM storage are configured."""
    witnesses, target = configured_witnesses(s), worm_target(s)
    if not witnesses and target is None:
        return None
    worm = WormWriter(target) if target is not None else None
    return CheckpointPublisher(witnesses, WitnessedStore(audit_dir), worm)
