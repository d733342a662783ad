"""Which labs exist, who owns them, and removing them (including a crashed run's).

Everything a lab creates carries its name: namespaces ``vgkit-<lab>-<host>``
and ``vgkit-<lab>-bridge``, the resolver files ``/etc/netns/vgkit-<lab>-*/``
and the record ``/run/vgkit-netlab/<lab>.json``. The record is written before
anything else and names the owning process (pid and start time, so a reused
pid is not mistaken for the owner). A lab is stale when its owner is gone and
it was not detached (``vgkit netlab up --detach``), or when namespaces with
the prefix have no record at all; :func:`remove_stale` removes those, and every
``up`` calls it first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vgkit.netlab import system

__all__ = [
    "PREFIX",
    "STATE_DIR",
    "LabRecord",
    "lab_names",
    "read_record",
    "remove_lab",
    "remove_stale",
]

PREFIX = "vgkit-"
STATE_DIR = Path("/run/vgkit-netlab")
ETC_NETNS = Path("/etc/netns")
BRIDGE = "bridge"
#: Seconds processes in a lab get between SIGTERM and SIGKILL at teardown.
TERM_GRACE = 3.0


def namespace(lab: str, host: str) -> str:
    return f"{PREFIX}{lab}-{host}"


def _lab_of(ns: str) -> str | None:
    if not ns.startswith(PREFIX):
        return None
    rest = ns[len(PREFIX) :]
    lab, sep, _ = rest.partition("-")
    return lab if sep and lab else None


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (None: no such process)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[19])


@dataclass(kw_only=True)
class LabRecord:
    """What ``/run/vgkit-netlab/<lab>.json`` holds."""

    name: str
    owner_pid: int
    owner_start: int | None
    detached: bool = False
    subnet: str = ""
    hosts: dict[str, str] = field(default_factory=dict)
    """Host name -> address."""
    links: dict[str, dict[str, float | None]] = field(default_factory=dict)
    delay: str = "none"
    """How delay is made: "netem", "relay" or "none"."""
    created: float = field(default_factory=time.time)

    @property
    def path(self) -> Path:
        return STATE_DIR / f"{self.name}.json"

    def write(self) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(self.path)

    def owner_alive(self) -> bool:
        start = process_start(self.owner_pid)
        return start is not None and (self.owner_start is None or start == self.owner_start)

    @property
    def stale(self) -> bool:
        return not self.detached and not self.owner_alive()

    def namespaces(self) -> list[str]:
        return [namespace(self.name, h) for h in self.hosts] + [namespace(self.name, BRIDGE)]


def read_record(name: str) -> LabRecord | None:
    try:
        data = json.loads((STATE_DIR / f"{name}.json").read_text())
        return LabRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def lab_names() -> set[str]:
    """Every lab that has a record or at least one namespace."""
    names = {lab for ns in system.netns_list() if (lab := _lab_of(ns)) is not None}
    with contextlib.suppress(OSError):
        names |= {p.stem for p in STATE_DIR.glob("*.json")}
    return names


def _kill_all(namespaces: list[str]) -> None:
    """SIGTERM every process in the namespaces, SIGKILL what is left after the grace."""
    pids = {pid for ns in namespaces for pid in system.netns_pids(ns)}
    pids.discard(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + TERM_GRACE
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if _alive(pid)}
        if pids:
            time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def remove_lab(name: str) -> list[str]:
    """Remove lab ``name``: its processes, namespaces, resolver files and record.

    Returns the namespaces removed. Safe to call for a half-built or half-removed lab.
    """
    present = [ns for ns in system.netns_list() if _lab_of(ns) == name]
    _kill_all(present)
    for ns in present:
        system.ip("netns", "del", ns, check=False)
        shutil.rmtree(ETC_NETNS / ns, ignore_errors=True)
    if ETC_NETNS.is_dir():
        for leftover in ETC_NETNS.glob(f"{PREFIX}{name}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(STATE_DIR / name, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (STATE_DIR / f"{name}.json").unlink()
    return present


def remove_stale() -> list[str]:
    """Remove every stale lab (see the module docstring); the names removed."""
    removed = []
    for name in sorted(lab_names()):
        record = read_record(name)
        if record is None or record.stale:
            remove_lab(name)
            removed.append(name)
    return removed
