"""Test hosts on one machine: network namespaces joined by shaped links.

``Lab`` builds the hosts (one network namespace each, an address from a private
range, no route out), ``LinkConfig`` says what each host's link does (round
trip, jitter, loss, rate), and the lab cuts links and partitions hosts while a
test runs. It needs root, iproute2 and nftables (:func:`check` says what is
missing); ``vgkit netlab up|down|run`` is the same from a shell. See
docs/netlab.md.
"""

from vgkit.netlab.lab import DEFAULT_HOSTS, DEFAULT_SUBNET, Host, Lab
from vgkit.netlab.link import NO_SHAPING, LinkConfig, parse_duration, parse_loss, parse_rate
from vgkit.netlab.state import lab_names, read_record, remove_lab, remove_stale
from vgkit.netlab.system import check, problems

__all__ = [
    "DEFAULT_HOSTS",
    "DEFAULT_SUBNET",
    "NO_SHAPING",
    "Host",
    "Lab",
    "LinkConfig",
    "available",
    "check",
    "lab_names",
    "parse_duration",
    "parse_loss",
    "parse_rate",
    "problems",
    "read_record",
    "remove_lab",
    "remove_stale",
    "skip_reason",
]


def available() -> bool:
    """Whether this machine can run a lab (root, iproute2, nftables)."""
    return not problems()


def skip_reason(setting: bool | str = "auto") -> str | None:
    """None when a lab section of a notebook or report should run; else one line saying why not.

    ``setting`` is the notebook's ``netlab`` parameter: ``True`` (it must run:
    raises ``NetlabUnavailableError`` where it cannot), ``False`` (never), or
    ``"auto"``: when this machine can, and always under ``CI=true``.
    """
    from vgkit.config import settings

    if setting is False or str(setting).lower() in {"false", "no", "off", "0"}:
        return "skipped across an emulated link: netlab=False"
    if setting is True or str(setting).lower() in {"true", "yes", "on", "1"} or settings().ci:
        check()
        return None
    missing = problems()
    if missing:
        return f"skipped across an emulated link: the network lab needs {' and '.join(missing)}"
    return None
