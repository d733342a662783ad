"""Shared fixtures: a real Redis (shared server, private key prefix), private
Redis servers that a test may kill, free loopback ports, layered caches on real
temp directories (``make_cache``), and the local language model (one ``vgkit llm
serve`` per test session)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from vgkit.breaker import BreakerConfig
from vgkit.cache import DiskConfig, DiskTier, LayeredCache, RedisConfig, RedisTier
from vgkit.cache.counters import stats_for
from vgkit.cache.policy import CachePolicy
from vgkit.metrics import MetricsRegistry
from vgkit.queue.persistence import warned_servers

REDIS_URL = os.environ.get("VGKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need_redis(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: Redis tests must run, not skip)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LocalModel:
    """The local model the session's ``vgkit llm serve`` answers with."""

    url: str
    """The API root, ``http://127.0.0.1:PORT/v1``."""
    model: str
    pid: int


#: Seconds the session's model may take to load (a busy 2-core machine is slow).
MODEL_STARTUP = 180.0


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalModel]:
    """SmolLM2-135M behind llama.cpp's server, started once per test session (per
    xdist worker) with ``vgkit llm serve --port 0``; stopped with SIGINT at the end.
    Without the llm extra it skips, and fails under CI=true (``make test`` installs it)."""
    from vgkit.errors import ModelServerError
    from vgkit.llm import require_extra

    try:
        require_extra()
    except ModelServerError as exc:
        if IN_CI:
            pytest.fail(f"{exc} (CI=true: the llm tests must run, not skip)")
        pytest.skip(str(exc))
    command = [sys.executable, "-c", "from vgkit.cli import run; run()", "llm", "serve"]
    proc = subprocess.Popen(
        [*command, "--port", "0", "--startup-timeout", str(MODEL_STARTUP)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + MODEL_STARTUP + 10
    url = model = ""
    while not url:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else ""
        if not line:
            proc.kill()
            proc.wait()
            pytest.fail("vgkit llm serve did not start: " + " | ".join(seen[-5:]))
        seen.append(line.strip())
        if line.startswith("vgkit llm:") and " at http" in line:
            model = line.split()[2]
            url = line.split(" at ", 1)[1].split()[0]
    yield LocalModel(url=url, model=model, pid=proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def private_cache_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point VGKIT_CACHE_DIR at a fresh directory, so no test touches the real home cache."""
    path = tmp_path_factory.mktemp("vgkit-cache")
    monkeypatch.setenv("VGKIT_CACHE_DIR", str(path))
    monkeypatch.delenv("VGKIT_REDIS_URL", raising=False)
    monkeypatch.delenv("VGKIT_KEY_PREFIX", raising=False)
    return path


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the shared test Redis; fails under CI when it does not answer."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        _need_redis(f"no Redis at {REDIS_URL}: {exc}")
    # The shared test Redis keeps nothing on purpose (README: --save ""); the queue's
    # warning about that is tested against Redis servers of its own.
    warned_servers.add(REDIS_URL)
    return REDIS_URL


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix private to this test; its keys are deleted afterwards."""
    prefix = f"vgkit-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        batch = list(client.scan_iter(match=prefix + "*", count=1000))
        if batch:
            client.delete(*batch)
    finally:
        client.close()


@dataclass
class RedisProcess:
    """A private redis-server on a free loopback port, which a test may kill."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            _need_redis("redis-server is not installed")
            return
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
                client.ping()
                client.close()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    """A private Redis server for tests that kill or restart it."""
    server = RedisProcess(port=free_port(), workdir=tmp_path)
    server.start()
    yield server
    server.kill()


MakeCache = Callable[..., LayeredCache]


@pytest.fixture
async def make_cache(tmp_path: Path) -> AsyncIterator[MakeCache]:
    """Build layered caches (own L1 directory each, own metrics); closed afterwards.

    ``redis``: a Redis URL for L2 (None: L1 only); ``l1=False``: L2 only; the
    rest are :class:`RedisConfig` fields (``breaker`` among them).
    """
    made: list[LayeredCache] = []

    def build(
        *,
        redis: str | None = None,
        prefix: str = "vgkit-test:",
        l1: bool = True,
        policy: CachePolicy | None = None,
        breaker: BreakerConfig | None = None,
        **redis_config: Any,
    ) -> LayeredCache:
        registry = MetricsRegistry()
        stats = stats_for(registry)
        local = shared = None
        if l1:
            directory = tmp_path / f"l1-{len(made)}"
            local = DiskTier(DiskConfig(directory=directory), stats=stats, prefix=prefix)
        if redis is not None:
            if breaker is not None:
                redis_config["breaker"] = breaker
            config = RedisConfig(url=redis, **redis_config)
            shared = RedisTier(config, stats=stats, prefix=prefix)
        cache = LayeredCache(l1=local, l2=shared, prefix=prefix, policy=policy, metrics=registry)
        made.append(cache)
        return cache

    yield build
    for cache in made:
        await cache.aclose()
