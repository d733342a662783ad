"""One base for everything that is opened, used in ``async with``, and closed.

A subclass overrides :meth:`AsyncResource.aclose` (release sockets, files, tasks,
child processes; safe to call twice) and, when it has set-up work that cannot
happen in ``__init__`` (connecting, starting a server, loading from disk),
:meth:`AsyncResource.start`. ``async with`` then calls ``start`` on entry and
``aclose`` on exit, whatever happened inside::

    class Server(AsyncResource):
        async def start(self) -> None:
            self._site = await listen(...)

        async def aclose(self) -> None:
            await self._site.stop()

    async with Server() as server:
        ...
"""

from __future__ import annotations

from typing import Self

__all__ = ["AsyncResource"]


class AsyncResource:
    """Base of vgkit's async context managers: ``start`` on enter, ``aclose`` on exit."""

    async def start(self) -> None:
        """Set-up that needs the event loop; the default does nothing."""

    async def aclose(self) -> None:
        """Release what the resource holds; calling it again does nothing."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
