"""The rules that make a link: tc qdiscs for rate (and delay, with netem), nftables in
the switch for loss, cuts and partitions, and in each host for the redirect to the
delaying relay.

Pure functions from a host's figures to commands and scripts, so they can be
read and tested without root; :mod:`vgkit.netlab.lab` runs them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from vgkit.netlab.link import LinkConfig
from vgkit.netlab.relay import RELAY_PORT

__all__ = ["LINK", "TABLE", "relay_script", "switch_script", "tc_commands"]

#: The host side of every host's link (the switch side is ``p<index>``).
LINK = "eth0"
TABLE = "vgkit"
#: Packets per million: nftables draws ``numgen random mod 1000000``.
_PPM = 1_000_000


def _tbf(rate: float) -> list[str]:
    byte_rate = rate / 8
    # A burst of 10 ms at the rate (at least 16 KiB, so a tick's worth always fits)
    # and 50 ms of queue before tail drops.
    burst = max(16 * 1024, int(byte_rate / 100))
    limit = max(2 * burst, int(byte_rate / 20))
    return ["tbf", "rate", f"{int(rate)}bit", "burst", str(burst), "limit", str(limit)]


def tc_commands(dev: str, link: LinkConfig, *, netem: bool) -> list[list[str]]:
    """``tc`` arguments (after ``tc -n NS``) that shape ``dev``'s egress as ``link`` says.

    Each end of a host's link gets these (the host's ``eth0`` and the switch's
    port), so one direction crosses two of them: netem delays each by a quarter
    of the round trip and half the jitter. Without netem only the rate is set
    here; the relay adds delay. The first command clears what was there.
    """
    commands = [["qdisc", "del", "dev", dev, "root"]]
    delay = netem and link.delayed
    if delay:
        spec = ["netem", "delay", f"{link.rtt / 4 * 1e6:.0f}us"]
        if link.jitter:
            spec += [f"{link.jitter / 2 * 1e6:.0f}us", "distribution", "normal"]
        commands.append(["qdisc", "replace", "dev", dev, "root", "handle", "1:", *spec])
    if link.rate is not None:
        where = ["parent", "1:1", "handle", "10:"] if delay else ["root", "handle", "10:"]
        commands.append(["qdisc", "replace", "dev", dev, *where, *_tbf(link.rate)])
    return commands


def switch_script(
    *,
    loss: Mapping[str, float],
    cut: Collection[str] = (),
    blocked: Collection[tuple[str, str]] = (),
) -> str:
    """The switch's whole nftables table (bridge family), replaced in one transaction.

    Arguments name the switch's ports (``p0``, ``p1``...). ``loss``: the share
    of the frames each port's host sends that the switch drops. ``cut``: ports
    nothing crosses, either way. ``blocked``: pairs of ports that cannot reach
    each other (a partition). Dropping in the switch, not on the hosts, keeps
    the loss silent: a host's own stack never learns of it (a drop in a host's
    output hook fails ``send``/``connect`` with EPERM at once, which no real
    network does), so TCP sees what it sees on a real lossy or dead path.
    """
    rules: list[str] = []
    for port in sorted(cut):
        rules += [f'iifname "{port}" drop', f'oifname "{port}" drop']
    for a, b in sorted(blocked):
        rules += [f'iifname "{a}" oifname "{b}" drop', f'iifname "{b}" oifname "{a}" drop']
    for port, share in sorted(loss.items()):
        if share >= 1:
            rules.append(f'iifname "{port}" drop')
        elif share > 0:
            ppm = max(1, round(share * _PPM))
            rules.append(f'iifname "{port}" numgen random mod {_PPM} < {ppm} drop')
    lines = [
        f"table bridge {TABLE}",
        f"delete table bridge {TABLE}",
        f"table bridge {TABLE} {{",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        *(f"    {rule}" for rule in rules),
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def relay_script(*, port: int = RELAY_PORT) -> str:
    """A host's nftables table: TCP connections arriving on its link go to its relay."""
    return (
        "\n".join(
            [
                f"table inet {TABLE}",
                f"delete table inet {TABLE}",
                f"table inet {TABLE} {{",
                "  chain relay {",
                "    type nat hook prerouting priority dstnat; policy accept;",
                f'    iifname "{LINK}" tcp dport != {port} redirect to :{port}',
                "  }",
                "}",
            ]
        )
        + "\n"
    )
