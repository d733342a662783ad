"""Fixtures for the network lab: labs that are always removed, and a check that they were.

Lab tests need root, iproute2 and nftables: they skip without them, and fail
under CI=true (CI runs as root and .ci/run installs the tools).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import IN_CI
from vgkit import netlab
from vgkit.netlab import Lab
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
