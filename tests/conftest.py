"""Shared fixtures: a real Redis (shared server, private key prefix), private
Redis servers that a test may kill, and free loopback ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

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
