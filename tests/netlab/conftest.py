"""Fixtures for the network lab: labs that are always removed, and a check that they were.

Lab tests need root, iproute2 and nftables: they skip without them, and fail
under CI=true (CI runs as root and .ci/run installs the tools).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.queue.conftest import WorkerProcess
from vgkit import netlab
from vgkit.netlab import Lab, LinkConfig
from vgkit.netlab.services import RedisServer
from vgkit.netlab.system import netns_list

MakeLab = Callable[..., Lab]


@pytest.fixture(scope="session")
def netlab_ready() -> None:
    """Skip (fail under CI) unless this machine can run a lab."""
    missing = netlab.problems()
    if missing:
        reason = "the network lab needs " + " and ".join(missing)
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: lab tests must run, not skip)")
        pytest.skip(reason)


def links() -> set[str]:
    """Interface names in the machine's own namespace (nothing the lab makes may land here)."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def assert_removed(lab: Lab) -> None:
    """Nothing of ``lab`` is left: namespaces, processes, records, resolver files."""
    prefix = f"vgkit-{lab.name}-"
    assert not [ns for ns in netns_list() if ns.startswith(prefix)]
    assert netlab.read_record(lab.name) is None
    assert not list(netlab.state.ETC_NETNS.glob(prefix + "*"))


@pytest.fixture
def make_lab(netlab_ready: None) -> Iterator[MakeLab]:
    """``make_lab(hosts, **Lab kwargs)``: a started lab, removed after the test whatever happens."""
    made: list[Lab] = []
    before = links()

    def make(hosts: list[str], **kwargs: Any) -> Lab:
        lab = Lab(hosts, **kwargs)
        made.append(lab)
        return lab.start_sync()

    try:
        yield make
    finally:
        for lab in made:
            lab.stop_sync()
    for lab in made:
        assert_removed(lab)
    assert links() <= before, "the lab left interfaces in the machine's namespace"


@dataclass
class Cluster:
    """A lab with a Redis host, worker hosts and a client host (the test process's seat).

    Redis runs on the ``redis`` host with the append-only file on
    (``appendfsync everysec``); ``vgkit worker`` processes run on worker hosts,
    each host with its own L1 cache directory, like separate machines.
    """

    lab: Lab
    workdir: Path
    redis: RedisServer | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    key_prefix: str = "vgkit-lab:"

    @property
    def redis_url(self) -> str:
        return f"redis://{self.lab.address('redis')}:6379/0"

    def env(self, host: str) -> dict[str, str]:
        """The environment of a process on ``host``: its own L1 directory."""
        return {**os.environ, "VGKIT_CACHE_DIR": str(self.workdir / f"l1-{host}")}

    def start_redis(self, *, aof: bool = True, save: str = "") -> None:
        """``redis-server`` on the redis host: the append-only file on (``everysec``) or off,
        and ``save`` the snapshot rules ("" none); its files stay in ``workdir``."""
        self.redis = RedisServer(self.lab, "redis", self.workdir, aof=aof, save=save)
        self.redis.start()

    def kill_redis(self) -> None:
        """SIGKILL: no shutdown, no final save; what survives is what the AOF holds."""
        if self.redis is not None:
            self.redis.kill()

    def worker(self, host: str, name: str, *args: str) -> WorkerProcess:
        """``vgkit worker`` on ``host`` (visibility timeout 1 s, no /metrics)."""
        argv = [VGKIT, "worker", "--redis", self.redis_url, "--key-prefix", self.key_prefix]
        argv += ["--name", name, "--metrics-port", "0", "--visibility-timeout", "1", *args]
        proc = self.lab.popen(
            host,
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(host),
        )
        worker = WorkerProcess(name, proc)
        self.workers.append(worker)
        return worker

    def run(
        self, host: str, argv: list[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on ``host`` to completion."""
        return subprocess.run(
            self.lab.command(host, argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(host),
        )

    def helper(self, host: str, args: dict[str, Any]) -> subprocess.Popen[str]:
        """``python -m tests.cache._worker`` on ``host`` (its multi-process cache modes)."""
        return self.lab.popen(
            host,
            [sys.executable, "-m", "tests.cache._worker", json.dumps(args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(host),
        )


VGKIT = str(Path(sys.executable).with_name("vgkit"))
HOSTS = ["client", "redis", "worker-1", "worker-2", "worker-3"]


@pytest.fixture
def cluster(make_lab: MakeLab, tmp_path: Path) -> Iterator[Cluster]:
    """A five-host lab (1 ms links) with Redis up; everything is removed afterwards."""
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is not installed (CI=true: lab tests must run)")
        pytest.skip("redis-server is not installed")
    lab = make_lab(HOSTS, link=LinkConfig.parse(rtt="1ms"))
    c = Cluster(lab=lab, workdir=tmp_path)
    c.start_redis()
    try:
        yield c
    finally:
        for w in c.workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.communicate(timeout=10)
        c.kill_redis()
