"""A lab: test hosts on one machine, each a network namespace, joined through a switch.

::

    from vgkit.netlab import Lab, LinkConfig

    with Lab(["client", "redis", "worker-1"], link=LinkConfig.parse(rtt="1ms")) as lab:
        redis = lab.popen("redis", ["redis-server", "--bind", lab.address("redis")])
        with lab.inside("client"):          # this thread's sockets open on the client host
            ...
        lab.cut("worker-1")                 # nothing crosses worker-1's link
        lab.restore("worker-1")
        lab.partition(["redis"])            # redis cannot reach anyone, nor anyone it
        lab.heal()

Layout: the switch is a Linux bridge in a namespace of its own
(``vgkit-<lab>-bridge``); every host is a namespace ``vgkit-<lab>-<host>``
whose ``eth0`` is one end of a veth pair whose other end is a port of the
bridge. Addresses come from ``subnet`` (default ``10.77.0.0/24``), in the
order the hosts are given, and exist only inside the lab's namespaces: the
lab has no link to the machine's own namespace and no default route, so
nothing in it can reach the outside, nor the outside it. ``/etc/netns``
gives each host a hosts file, so processes started in the lab reach each
other by host name (``redis-cli -h redis``).

Links (:class:`~vgkit.netlab.link.LinkConfig`, per host or one for all): rate
by tbf on both ends of the veth; loss, cuts and partitions by nftables in the
host's namespace; delay and jitter by netem where the kernel has it, otherwise
by the delaying relay (:mod:`vgkit.netlab.relay`) on every host.

Everything is removed by ``stop`` (``with`` and ``async with`` call it), at
interpreter exit, and, when the owning process died without it, by the next
lab's start (:func:`vgkit.netlab.state.remove_stale`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ipaddress
import logging
import os
import re
import secrets
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Self

from vgkit.errors import ConfigError, NetlabError
from vgkit.netlab import state, system
from vgkit.netlab.link import NO_SHAPING, LinkConfig
from vgkit.netlab.relay import RELAY_PORT, RelayConfig
from vgkit.netlab.shaping import LINK, relay_script, switch_script, tc_commands

__all__ = ["DEFAULT_HOSTS", "DEFAULT_SUBNET", "Delay", "Host", "Lab"]

log = logging.getLogger("vgkit.netlab")

DEFAULT_SUBNET = "10.77.0.0/24"
DEFAULT_HOSTS = ("client", "agents", "redis", "worker-1", "worker-2")
#: How delay is made: netem where the kernel has it, else the relay ("auto").
Delay = Literal["auto", "netem", "relay"]
RELAY_START_TIMEOUT = 20.0
RELAY_MAIN = "import sys; from vgkit.netlab.relay import main; sys.exit(main())"

_HOST = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_LAB = re.compile(r"^[a-z0-9]{1,12}$")


@dataclass(frozen=True)
class Host:
    """One lab host: its name, namespace, address and link."""

    name: str
    namespace: str
    address: str
    link: LinkConfig
    port: str
    """The switch's end of the host's link (in the bridge namespace)."""


class Lab:
    """Hosts in network namespaces with shaped links (see the module docstring).

    ``hosts``: host names (lower case, digits and dashes). ``link``: every
    host's link; ``links`` overrides it per host. ``name``: the lab's name
    (default random); ``delay``: "auto", "netem" or "relay". ``detached``: the
    lab outlives this process (``vgkit netlab up --detach``) until
    ``vgkit netlab down``. ``seed`` makes the relays' jitter repeatable.
    """

    def __init__(
        self,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        *,
        link: LinkConfig = NO_SHAPING,
        links: Mapping[str, LinkConfig] | None = None,
        name: str | None = None,
        subnet: str = DEFAULT_SUBNET,
        delay: Delay = "auto",
        detached: bool = False,
        seed: int | None = None,
    ) -> None:
        self.name = name or secrets.token_hex(3)
        if not _LAB.match(self.name):
            raise ConfigError(
                f"lab name {self.name!r} must be 1-12 lower-case letters or digits (no dashes)"
            )
        names = list(hosts)
        if not names:
            raise ConfigError("a lab needs at least one host")
        for host in names:
            if not _HOST.match(host) or host == state.BRIDGE:
                raise ConfigError(
                    f"host name {host!r} must start with a letter and have at most 20 lower-case "
                    f"letters, digits or dashes (and not be {state.BRIDGE!r})"
                )
        if len(set(names)) != len(names):
            raise ConfigError(f"a host is listed twice: {', '.join(names)}")
        unknown = set(links or {}) - set(names)
        if unknown:
            raise ConfigError(f"links given for unknown hosts: {', '.join(sorted(unknown))}")
        try:
            network = ipaddress.ip_network(subnet)
        except ValueError as exc:
            raise ConfigError(f"subnet {subnet!r} is not a network: {exc}") from None
        if not (network.version == 4 and network.is_private):
            raise ConfigError(f"subnet {subnet} must be a private IPv4 range (10.x, 172.16-31.x)")
        addresses = list(network.hosts())
        if len(addresses) < len(names):
            raise ConfigError(
                f"subnet {subnet} has room for {len(addresses)} hosts, not {len(names)}"
            )
        if delay not in ("auto", "netem", "relay"):
            raise ConfigError(f"delay must be auto, netem or relay, not {delay!r}")
        self.subnet = network
        self.delay_mode: Delay = delay
        self.detached = detached
        self.seed = seed
        per_host = dict(links or {})
        self.hosts: dict[str, Host] = {
            host: Host(
                name=host,
                namespace=state.namespace(self.name, host),
                address=str(addresses[i]),
                link=per_host.get(host, link),
                port=f"p{i}",
            )
            for i, host in enumerate(names)
        }
        self.bridge = state.namespace(self.name, state.BRIDGE)
        self.netem = False
        self._cut: dict[str, str] = {}
        """Host -> how its link is cut ("drop" or "down")."""
        self._blocked: dict[str, set[str]] = {h: set() for h in names}
        """Host -> hosts it cannot reach (partitions)."""
        self._relays: dict[str, subprocess.Popen[bytes]] = {}
        self._children: list[subprocess.Popen[Any]] = []
        self._record: state.LabRecord | None = None
        self._lock = threading.Lock()

    # -- what a test or notebook uses ------------------------------------------------

    @property
    def running(self) -> bool:
        return self._record is not None

    @property
    def delay(self) -> str:
        """How delay is made now: "netem", "relay" or "none"."""
        if not any(h.link.delayed for h in self.hosts.values()):
            return "none"
        return "netem" if self.netem else "relay"

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise NetlabError(
                f"no host {name!r} in lab {self.name}; it has {', '.join(self.hosts)}"
            ) from None

    def address(self, host: str) -> str:
        """The host's address on the lab's network."""
        return self.host(host).address

    def namespace(self, host: str) -> str:
        return self.host(host).namespace

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped to run on ``host`` (``ip netns exec``), with ``VGKIT_HOST_NAME``
        set to the host's name (the name its trace spans carry)."""
        namespace = self.namespace(host)
        return ["ip", "netns", "exec", namespace, "env", f"VGKIT_HOST_NAME={host}", *argv]

    def popen(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` on ``host``; the lab kills it, if it still runs, when it stops."""
        self._need_running()
        proc: subprocess.Popen[Any] = subprocess.Popen(self.command(host, argv), **kwargs)
        self._children.append(proc)
        return proc

    def relay_pids(self) -> dict[str, int]:
        """Host -> pid of its delaying relay (empty when netem delays, or nothing does)."""
        return {h: p.pid for h, p in self._relays.items() if p.poll() is None}

    def inside(self, host: str) -> contextlib.AbstractContextManager[None]:
        """Open sockets on ``host`` from this thread in the ``with`` block (``system.inside``)."""
        self._need_running()
        return system.inside(self.namespace(host))

    # -- changing links ---------------------------------------------------------------

    def shape(self, link: LinkConfig, hosts: Iterable[str] | None = None) -> None:
        """Give ``hosts`` (default: all) a new link; new connections see new delays."""
        names = list(self.hosts) if hosts is None else [self.host(h).name for h in hosts]
        with self._lock:
            for h in names:
                old = self.hosts[h]
                self.hosts[h] = Host(
                    name=old.name,
                    namespace=old.namespace,
                    address=old.address,
                    link=link,
                    port=old.port,
                )
            if self.running:
                for h in names:
                    self._apply_tc(self.hosts[h])
                self._sync_relays()
                self._apply_switch()
                self._save()

    def cut(self, host: str, *, how: Literal["drop", "down"] = "drop") -> None:
        """Cut ``host``'s link: ``drop`` loses every packet both ways (the link stays up,
        connections hang as on a dead path); ``down`` takes the link down (local sends fail
        at once)."""
        self._need_running()
        h = self.host(host)
        if how not in ("drop", "down"):
            raise ConfigError(f"cut how must be drop or down, not {how!r}")
        with self._lock:
            self._cut[host] = how
            if how == "down":
                system.ip("link", "set", LINK, "down", ns=h.namespace)
            else:
                self._apply_switch()

    def restore(self, host: str) -> None:
        """Undo :meth:`cut`."""
        self._need_running()
        h = self.host(host)
        with self._lock:
            how = self._cut.pop(host, None)
            if how == "down":
                system.ip("link", "set", LINK, "up", ns=h.namespace)
            elif how == "drop":
                self._apply_switch()

    def partition(self, group: Iterable[str], others: Iterable[str] | None = None) -> None:
        """Nothing passes between ``group`` and ``others`` (default: every other host)."""
        self._need_running()
        side = {self.host(h).name for h in group}
        rest = set(self.hosts) - side if others is None else {self.host(h).name for h in others}
        if side & rest:
            raise ConfigError(f"{', '.join(sorted(side & rest))} is on both sides of the partition")
        with self._lock:
            for a in side:
                self._blocked[a] |= rest
            for b in rest:
                self._blocked[b] |= side
            self._apply_switch()

    def heal(self) -> None:
        """Remove every partition (cuts stay until :meth:`restore`)."""
        self._need_running()
        with self._lock:
            for blocked in self._blocked.values():
                blocked.clear()
            self._apply_switch()

    def measure_rtt(self, src: str, dst: str, *, samples: int = 20) -> dict[str, float]:
        """TCP round trips from ``src`` to ``dst``, measured: ``{"connect_first": s, "rtt": s}``.

        ``connect_first``: a new connection's connect plus one exchange (two round
        trips on a real link; the best of three); ``rtt``: the median exchange on an
        open connection.
        """
        self._need_running()
        with self.inside(dst):
            server = socket.create_server((self.address(dst), 0))
        port = server.getsockname()[1]

        def echo() -> None:
            with contextlib.suppress(OSError):
                while True:
                    conn, _ = server.accept()
                    with conn:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        while data := conn.recv(64):
                            conn.sendall(data)

        thread = threading.Thread(target=echo, daemon=True)
        thread.start()
        try:
            with self.inside(src):  # a first connection warms the relay up
                socket.create_connection((self.address(dst), port), timeout=10).close()
            firsts = []
            for _ in range(3):  # the best of three: a busy machine delays some
                start = time.perf_counter()
                with self.inside(src):
                    client = socket.create_connection((self.address(dst), port), timeout=10)
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                client.sendall(b"x")
                client.recv(64)
                firsts.append(time.perf_counter() - start)
                if len(firsts) < 3:
                    client.close()
            with client:
                trips = []
                for _ in range(samples):
                    t0 = time.perf_counter()
                    client.sendall(b"x")
                    client.recv(64)
                    trips.append(time.perf_counter() - t0)
        finally:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
            thread.join(2)
        return {"connect_first": min(firsts), "rtt": statistics.median(trips)}

    # -- lifecycle -------------------------------------------------------------------

    def start_sync(self) -> Self:
        """Build the lab (removing stale labs first); raises with one line on failure."""
        if self.running:
            return self
        system.check()
        for removed in state.remove_stale():
            log.warning("netlab: removed stale lab %s (its owner is gone)", removed)
        if state.read_record(self.name) is not None or any(
            ns.startswith(f"{state.PREFIX}{self.name}-") for ns in system.netns_list()
        ):
            raise NetlabError(
                f"a lab named {self.name} is already up; pick another name or "
                f"`vgkit netlab down {self.name}`"
            )
        record = state.LabRecord(
            name=self.name,
            owner_pid=os.getpid(),
            owner_start=state.process_start(os.getpid()),
            detached=self.detached,
            subnet=str(self.subnet),
            hosts={h.name: h.address for h in self.hosts.values()},
        )
        record.write()  # first: a crash from here on leaves a record to clean up after
        self._record = record
        atexit.register(self._at_exit)
        try:
            self._build()
            self._save()
        except BaseException:
            self.stop_sync()
            raise
        return self

    def _build(self) -> None:
        bridge = self.bridge
        system.ip("netns", "add", bridge)
        system.ip("link", "set", "lo", "up", ns=bridge)
        system.ip("link", "add", "br0", "type", "bridge", ns=bridge)
        system.ip("link", "set", "br0", "up", ns=bridge)
        self.netem = self._detect_netem()
        hosts_file = self._hosts_file()
        for h in self.hosts.values():
            system.ip("netns", "add", h.namespace)
            system.ip("link", "set", "lo", "up", ns=h.namespace)
            system.ip(
                "link", "add", h.port, "type", "veth", "peer", "name", LINK,
                "netns", h.namespace, ns=bridge,
            )  # fmt: skip
            system.ip("link", "set", h.port, "master", "br0", "up", ns=bridge)
            prefix = self.subnet.prefixlen
            system.ip("addr", "add", f"{h.address}/{prefix}", "dev", LINK, ns=h.namespace)
            system.ip("link", "set", LINK, "up", ns=h.namespace)
            etc = state.ETC_NETNS / h.namespace
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(hosts_file)
            self._apply_tc(h)
        self._sync_relays()
        self._apply_switch()

    def _detect_netem(self) -> bool:
        if self.delay_mode == "relay":
            return False
        probe = ["qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"]
        try:
            system.tc(*probe, ns=self.bridge)
        except NetlabError as exc:
            if self.delay_mode == "netem":
                raise NetlabError(f"this kernel has no netem ({exc}); use delay='relay'") from None
            return False
        system.tc("qdisc", "del", "dev", "lo", "root", ns=self.bridge, check=False)
        return True

    def _hosts_file(self) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{h.address}\t{h.name}" for h in self.hosts.values()]
        return "\n".join(lines) + "\n"

    def _apply_tc(self, h: Host) -> None:
        for ns, dev in ((h.namespace, LINK), (self.bridge, h.port)):
            for i, args in enumerate(tc_commands(dev, h.link, netem=self.netem)):
                system.tc(*args, ns=ns, check=i > 0)  # deleting nothing is fine

    def _apply_switch(self) -> None:
        """Loss, cuts and partitions: the switch's rules, all replaced at once."""
        port = {h.name: h.port for h in self.hosts.values()}
        script = switch_script(
            loss={h.port: h.link.loss for h in self.hosts.values()},
            cut=[port[h] for h, how in self._cut.items() if how == "drop"],
            blocked={
                (min(port[a], port[b]), max(port[a], port[b]))
                for a, others in self._blocked.items()
                for b in others
            },
        )
        system.nft(script, ns=self.bridge)

    def _relay_config(self, h: Host) -> RelayConfig:
        return RelayConfig(
            address=h.address,
            port=RELAY_PORT,
            rtt={x.address: x.link.rtt for x in self.hosts.values()},
            jitter={x.address: x.link.jitter for x in self.hosts.values()},
            seed=None if self.seed is None else self.seed + list(self.hosts).index(h.name),
        )

    def _sync_relays(self) -> None:
        """Start relays on every host when some link delays and netem cannot; update them."""
        wanted = not self.netem and any(h.link.delayed for h in self.hosts.values())
        folder = state.STATE_DIR / self.name
        if not wanted and not self._relays:
            return
        # Relays already running stay (with zero delays a relay only costs a hop) and
        # re-read their configuration.
        folder.mkdir(parents=True, exist_ok=True)
        starting: dict[str, subprocess.Popen[bytes]] = {}
        reloading: dict[str, subprocess.Popen[bytes]] = {}
        for h in self.hosts.values():
            path = folder / f"relay-{h.name}.json"
            path.write_text(self._relay_config(h).to_json())
            running = self._relays.get(h.name)
            if running is not None and running.poll() is None:
                running.send_signal(signal.SIGHUP)
                reloading[h.name] = running
                continue
            if not wanted:
                continue
            argv = [sys.executable, "-c", RELAY_MAIN, str(path)]
            errors = (folder / f"relay-{h.name}.err").open("wb")
            with errors:
                starting[h.name] = subprocess.Popen(
                    self.command(h.name, argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                )
        deadline = time.monotonic() + RELAY_START_TIMEOUT
        for name, proc in [*starting.items(), *reloading.items()]:
            word = b"ready" if name in starting else b"reloaded"
            self._expect(name, proc, word, deadline)
            if name in starting:
                self._relays[name] = proc
                system.nft(relay_script(), ns=self.hosts[name].namespace)

    def _expect(
        self, name: str, proc: subprocess.Popen[bytes], word: bytes, deadline: float
    ) -> None:
        """Wait for the relay on ``name`` to print ``word`` (it is listening, or reloaded)."""
        assert proc.stdout is not None
        folder = state.STATE_DIR / self.name
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
            line = proc.stdout.readline() if ready else b""
            if line.strip() == word:
                return
            if proc.poll() is not None or left <= 0:
                err = (folder / f"relay-{name}.err").read_text(errors="replace").strip()
                proc.kill()
                raise NetlabError(
                    f"the delaying relay on {name} did not answer: "
                    f"{err.splitlines()[-1] if err else 'no output'}"
                )

    def _save(self) -> None:
        if self._record is None:
            return
        self._record.links = {h: asdict(x.link) for h, x in self.hosts.items()}
        self._record.delay = self.delay
        self._record.write()

    def _need_running(self) -> None:
        if not self.running:
            raise NetlabError(f"lab {self.name} is not up: start it (with Lab(...) as lab) first")

    def stop_sync(self) -> None:
        """Remove everything the lab created: processes, namespaces, files."""
        if self._record is None:
            return
        self._record = None
        atexit.unregister(self._at_exit)
        for proc in [*self._children, *self._relays.values()]:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.terminate()
        state.remove_lab(self.name)
        for proc in [*self._children, *self._relays.values()]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(1)
            for pipe in (proc.stdout, proc.stderr, proc.stdin):
                if pipe is not None:
                    pipe.close()
        self._children.clear()
        self._relays.clear()

    def _at_exit(self) -> None:
        if not self.detached:
            self.stop_sync()

    def leave_running(self) -> None:
        """Let the lab outlive this process (``vgkit netlab up --detach``)."""
        self.detached = True
        if self._record is not None:
            self._record.detached = True
            self._record.write()
        atexit.unregister(self._at_exit)

    def __enter__(self) -> Self:
        return self.start_sync()

    def __exit__(self, *exc: object) -> None:
        self.stop_sync()

    async def start(self) -> Self:
        return await asyncio.to_thread(self.start_sync)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def describe(self) -> list[tuple[str, str, str, str]]:
        """(host, address, namespace, link) per host, for printing."""
        return [(h.name, h.address, h.namespace, h.link.describe()) for h in self.hosts.values()]
