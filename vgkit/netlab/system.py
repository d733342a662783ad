"""What the lab asks of the machine: root, iproute2 and nftables, and how it asks.

Every change goes through the command-line tools (``ip``, ``tc``, ``nft``) so
what the lab does can be read, and repeated by hand, from ``vgkit netlab up -v``.
:func:`check` says in one line what is missing; :func:`inside` moves the
calling thread into a namespace for as long as a ``with`` block lasts, so a
process in the root namespace can open sockets on a lab host.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from vgkit.errors import NetlabError, NetlabUnavailableError

__all__ = [
    "check",
    "inside",
    "ip",
    "lab_namespace",
    "netns_list",
    "netns_pids",
    "nft",
    "problems",
    "run",
    "tc",
]

log = logging.getLogger("vgkit.netlab")

#: ``setns(2)``'s flag for a network namespace.
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
TOOLS = {"ip": "iproute2", "tc": "iproute2", "nft": "nftables"}


def problems() -> list[str]:
    """What is missing for the lab on this machine (empty: it can run)."""
    found: list[str] = []
    if os.geteuid() != 0:
        found.append("root (network namespaces need CAP_NET_ADMIN: run as root or with sudo)")
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    found += [f"the {pkg} package (apt-get install {pkg})" for pkg in missing]
    if not Path("/proc/self/ns/net").exists():
        found.append("a Linux kernel with network namespaces")
    return found


def check() -> None:
    """Raise ``NetlabUnavailableError`` (one line) unless the lab can run here."""
    missing = problems()
    if missing:
        raise NetlabUnavailableError(
            "the network lab needs " + " and ".join(missing) + "; it cannot run on this machine"
        )


def run(argv: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
    """Run one command; its stdout. A failure raises ``NetlabError`` with its stderr."""
    log.debug("netlab: %s", " ".join(argv))
    try:
        done = subprocess.run(
            list(argv), input=input, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetlabError(f"could not run {argv[0]}: {exc}") from exc
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise NetlabError(
            f"{' '.join(argv[:6])} failed: {detail[-1] if detail else f'status {done.returncode}'}"
        )
    return done.stdout


def ip(*args: str, ns: str | None = None, check: bool = True) -> str:
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def tc(*args: str, ns: str, check: bool = True) -> str:
    return run(["tc", "-n", ns, *args], check=check)


def nft(script: str, *, ns: str) -> None:
    """Load an nftables script into namespace ``ns`` (atomically: all of it or none)."""
    run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script)


def netns_list() -> list[str]:
    """Names of every named network namespace."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except OSError:
        return []


def netns_pids(name: str) -> list[int]:
    """Processes running in namespace ``name``."""
    out = run(["ip", "netns", "pids", name], check=False)
    return [int(tok) for tok in out.split() if tok.isdigit()]


def lab_namespace() -> str | None:
    """The lab namespace (``vgkit-*``) this thread is in, or None (the machine's own)."""
    try:
        here = Path("/proc/thread-self/ns/net").stat().st_ino
        for path in NETNS_DIR.glob("vgkit-*"):
            if path.stat().st_ino == here:
                return path.name
    except OSError:
        return None
    return None


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)
    if setns is not None:  # Python 3.12+
        setns(fd, CLONE_NEWNET)
        return
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the ``with`` block's socket creation in network namespace ``namespace``.

    Only the calling thread moves, and only until the block ends; a socket keeps
    the namespace it was created in, so connections opened inside the block
    (an asyncio loop in this thread opens them there) keep working after it.
    Threads started inside the block start in the namespace too.
    """
    try:
        target = os.open(NETNS_DIR / namespace, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetlabError(f"no network namespace {namespace!r}: is the lab up?") from exc
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _setns(target)
        except OSError as exc:
            raise NetlabUnavailableError(f"cannot enter namespace {namespace}: {exc}") from exc
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)
