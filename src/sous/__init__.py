"""sous: a terminal coding agent.

The public Python API is re-exported lazily so that `import sous` (and `sous --version`) stays
cheap; see `__all__`.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "Agent": "sous.core",
    "Client": "sous.api",
    "Conversation": "sous.core",
    "RunRecord": "sous.runtime",
    "Session": "sous.runtime",
    "open_session": "sous.runtime",
    "query": "sous.api",
    "run_headless": "sous.ui.headless",
}

__all__ = [
    "Agent",
    "Client",
    "Conversation",
    "RunRecord",
    "Session",
    "__version__",
    "open_session",
    "query",
    "run_headless",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sous' has no attribute {name!r}")
