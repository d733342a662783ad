"""Sessions: one id per run, carried by context variables into agents and logs.

Every orchestrator run opens a :class:`Session`. Its id lives in a context
variable, so every task the run starts (asyncio copies the context when a task
is created) sees its own id, and concurrent runs never see each other's. A
logging filter puts the id on every log record (``%(session_id)s``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Session",
    "SessionLogFilter",
    "current_session",
    "current_session_id",
    "new_session_id",
    "session_scope",
]

_CURRENT: ContextVar[Session | None] = ContextVar("vgkit_session", default=None)


def new_session_id() -> str:
    """A fresh session id: ``vg-`` + milliseconds since the epoch (hex) + 8 random hex.

    Ids sort by creation time, which keeps logs and job lists readable.
    """
    return f"vg-{time.time_ns() // 1_000_000:011x}-{uuid.uuid4().hex[:8]}"


@dataclass
class Session:
    """State of one run. Only the run that owns it writes to it."""

    id: str = field(default_factory=new_session_id)
    request_id: str = ""
    started: float = field(default_factory=time.time)
    state: dict[str, Any] = field(default_factory=dict)


def current_session() -> Session | None:
    """The session of the run this code executes in, if any."""
    return _CURRENT.get()


def current_session_id() -> str | None:
    s = _CURRENT.get()
    return s.id if s is not None else None


@contextmanager
def session_scope(session: Session) -> Iterator[Session]:
    """Make ``session`` current for this block (and every task started in it)."""
    token = _CURRENT.set(session)
    try:
        yield session
    finally:
        _CURRENT.reset(token)


class SessionLogFilter(logging.Filter):
    """Adds ``session_id`` to log records (``-`` outside a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.session_id = current_session_id() or "-"
        return True
