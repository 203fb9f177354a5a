"""SQL read models folded from the event log (DESIGN §9).

Public entry points: :func:`make_engine`, :func:`create_all`, :class:`ProjectionRunner`,
:func:`replay`, :func:`verify` and :class:`ReadModels`.
"""

from projections.engine import make_engine
from projections.queries import ReadModels
from projections.rebuild import ReplayResult, VerifyResult, replay, verify
from projections.runner import ProjectionRunner
from projections.schema import create_all, metadata

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
