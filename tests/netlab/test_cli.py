"""``vgkit netlab up|down|run``: a detached lab, commands on its hosts, one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vgkit import netlab
from vgkit.cli import main
from vgkit.netlab.system import netns_list

VGKIT = str(Path(sys.executable).with_name("vgkit"))


def vgkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VGKIT, *args], capture_output=True, text=True, timeout=60, env=env)


def lab_namespaces(name: str) -> list[str]:
    return [ns for ns in netns_list() if ns.startswith(f"vgkit-{name}-")]


@pytest.mark.netlab
def test_up_detached_run_and_down(netlab_ready: None) -> None:
    name = f"cli{os.getpid() % 100000}"
    try:
        up = vgkit("netlab", "up", "--name", name, "--hosts", "a,b", "--rtt", "2ms", "--detach")
        assert up.returncode == 0, up.stderr
        assert f"lab {name} is up" in up.stdout and "10.77.0.2" in up.stdout
        assert "measured a -> b: round trip" in up.stdout
        assert len(lab_namespaces(name)) == 3
        run = vgkit("netlab", "run", "--lab", name, "b", "--", "ip", "-o", "-4", "addr")
        assert run.returncode == 0 and "10.77.0.2/24" in run.stdout
        status = vgkit("netlab", "run", "--lab", name, "a", "--", "sh", "-c", "exit 3")
        assert status.returncode == 3  # the command's own status
        unknown = vgkit("netlab", "run", "--lab", name, "zz", "--", "true")
        assert unknown.returncode == 2
        assert unknown.stderr.strip() == (f"vgkit: error: lab {name} has no host 'zz'; it has a, b")
    finally:
        down = vgkit("netlab", "down", name)
    assert down.returncode == 0 and f"removed lab {name}" in down.stdout
    assert not lab_namespaces(name) and netlab.read_record(name) is None


@pytest.mark.netlab
def test_up_in_the_foreground_removes_the_lab_on_ctrl_c(netlab_ready: None) -> None:
    name = f"fg{os.getpid() % 100000}"
    proc = subprocess.Popen(
        [VGKIT, "netlab", "up", "--name", name, "--hosts", "a,b", "--rtt", "1ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(lab_namespaces(name)) < 3 or netlab.read_record(name) is None:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert proc.stdout is not None
        while "Ctrl-C" not in proc.stdout.readline():
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            netlab.remove_lab(name)
    assert proc.returncode == 0, err
    assert f"lab {name} removed" in out
    assert not lab_namespaces(name) and netlab.read_record(name) is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["up", "--rtt", "1"], "rtt '1' is not a duration: write it like 1ms"),
        (["up", "--loss", "200%"], "loss must be between 0 and 100%"),
        (["up", "--hosts", "a,a"], "a host is listed twice"),
        (["down", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], fragment: str) -> None:
    done = vgkit("netlab", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and fragment in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["up"], ["down"], ["run", "a", "--", "true"]])
def test_without_the_tools_every_entry_point_says_so_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    # A PATH with python but neither ip, tc nor nft on it.
    env = {**os.environ, "PATH": str(tmp_path)}
    done = vgkit("netlab", *command, env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "the network lab needs" in done.stderr and "iproute2" in done.stderr
    assert "nftables" in done.stderr


@pytest.mark.parametrize("command", [["up"], ["down"], ["run", "a", "--", "true"]])
def test_without_root_every_entry_point_says_so_in_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Fault injection: this process pretends not to be root (dropping root for real
    # needs an interpreter an unprivileged user can read, which a root venv may not be).
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["netlab", *command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err, err
