"""``vgkit netlab up|down|run``: test hosts on this machine, joined by shaped links.

``up`` builds a lab and keeps it until Ctrl-C (or SIGTERM), then removes it;
``--detach`` leaves it up for ``vgkit netlab down``. ``run`` starts a command
on one of a lab's hosts. ``down`` removes labs (every one, without names),
including what a crashed run left behind. All of them need root, iproute2 and
nftables and say so in one line when one is missing.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, NoReturn

from vgkit.errors import ConfigError, NetlabError
from vgkit.netlab import state, system
from vgkit.netlab.lab import DEFAULT_HOSTS, DEFAULT_SUBNET, Lab
from vgkit.netlab.link import LinkConfig


def _hosts(args: argparse.Namespace) -> list[str]:
    names = [h.strip() for item in (args.hosts or []) for h in item.split(",") if h.strip()]
    return names or list(DEFAULT_HOSTS)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_up(args: argparse.Namespace) -> int:
    system.check()
    link = LinkConfig.parse(rtt=args.rtt, jitter=args.jitter, loss=args.loss, rate=args.rate)
    lab = Lab(
        _hosts(args),
        link=link,
        name=args.name,
        subnet=args.subnet,
        delay=args.delay,
        detached=args.detach,
    )
    # Explicitly: a shell starts background jobs with SIGINT ignored.
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _stop) for sig in stops}
    try:
        lab.start_sync()
        print(f"lab {lab.name} is up ({lab.delay} delay); every link: {link.describe()}")
        width = max(len(h) for h in lab.hosts)
        for host, address, namespace, _ in lab.describe():
            print(f"  {host:<{width}}  {address:<15}  {namespace}")
        names = list(lab.hosts)
        if link.delayed and len(names) > 1:
            measured = lab.measure_rtt(names[0], names[1], samples=50)
            print(
                f"measured {names[0]} -> {names[1]}: round trip "
                f"{measured['rtt'] * 1e3:.2f} ms, new connection + one exchange "
                f"{measured['connect_first'] * 1e3:.2f} ms"
            )
        print(f"run a command on a host: vgkit netlab run --lab {lab.name} HOST -- CMD ...")
        if args.detach:
            lab.leave_running()
            print(f"left running; remove it with: vgkit netlab down {lab.name}")
            return 0
        print("Ctrl-C removes the lab", flush=True)
        threading.Event().wait()  # until a signal
    except KeyboardInterrupt:
        print(f"\nlab {lab.name} removed")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not lab.detached:
            lab.stop_sync()
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    system.check()
    names = args.names or sorted(state.lab_names())
    if not names:
        print("no vgkit labs are up")
        return 0
    for name in names:
        removed = state.remove_lab(name)
        if removed:
            print(f"removed lab {name} ({len(removed)} namespaces)")
        else:
            print(f"no lab {name}")
    return 0


def _pick_lab(name: str | None) -> state.LabRecord:
    if name is not None:
        record = state.read_record(name)
        if record is None:
            raise NetlabError(f"no lab {name} is up; `vgkit netlab up --name {name}` builds one")
        return record
    records = [r for n in sorted(state.lab_names()) if (r := state.read_record(n)) is not None]
    if not records:
        raise NetlabError("no lab is up; start one with `vgkit netlab up`")
    if len(records) > 1:
        raise NetlabError(
            f"{len(records)} labs are up ({', '.join(r.name for r in records)}); "
            "pick one with --lab"
        )
    return records[0]


def cmd_run(args: argparse.Namespace) -> NoReturn:
    system.check()
    record = _pick_lab(args.lab)
    if args.host not in record.hosts:
        raise NetlabError(
            f"lab {record.name} has no host {args.host!r}; it has {', '.join(record.hosts)}"
        )
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise ConfigError("give the command to run after the host: vgkit netlab run HOST -- CMD")
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", state.namespace(record.name, args.host), *argv])


def register(sub: Any) -> None:
    p = sub.add_parser(
        "netlab",
        help="test hosts on this machine: network namespaces joined by shaped links",
        description=(
            "Build, use and remove a network lab: one namespace per host, joined through a "
            "switch, with shaped links. Needs root, iproute2 and nftables. See docs/netlab.md."
        ),
    )
    commands = p.add_subparsers(dest="netlab_command", metavar="COMMAND", required=True)

    up = commands.add_parser("up", help="build a lab; Ctrl-C removes it")
    up.add_argument(
        "--hosts",
        action="append",
        metavar="A,B,...",
        help=f"host names (default {','.join(DEFAULT_HOSTS)})",
    )
    up.add_argument("--name", help="the lab's name (default random, 1-12 letters or digits)")
    up.add_argument("--rtt", default="0", help="round trip between two hosts, like 1ms (0)")
    up.add_argument("--jitter", default="0", help="each one-way delay varies by +-this (0)")
    up.add_argument("--loss", default="0", help="share of packets lost, like 0.5%% (0)")
    up.add_argument("--rate", default=None, help="bandwidth each way, like 100mbit (unshaped)")
    up.add_argument(
        "--subnet", default=DEFAULT_SUBNET, help=f"addresses (default {DEFAULT_SUBNET})"
    )
    up.add_argument(
        "--delay",
        choices=("auto", "netem", "relay"),
        default="auto",
        help="how delay is made: netem if the kernel has it, else a relay (auto)",
    )
    up.add_argument("--detach", action="store_true", help="leave it up for `vgkit netlab down`")
    up.set_defaults(handler=cmd_up)

    down = commands.add_parser("down", help="remove labs (default: every one)")
    down.add_argument("names", nargs="*", metavar="NAME")
    down.set_defaults(handler=cmd_down)

    run = commands.add_parser("run", help="run a command on a host of a lab that is up")
    run.add_argument("--lab", help="the lab (needed when more than one is up)")
    run.add_argument("host", metavar="HOST")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run.set_defaults(handler=cmd_run)
