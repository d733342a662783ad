"""The delaying relay: a lab host's one-way delay and jitter, in user space.

Kernels without ``netem`` (tc answers "Specified qdisc kind is unknown") cannot
hold packets back. vgkit speaks TCP between hosts, so the lab delays TCP
instead: every host runs one relay in its own namespace, and an nftables rule
redirects each TCP connection arriving on the host's link (``eth0``) to it. The
relay reads where the connection was going (``SO_ORIGINAL_DST``), opens that
connection on the host itself (over ``lo``, which no rule touches) and copies
bytes both ways, holding each chunk for the one-way delay of the pair of hosts:

* connection set-up: the client's ``connect()`` returns at once (the kernel
  completes the handshake with the relay), so the relay charges the round trip
  the handshake would have taken: it opens the real connection one one-way
  delay later, and the client's first bytes leave no earlier than one round trip
  after it connected, then travel their own one-way delay. A new connection
  answering one request therefore costs two round trips, as on a real link;
* every later chunk, in each direction, is delivered one one-way delay (plus
  jitter) after the relay read it, never before a chunk read earlier in the same
  direction (TCP keeps order, and so does the relay);
* an end of stream or a reset is passed on after the same delay; a refused
  connection resets the client's after the round trip it would have taken.

The one-way delay between two hosts is a quarter of the sum of their links'
round-trip times (two equal links of ``rtt`` give a round trip of ``rtt``), and
the jitter is half the sum of theirs, drawn uniformly in ``[-jitter, +jitter]``.

Timing: asyncio's timers go through epoll, whose timeout is whole milliseconds
(rounded up), far too coarse for a 1 ms link. Chunks are released by a Linux
timerfd armed for the earliest release (absolute, in nanoseconds) that the
event loop watches like a socket, so delays of a fraction of a millisecond hold
to within about a tenth of a millisecond, and the relay learns how late its
releases run and starts them that much early.

Run as ``python -m vgkit.netlab.relay CONFIG.json`` inside the host's namespace
(the lab does this); SIGHUP re-reads the configuration (new delays apply to new
connections), SIGTERM stops it. It prints ``ready`` once it listens and
``reloaded`` once it has read a new configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import itertools
import json
import os
import random
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

__all__ = ["RELAY_PORT", "PreciseTimer", "RelayConfig", "main"]

#: The port every host's relay listens on, in the host's own namespace (above
#: the kernel's ephemeral range, so no outgoing connection ever takes it).
RELAY_PORT = 61999
#: Linux's getsockopt for the destination a connection had before NAT.
SO_ORIGINAL_DST = 80
#: Bytes held in one direction before the relay stops reading that side.
HIGH_WATER = 4 << 20
LOW_WATER = 1 << 20
#: A chunk due this close to now is sent without another wait.
SLACK = 10e-6
#: Most the relay starts a release early to make up for its own latency.
MAX_LEAD = 300e-6

_EOF = b""


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """What one host's relay needs: its address and every host's link figures.

    ``rtt`` and ``jitter`` map each lab address (this host's included) to its
    link's round-trip time and jitter, in seconds.
    """

    address: str
    port: int = RELAY_PORT
    rtt: dict[str, float] = field(default_factory=dict)
    jitter: dict[str, float] = field(default_factory=dict)
    seed: int | None = None

    def one_way(self, peer: str) -> tuple[float, float]:
        """The one-way delay and jitter between this host and ``peer``."""
        delay = (self.rtt.get(self.address, 0.0) + self.rtt.get(peer, 0.0)) / 4
        jitter = (self.jitter.get(self.address, 0.0) + self.jitter.get(peer, 0.0)) / 2
        return delay, jitter

    def to_json(self) -> str:
        return json.dumps(
            {
                "address": self.address,
                "port": self.port,
                "rtt": self.rtt,
                "jitter": self.jitter,
                "seed": self.seed,
            }
        )

    @classmethod
    def load(cls, path: str | Path) -> RelayConfig:
        data: dict[str, Any] = json.loads(Path(path).read_text())
        return cls(
            address=str(data["address"]),
            port=int(data.get("port", RELAY_PORT)),
            rtt={str(k): float(v) for k, v in data.get("rtt", {}).items()},
            jitter={str(k): float(v) for k, v in data.get("jitter", {}).items()},
            seed=data.get("seed"),
        )


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = 0o4000
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1


class PreciseTimer:
    """Calls callbacks on the event loop at ``time.monotonic()`` instants, to ~0.1 ms.

    A Linux timerfd (armed for the earliest deadline, absolute, in nanoseconds)
    is watched by the loop like a socket: the loop wakes when it fires, however
    coarse its own timeouts are, with no thread to hand over to.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if self._fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_create: {os.strerror(errno)}")
        self._armed_at: float | None = None
        loop.add_reader(self._fd, self._fire)

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        entry = (when, next(self._seq), callback)
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._armed_at is not None and self._armed_at <= when:
            return
        self._armed_at = when
        when = max(when, 1e-9)  # zero would disarm the timer
        spec = _Itimerspec()
        spec.it_value.tv_sec = int(when)
        spec.it_value.tv_nsec = int((when - int(when)) * 1e9)
        if self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None):
            errno = ctypes.get_errno()
            raise OSError(errno, f"timerfd_settime: {os.strerror(errno)}")

    def _fire(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._fd, 8)
        self._armed_at = None
        now = time.monotonic() + SLACK
        due: list[Callable[[], None]] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        if self._heap:
            self._arm(self._heap[0][0])
        _fire(due)

    def stop(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)


def _fire(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:  # one connection's failure must not stop the others
            print(f"vgkit relay: {type(exc).__name__}: {exc}", file=sys.stderr)


class _Direction:
    """Chunks read from one side, waiting for their delivery time to the other."""

    def __init__(self, conn: _Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        self.target: asyncio.Transport | None = None
        self.source: asyncio.Transport | None = None
        self.chunks: deque[tuple[float, bytes]] = deque()
        self.held = 0
        self.not_before = 0.0
        """Earliest delivery time of the next chunk (order, and connection set-up)."""
        self.armed = False
        self.paused = False
        self.closed = False

    def push(self, data: bytes) -> None:
        conn = self.conn
        jitter = conn.rng.uniform(-conn.jitter, conn.jitter) if conn.jitter else 0.0
        due = max(self.not_before, time.monotonic() + max(0.0, conn.delay + jitter))
        self.not_before = due
        self.chunks.append((due, data))
        self.held += len(data)
        if self.held > HIGH_WATER and self.source is not None and not self.paused:
            self.paused = True
            self.source.pause_reading()
        self.arm()

    def arm(self) -> None:
        if self.armed or not self.chunks or self.target is None:
            return
        self.armed = True
        relay = self.conn.relay
        relay.timer.call_at(self.chunks[0][0] - relay.lead, self.flush)

    def flush(self) -> None:
        self.armed = False
        target = self.target
        if target is None or self.closed:
            return
        now = time.monotonic()
        if self.chunks:
            self.conn.relay.observe(now - self.chunks[0][0])
        now += SLACK
        while self.chunks and self.chunks[0][0] <= now:
            _, data = self.chunks.popleft()
            self.held -= len(data)
            if data is _EOF:
                if target.can_write_eof():
                    with contextlib.suppress(OSError, RuntimeError):
                        target.write_eof()
                self.closed = True
                self.chunks.clear()
                self.conn.maybe_done()
                return
            target.write(data)
        if self.paused and self.held < LOW_WATER and self.source is not None:
            self.paused = False
            self.source.resume_reading()
        self.arm()


class _Side(asyncio.Protocol):
    """One of the two TCP connections of a relayed connection."""

    def __init__(self, conn: _Connection, inbound: _Direction, outbound: _Direction) -> None:
        self.conn = conn
        self.inbound = inbound
        """Chunks this side reads (sent on to the other side)."""
        self.outbound = outbound
        """Chunks delivered to this side."""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        transport = self.transport
        self.inbound.source = transport
        self.outbound.target = transport
        self.outbound.arm()

    def data_received(self, data: bytes) -> None:
        self.inbound.push(data)

    def eof_received(self) -> bool:
        self.inbound.push(_EOF)
        return True  # keep the write half open until the other side's EOF arrives

    def pause_writing(self) -> None:
        if self.outbound.source is not None:
            self.outbound.source.pause_reading()

    def resume_writing(self) -> None:
        if self.outbound.source is not None and not self.outbound.paused:
            self.outbound.source.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.lost(self, exc)


class _Connection:
    """A client's connection to a lab host, relayed to where it was going."""

    def __init__(self, relay: Relay, sock: socket.socket, peer: str) -> None:
        self.relay = relay
        self.rng = relay.rng
        self.delay, self.jitter = relay.config.one_way(peer)
        self.started = time.monotonic()
        self.up = _Direction(self, "up")  # client -> server
        self.down = _Direction(self, "down")  # server -> client
        # The handshake the client did not wait for: its data leaves one round trip late.
        self.up.not_before = self.started + 2 * self.delay + self.delay
        self.client = _Side(self, self.up, self.down)
        self.server = _Side(self, self.down, self.up)
        self.finished = False
        self.destination = _original_destination(sock)

    async def open(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: self.client, sock)
        if self.destination is None or self.destination[1] == self.relay.config.port:
            self.reset_client(at=self.started)
            return
        self.relay.timer.call_at(self.started + self.delay, self._connect_later)

    def _connect_later(self) -> None:
        if not self.finished:
            self.relay.spawn(self._connect())

    async def _connect(self) -> None:
        assert self.destination is not None
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self.server, *self.destination)
        except OSError:
            # Refused (or unreachable): the client learns it one round trip after it connected.
            self.reset_client(at=self.started + 2 * self.delay)

    def reset_client(self, *, at: float) -> None:
        def reset() -> None:
            transport = self.client.transport
            if transport is not None and not transport.is_closing():
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                transport.abort()
            self.finished = True

        self.relay.timer.call_at(at, reset)

    def maybe_done(self) -> None:
        if self.up.closed and self.down.closed:
            self.close()

    def lost(self, side: _Side, exc: Exception | None) -> None:
        if self.finished:
            return
        other = self.server if side is self.client else self.client
        towards = self.down if side is self.server else self.up
        if exc is None:
            # A clean close after EOF: pass the EOF on (if not already queued), then close.
            if not towards.closed and (not towards.chunks or towards.chunks[-1][1] is not _EOF):
                towards.push(_EOF)
            return
        # A reset: the other side is reset one one-way delay later.
        due = max(towards.not_before, time.monotonic() + self.delay)

        def abort() -> None:
            if other.transport is not None:
                other.transport.abort()
            self.close()

        self.relay.timer.call_at(due, abort)

    def close(self) -> None:
        if self.finished:
            return
        self.finished = True
        for side in (self.client, self.server):
            if side.transport is not None and not side.transport.is_closing():
                side.transport.close()


def _original_destination(sock: socket.socket) -> tuple[str, int] | None:
    """Where the client meant to connect, before nftables redirected it here."""
    try:
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    except OSError:
        return None
    port = int.from_bytes(raw[2:4], "big")
    return socket.inet_ntoa(raw[4:8]), port


class Relay:
    """Accepts redirected connections and relays them with the configured delays."""

    def __init__(self, config: RelayConfig, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.rng = random.Random(config.seed)
        self.lead = 0.0
        """Seconds by which releases are started early (see ``observe``)."""
        self.timer: PreciseTimer
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: socket.socket | None = None

    def observe(self, late: float) -> None:
        """Learn how late releases run (timer thread to loop to socket) and start that early.

        ``late`` is how far after its due time a chunk went out, with the current
        lead already applied; the lead follows the raw lateness (an average over
        about 50 releases), so delays hold on a busy machine too.
        """
        raw = late + self.lead
        self.lead = min(MAX_LEAD, max(0.0, self.lead + (raw - self.lead) / 50))

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reload(self) -> None:
        if self.config_path is not None:
            self.config = RelayConfig.load(self.config_path)
        print("reloaded", flush=True)  # the lab waits for this before it measures anything

    async def serve(self, ready: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.timer = PreciseTimer(loop)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.config.address, self.config.port))
        listener.listen(4096)
        listener.setblocking(False)
        self._listener = listener
        if ready is not None:
            ready()
        try:
            while True:
                sock, peer = await loop.sock_accept(listener)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = _Connection(self, sock, str(peer[0]))
                self.spawn(conn.open(sock))
        finally:
            listener.close()
            self.timer.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m vgkit.netlab.relay CONFIG.json``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m vgkit.netlab.relay CONFIG.json", file=sys.stderr)
        return 2
    path = Path(args[0])
    relay = Relay(RelayConfig.load(path), path)

    def ready() -> None:
        print("ready", flush=True)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGHUP, relay.reload)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        serving = loop.create_task(relay.serve(ready))
        await stop.wait()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(go())
    else:
        uvloop.run(go())
    return 0


if __name__ == "__main__":
    sys.exit(main())
