"""Run a coroutine from sync code, also inside a running event loop (Jupyter).

In a plain script there is no running loop: ``asyncio.run`` it. In Jupyter (or
any thread whose loop is already running) a nested ``asyncio.run`` is illegal,
so the coroutine runs on a fresh loop in a worker thread while this thread
waits. The coroutine is created in the thread that runs it, so nothing is
shared between the two loops.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``factory()`` to completion and return its result (or raise its error)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())

    result: list[T] = []
    error: list[BaseException] = []
    context = contextvars.copy_context()

    def target() -> None:
        try:
            result.append(context.run(asyncio.run, factory()))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="vgkit-sync", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
