"""Whether the Redis that holds the queue keeps it across a restart.

A queue lives in Redis's memory. With neither the append-only file nor
snapshots on, a restart (a crash, a reboot, an upgrade) loses every queued and
running job. :func:`read_persistence` reads the settings when a worker or a
submitter first connects, and :func:`warn_if_volatile` says so once per Redis
server and process, in one line. docs/queue.md says how to run Redis for the
queue (``--appendonly yes --appendfsync everysec``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

__all__ = ["Persistence", "read_persistence", "warn_if_volatile", "warned_servers"]

log = logging.getLogger("vgkit.queue")

#: Redis servers (as their URL was given) this process has warned about: once each.
#: The test suite adds its shared, deliberately volatile Redis here.
warned_servers: set[str] = set()


@dataclass(frozen=True, slots=True)
class Persistence:
    """What Redis keeps across a restart.

    ``aof``: the append-only file is on; ``appendfsync`` its fsync policy.
    ``snapshots``: RDB snapshots are scheduled (``save`` rules); None when Redis
    would not say (CONFIG disabled, as on some managed services).
    """

    aof: bool
    snapshots: bool | None
    appendfsync: str | None = None

    @property
    def durable(self) -> bool | None:
        """True when a restart keeps the queue, False when it loses it, None: unknown."""
        if self.aof or self.snapshots:
            return True
        return None if self.snapshots is None else False

    def describe(self) -> str:
        aof = f"appendonly yes (appendfsync {self.appendfsync})" if self.aof else "appendonly no"
        save = {True: "snapshots on", False: 'save ""', None: "snapshots unknown"}[self.snapshots]
        return f"{aof}, {save}"


async def read_persistence(client: aioredis.Redis) -> Persistence | None:
    """Redis's persistence settings (None when Redis refuses to tell)."""
    try:
        config: dict[Any, Any] = await client.config_get("*")
    except ResponseError:  # CONFIG renamed or denied: INFO still says whether the AOF is on
        try:
            info: dict[str, Any] = await client.info("persistence")
        except RedisError:
            return None
        return Persistence(aof=bool(int(info.get("aof_enabled", 0))), snapshots=None)
    settings = {_text(k): _text(v) for k, v in config.items()}
    return Persistence(
        aof=settings.get("appendonly", "no") == "yes",
        snapshots=bool(settings.get("save", "").strip()),
        appendfsync=settings.get("appendfsync"),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def warn_if_volatile(url: str, persistence: Persistence | None) -> bool:
    """Log one warning line (once per server and process) when a restart loses the queue."""
    if persistence is None or persistence.durable is not False or url in warned_servers:
        return False
    warned_servers.add(url)
    log.warning(
        "vgkit: warning: Redis at %s keeps the queue in memory only (%s): a restart loses "
        "every queued and running job; start it with --appendonly yes --appendfsync everysec "
        "(docs/queue.md)",
        url,
        persistence.describe(),
    )
    return True
