"""The event loops ``vgkit serve`` runs on: asyncio's own, or uvloop when installed."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine

from vgkit.errors import ServeError

__all__ = ["DEFAULT_LOOP", "LOOPS", "loop_factory", "run_on_loop"]

#: Event loops ``vgkit serve`` can run on; ``auto`` is uvloop when it is installed.
LOOPS = ("auto", "uvloop", "asyncio")
DEFAULT_LOOP = "auto"


def loop_factory(name: str = DEFAULT_LOOP) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event-loop factory for ``name`` (None: asyncio's default loop).

    uvloop runs the same aiohttp servers with about a third less CPU per
    request (its transports and loop iterations are C): on a loopback server
    that is most of what is left once the handler itself is lean.
    """
    if name not in LOOPS:
        raise ServeError(f"unknown event loop {name!r}; choose from {', '.join(LOOPS)}")
    if name == "asyncio":
        return None
    if importlib.util.find_spec("uvloop") is None:
        if name == "uvloop":
            raise ServeError("--loop uvloop needs the uvloop package: pip install uvloop")
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_on_loop(
    main: Callable[[], Coroutine[object, object, int]], loop: str = DEFAULT_LOOP
) -> int:
    """``asyncio.run(main())`` on the chosen event loop."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main())
