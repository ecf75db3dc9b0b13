"""The session runtime: the only code that builds sessions (`open_session`) and changes them
(the `Session` API). Every front end is a client of these two names."""

from __future__ import annotations

from .build import Options, open_session
from .run_record import RunRecord
from .session import Session

__all__ = ["Options", "RunRecord", "Session", "open_session"]
