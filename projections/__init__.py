"""SQL read models folded from the event log (DESIGN §9).

Public entry points: :func:`make_engine`, :func:`create_all`, :class:`ProjectionRunner`,
:func:`replay`, :func:`verify` and :class:`ReadModels`.
"""

from syncledger.projections.engine import make_engine
from syncledger.projections.queries import ReadModels
from syncledger.projections.rebuild import ReplayResult, VerifyResult, replay, verify
from syncledger.projections.runner import ProjectionRunner
from syncledger.projections.schema import create_all, metadata

__all__ = [
    "ProjectionRunner",
    "ReadModels",
    "ReplayResult",
    "VerifyResult",
    "create_all",
    "make_engine",
    "metadata",
    "replay",
    "verify",
]
