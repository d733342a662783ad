"""The lab itself: hosts, isolation, delay, jitter, loss, rate, cuts, partitions, clean-up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.netlab.conftest import MakeLab, assert_removed
from vgkit import netlab
from vgkit.errors import ConfigError, NetlabError
from vgkit.netlab import Lab, LinkConfig, system
from vgkit.netlab.system import netns_list, netns_pids

pytestmark = [pytest.mark.netlab]

#: Linux's setsockopt that lets root go past rmem_max (the socket module lacks the name).
SO_RCVBUFFORCE = 33


@contextmanager
def echo_server(lab: Lab, host: str) -> Iterator[int]:
    """A TCP echo server on ``host``'s lab address; yields its port."""
    with lab.inside(host):
        server = socket.create_server((lab.address(host), 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(5)


def _echo(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


def connect(lab: Lab, src: str, dst: str, port: int, timeout: float = 5) -> socket.socket:
    with lab.inside(src):
        sock = socket.create_connection((lab.address(dst), port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def exchange(sock: socket.socket, data: bytes = b"ping") -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_hosts_reach_each_other_and_nothing_else(make_lab: MakeLab) -> None:
    lab = make_lab(["client", "server"])
    assert lab.address("client") == "10.77.0.1" and lab.address("server") == "10.77.0.2"
    with echo_server(lab, "server") as port, connect(lab, "client", "server", port) as sock:
        assert exchange(sock) == b"ping"
    # By name too: every host has a hosts file for the processes the lab starts.
    out = subprocess.run(
        lab.command("client", ["getent", "hosts", "server"]), capture_output=True, text=True
    )
    assert out.stdout.split() == ["10.77.0.2", "server"]
    # No route out: only the lab's own subnet, and the outside is unreachable.
    routes = subprocess.run(
        ["ip", "-n", lab.namespace("client"), "route"], capture_output=True, text=True
    ).stdout
    assert routes.split()[0] == "10.77.0.0/24" and "default" not in routes
    with lab.inside("client"), pytest.raises(OSError, match="unreachable"):
        socket.create_connection(("192.0.2.1", 80), timeout=2)
    # The machine's own loopback (where the shared Redis listens) is not the lab's.
    with lab.inside("client"), pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 6379), timeout=2)
    # The switch lives in a namespace of the lab, not in the machine's.
    assert lab.bridge in netns_list()
    bridge_links = subprocess.run(
        ["ip", "-n", lab.bridge, "-o", "link"], capture_output=True, text=True
    ).stdout
    assert "br0" in bridge_links


def test_a_delayed_link_holds_set_up_and_every_exchange(make_lab: MakeLab) -> None:
    lab = make_lab(["a", "b"], link=LinkConfig.parse(rtt="10ms"))
    assert lab.delay in {"relay", "netem"}
    measured = lab.measure_rtt("a", "b", samples=10)
    # Never faster than the link (the property); a busy machine adds some (load 16 on
    # 2 cores: 17 ms), so the upper bounds only catch a delay applied twice or more.
    assert 0.0099 <= measured["rtt"] < 0.03, measured
    assert 0.0198 <= measured["connect_first"] < 0.06, measured
    # Same host: no link, no delay.
    local = lab.measure_rtt("a", "a", samples=10)
    assert local["rtt"] < 0.003
    # A new link applies to new connections.
    lab.shape(LinkConfig.parse(rtt="2ms"))
    assert 0.0019 <= lab.measure_rtt("a", "b", samples=10)["rtt"] < 0.006


def test_jitter_varies_the_delay_and_keeps_the_order(make_lab: MakeLab) -> None:
    lab = make_lab(["a", "b"], link=LinkConfig.parse(rtt="10ms", jitter="4ms"), seed=3)
    with echo_server(lab, "b") as port, connect(lab, "a", "b", port) as sock:
        trips = []
        for _ in range(30):
            t0 = time.perf_counter()
            exchange(sock)
            trips.append(time.perf_counter() - t0)
        assert max(trips) - min(trips) > 0.003, trips
        assert min(trips) >= 0.002  # each way 5 ms +- 4 ms
        # 300 numbered writes come back whole and in order, jitter or not.
        payload = b"".join(b"%05d," % i for i in range(300))
        for i in range(300):
            sock.sendall(b"%05d," % i)
        got = b""
        while len(got) < len(payload):
            got += sock.recv(65536)
        assert got == payload


def _port_counts(lab: Lab, host: str) -> tuple[int, int]:
    """(frames the switch took in from ``host``, frames it handed to ``host``)."""
    port = lab.host(host).port
    (stats,) = json.loads(system.ip("-s", "-j", "link", "show", "dev", port, ns=lab.bridge))
    return stats["stats64"]["rx"]["packets"], stats["stats64"]["tx"]["packets"]


def test_loss_drops_that_share_of_packets(make_lab: MakeLab) -> None:
    lab = make_lab(["a", "b"], link=LinkConfig.parse(loss="20%"))
    with lab.inside("b"):
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind((lab.address("b"), 0))
    with lab.inside("a"):
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Room for every datagram in the socket, so the socket drops none.
    rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    rx.settimeout(0.5)
    sent = 2000
    received = 0
    with rx, tx:
        for _ in range(20):  # ARP first (it crosses the lossy switch too)
            tx.sendto(b"arp", rx.getsockname())
        time.sleep(0.2)
        while True:  # drain the warm-up
            try:
                rx.recv(64)
            except TimeoutError:
                break
        took_in, _ = _port_counts(lab, "a")
        _, handed_on = _port_counts(lab, "b")
        for i in range(sent):
            tx.sendto(b"%d" % i, rx.getsockname())
            if i % 10 == 9:  # paced, so the kernel's own queues drop as few as they can
                time.sleep(0.002)
        try:
            while True:
                rx.recv(64)
                received += 1
        except TimeoutError:
            pass
        took_in = _port_counts(lab, "a")[0] - took_in
        handed_on = _port_counts(lab, "b")[1] - handed_on
    # The switch's share is counted at its own ports: a loaded machine's kernel also drops
    # datagrams in the veth backlogs before and after the switch (a CI run under load lost
    # 29.5% end to end; under six CPU hogs 11% never reached the switch), and those are not
    # the rule under test. The counts also hold a few frames of the hosts' own (IPv6
    # neighbour discovery), which cross the same rule. 20% of 1,000-2,000 frames: one
    # standard deviation is 0.9-1.3 points.
    assert took_in >= 0.5 * sent, (took_in, sent)
    dropped = 1 - handed_on / took_in
    assert 0.15 <= dropped <= 0.25, (took_in, handed_on)
    # End to end: nothing the switch dropped arrives, and most of what it passed does.
    assert 0.5 * handed_on <= received <= handed_on, (received, handed_on)


def test_rate_caps_a_transfer(make_lab: MakeLab) -> None:
    lab = make_lab(["a", "b"], link=LinkConfig.parse(rate="20mbit"))
    size = 1_500_000
    with lab.inside("b"):
        server = socket.create_server((lab.address("b"), 0))
    got = 0

    def sink() -> None:
        nonlocal got
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1 << 16):
                got += len(data)

    thread = threading.Thread(target=sink)
    thread.start()
    with lab.inside("a"):
        sock = socket.create_connection((lab.address("b"), server.getsockname()[1]))
    start = time.perf_counter()
    with sock:
        sock.sendall(b"x" * size)
    thread.join(20)
    elapsed = time.perf_counter() - start
    server.close()
    assert got == size
    mbit = size * 8 / elapsed / 1e6
    assert mbit <= 22, f"{mbit:.1f} Mbit/s through a 20 Mbit/s link"


def test_a_cut_link_drops_everything_until_restored(make_lab: MakeLab) -> None:
    lab = make_lab(["a", "b", "c"])
    with echo_server(lab, "b") as port, connect(lab, "a", "b", port, timeout=1) as sock:
        assert exchange(sock) == b"ping"
        lab.cut("b")
        sock.sendall(b"lost?")
        with pytest.raises(TimeoutError):
            sock.recv(64)  # nothing comes back while the link is cut
        with pytest.raises(TimeoutError):
            connect(lab, "c", "b", port, timeout=1)
        lab.restore("b")
        sock.settimeout(10)
        assert sock.recv(64) == b"lost?"  # TCP retransmits; nothing was lost for good
        # Link down: the host itself learns at once that it has no way out.
        lab.cut("a", how="down")
        with lab.inside("a"), pytest.raises(OSError, match="unreachable"):
            socket.create_connection((lab.address("b"), port), timeout=2)
        lab.restore("a")
        with connect(lab, "a", "b", port) as again:
            assert exchange(again) == b"ping"


def test_a_partition_separates_two_groups_and_heals(make_lab: MakeLab) -> None:
    lab = make_lab(["a", "b", "c"])
    with echo_server(lab, "b") as port_b, echo_server(lab, "c") as port_c:
        lab.partition(["a"], ["b"])
        with pytest.raises(TimeoutError):
            connect(lab, "a", "b", port_b, timeout=1)
        with connect(lab, "a", "c", port_c) as sock:  # c is on neither side
            assert exchange(sock) == b"ping"
        with connect(lab, "c", "b", port_b) as sock:
            assert exchange(sock) == b"ping"
        lab.heal()
        with connect(lab, "a", "b", port_b) as sock:
            assert exchange(sock) == b"ping"


def test_processes_started_on_a_host_end_with_the_lab(make_lab: MakeLab) -> None:
    lab = make_lab(["a"])
    proc = lab.popen("a", ["sleep", "300"])
    deadline = time.monotonic() + 10  # `ip netns exec` enters the namespace, then execs
    while proc.pid not in netns_pids(lab.namespace("a")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    lab.stop_sync()
    assert proc.wait(5) is not None
    assert_removed(lab)


def test_an_error_inside_the_block_still_removes_the_lab(netlab_ready: None) -> None:
    lab = Lab(["a", "b"], link=LinkConfig.parse(rtt="1ms"))
    with pytest.raises(RuntimeError, match="boom"), lab:
        assert len([ns for ns in netns_list() if ns.startswith(f"vgkit-{lab.name}-")]) == 3
        raise RuntimeError("boom")
    assert_removed(lab)


CRASHING_OWNER = textwrap.dedent(
    """
    import os, sys
    from vgkit.netlab import Lab, LinkConfig
    lab = Lab(["a", "b"], link=LinkConfig.parse(rtt="1ms"), name=sys.argv[1]).start_sync()
    print("up", flush=True)
    os.kill(os.getpid(), 9)
    """
)


def test_a_crashed_owners_lab_is_removed_by_the_next_start(make_lab: MakeLab) -> None:
    name = f"crash{os.getpid() % 100000}"
    proc = subprocess.run(
        [sys.executable, "-c", CRASHING_OWNER, name], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL and proc.stdout.strip() == "up"
    record = netlab.read_record(name)
    assert record is not None and record.stale
    left = [ns for ns in netns_list() if ns.startswith(f"vgkit-{name}-")]
    assert len(left) == 3 and netns_pids(left[0])  # its relay still runs
    make_lab(["x"])  # any start removes stale labs first
    assert not [ns for ns in netns_list() if ns.startswith(f"vgkit-{name}-")]
    assert netlab.read_record(name) is None


def test_netem_is_refused_where_the_kernel_has_none(netlab_ready: None) -> None:
    lab = Lab(["a"], link=LinkConfig.parse(rtt="1ms"), delay="netem")
    try:
        lab.start_sync()
    except NetlabError as exc:
        assert "no netem" in str(exc)
        assert_removed(lab)
    else:  # a kernel with netem: delay comes from it, no relay runs
        try:
            assert lab.delay == "netem"
        finally:
            lab.stop_sync()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"hosts": ["a", "a"]}, "listed twice"),
        ({"hosts": ["Bad_Name"]}, "must start with a letter"),
        ({"hosts": ["bridge"]}, "not be 'bridge'"),
        ({"hosts": ["a"], "name": "has-dash"}, "no dashes"),
        ({"hosts": ["a"], "subnet": "8.8.8.0/24"}, "private IPv4"),
        ({"hosts": ["a"], "subnet": "10.0.0.0/30", "links": {"zz": LinkConfig()}}, "unknown hosts"),
    ],
)
def test_bad_lab_arguments_say_what_is_wrong(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Lab(**kwargs)  # type: ignore[arg-type]
