"""Fixtures for the job queue: queues with short timeouts, a fault-injecting
backend, and ``vgkit worker`` processes."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from vgkit.agents import AgentCall, TemplateBackend
from vgkit.errors import AgentError
from vgkit.metrics import MetricsRegistry
from vgkit.models import Model
from vgkit.queue import QueueConfig, RedisJobQueue

#: Short timeouts so reclaims and retries happen within a test's patience.
FAST = QueueConfig(visibility_timeout=1.0, backoff=0.02, backoff_max=0.1, poll_interval=0.1)


class FailingAgent:
    """Fault injection: the template backend, except that one agent always raises."""

    name = "template"

    def __init__(self, agent: str) -> None:
        self.inner = TemplateBackend()
        self.agent = agent
        self.calls = 0

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    async def run(self, call: AgentCall) -> Model:
        if call.spec.name == self.agent:
            self.calls += 1
            raise AgentError(self.agent, "injected fault")
        return await self.inner.run(call)

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def queue(redis_url: str, key_prefix: str) -> AsyncIterator[RedisJobQueue]:
    """A Redis queue under this test's private prefix, with short timeouts."""
    q = RedisJobQueue(redis_url, key_prefix=key_prefix, config=FAST, metrics=MetricsRegistry())
    yield q
    await q.aclose()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client, to look at the bytes the queue wrote."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def entries(raw: redis.Redis, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """A stream's entries, as the bytes Redis holds."""
    found: Any = raw.xrange(key)
    return list(found)


@dataclass
class WorkerProcess:
    """A ``vgkit worker`` process; ``stop`` returns its summary counts."""

    name: str
    proc: subprocess.Popen[str]
    metrics_port: int | None = None
    out: str = ""
    err: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.out, self.err = self.proc.communicate(timeout=timeout)
        for number, what in re.findall(r"(\d+) (succeeded|dead|cancelled|handed back)", self.out):
            self.counts[what] = int(number)
        return self.proc.returncode


@pytest.fixture
def workers(redis_url: str, key_prefix: str) -> Iterator[list[WorkerProcess]]:
    """Start workers with ``spawn(name, *args)``; any left running are killed at the end."""
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.communicate(timeout=10)


def spawn(
    started: list[WorkerProcess],
    redis_url: str,
    key_prefix: str,
    name: str,
    *args: str,
    metrics_port: int | None = None,
) -> WorkerProcess:
    exe = Path(sys.executable).with_name("vgkit")
    argv = [str(exe), "worker", "--redis", redis_url, "--key-prefix", key_prefix, "--name", name]
    argv += ["--metrics-port", str(metrics_port or 0), "--visibility-timeout", "1", *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = WorkerProcess(name, proc, metrics_port)
    started.append(worker)
    return worker


async def until(
    predicate: Callable[[], Awaitable[bool]], timeout: float, what: str, pause: float = 0.05
) -> None:
    """Wait until the async ``predicate()`` is true, or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(pause)
