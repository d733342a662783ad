"""`vgkit serve` as a person runs it: a foreground process, endpoints printed,
graceful stop on SIGINT/SIGTERM, worker processes, clear errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vgkit.cli import main
from vgkit.errors import ServeError
from vgkit.serve.config import ClusterConfig
from vgkit.serve.launcher import all_agents
from vgkit.serve.loops import loop_factory, run_on_loop
from vgkit.serve.supervisor import RestartPolicy, Supervisor

SERVE = [sys.executable, "-c", "from vgkit.cli import run; run()", "serve"]


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, list[str]]]:
    agents_file = tmp_path / "agents.json"
    proc = subprocess.Popen(
        [*SERVE, "--free-ports", "--write-agents", str(agents_file), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not agents_file.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "vgkit serve did not start"
        time.sleep(0.05)
    time.sleep(0.1)
    return proc, json.loads(agents_file.read_text())["agents"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_endpoints_serves_and_stops_gracefully(tmp_path: Path, signum: int) -> None:
    proc, agents = _start(tmp_path)
    try:
        assert sorted(agents) == sorted(all_agents())
        for name, (url,) in agents.items():
            card = httpx.get(url + "/.well-known/agent-card.json").json()
            assert card["name"] == name and card["supportedInterfaces"][0]["url"] == url + "/"
        reply = httpx.post(
            agents["orchestrator"][0] + "/",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "message/send",
                "params": {
                    "message": {
                        "kind": "message",
                        "messageId": "m",
                        "role": "user",
                        "parts": [{"kind": "text", "text": "Beekeeping"}],
                    }
                },
            },
            timeout=30,
        ).json()
        assert reply["result"]["status"]["state"] == "completed"
        assert len(reply["result"]["artifacts"]) == 3
    finally:
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "vgkit serve: 11 agents on 127.0.0.1 (1 worker process)"
    for name, (url,) in agents.items():
        assert any(line.split() == [name, url + "/"] for line in lines), name
    assert lines[-1] == "vgkit serve: stopped"


def test_serve_with_worker_processes(tmp_path: Path) -> None:
    proc, agents = _start(
        tmp_path, "--workers", "2", "--agent", "topic_analysis", "--agent", "orchestrator"
    )
    try:
        children = subprocess.run(
            ["ps", "--ppid", str(proc.pid), "-o", "args="],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert sum("vgkit.serve.worker" in c for c in children) == 2
        health = {
            httpx.get(agents["topic_analysis"][0] + "/healthz").json()["status"] for _ in range(5)
        }
        assert health == {"ok"}
        reply = httpx.post(
            agents["orchestrator"][0] + "/",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SendMessage",
                "params": {
                    "message": {
                        "messageId": "m",
                        "role": "ROLE_USER",
                        "parts": [{"text": "Beekeeping"}, {"data": {"platforms": ["tiktok"]}}],
                    }
                },
            },
            timeout=30,
        ).json()
        assert reply["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "(2 worker processes)" in out
    left = subprocess.run(
        ["ps", "--ppid", str(proc.pid), "-o", "pid="], capture_output=True, text=True
    )
    assert not left.stdout.strip()


def test_serve_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--agent", "nobody"]) == 2
    assert "unknown agent(s) nobody" in capsys.readouterr().err
    assert main(["serve", "--port-base", "65500"]) == 2
    assert "outside 1024-65535" in capsys.readouterr().err
    assert main(["serve", "--workers", "0"]) == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--agent", "topic_analysis", "--port", f"topic_analysis={port}"]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--port-base", "-5"],
            "vgkit: error: port base -5 puts topic_analysis on port 299, outside 1024-65535; "
            "choose a --port-base from 918 to 65229",
        ),
        (
            ["--agent", "script_writer", "--port", "script_writer=80"],
            "vgkit: error: script_writer port 80 is outside 1024-65535 (ports below 1024 need "
            "root and vgkit never binds them); choose a port in that range, or 0 for any",
        ),
    ],
)
def test_a_port_outside_1024_65535_is_one_line_and_exit_2_before_anything_binds(
    args: list[str], error: str
) -> None:
    """The command a person types: no traceback, nothing served (it used to bind 101-301)."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("vgkit")), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [error]
    assert "vgkit serve:" not in proc.stdout  # it never announced any endpoint


def _workers(parent: int) -> list[int]:
    out = subprocess.run(
        ["ps", "--ppid", str(parent), "-o", "pid=,args="], capture_output=True, text=True
    ).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "vgkit.serve.worker" in line]


def test_a_crashed_worker_is_restarted_and_the_port_keeps_serving(tmp_path: Path) -> None:
    proc, agents = _start(tmp_path, "--workers", "2", "--agent", "topic_analysis")
    url = agents["topic_analysis"][0]
    try:
        deadline = time.monotonic() + 20
        while len(before := _workers(proc.pid)) < 2:
            assert time.monotonic() < deadline, "two workers did not start"
            time.sleep(0.05)
        victim = before[0]
        subprocess.run(["kill", "-KILL", str(victim)], check=True)
        deadline = time.monotonic() + 20
        while len(after := _workers(proc.pid)) < 2 or victim in after:
            assert time.monotonic() < deadline, f"no replacement for worker {victim}: {after}"
            time.sleep(0.05)
        assert before[1] in after  # the other worker was left alone
        # The replacement serves the same port (it has to answer its share of new connections).
        deadline = time.monotonic() + 20
        while True:
            try:
                statuses = {httpx.get(url + "/healthz", timeout=5).status_code for _ in range(20)}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert statuses == {200}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"(pid {victim}) exited with status -9" in err and "restarting it in 0.5 s" in err
    assert out.splitlines()[-1] == "vgkit serve: stopped"
    assert _workers(proc.pid) == []


def test_a_worker_that_cannot_start_is_retried_with_backoff_then_given_up() -> None:
    lines: list[str] = []
    supervisor = Supervisor(
        [sys.executable, "-c", "import sys; sys.exit(3)"],
        (),
        2,
        policy=RestartPolicy(backoff=0.01, max_backoff=0.04, max_failures=3),
        log=lines.append,
    )
    started = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - started < 20
    assert supervisor.pids == []
    # One slot gives up (whichever reached 4 failures first: on a busy machine it is not
    # always worker 1), and the supervisor stops the other.
    (given_up,) = [line for line in lines if "giving up" in line]
    assert "4 failures in a row; giving up" in given_up
    slot = given_up.split(" (pid")[0]  # "vgkit serve: worker N"
    mine = [line for line in lines if line.startswith(slot + " (pid")]
    delays = [line.rsplit(" ", 2)[-2] for line in mine if "restarting it in" in line]
    assert delays == ["0.01", "0.02", "0.04"]  # doubling, capped at max_backoff
    assert mine[-1] == given_up
    assert all("exited with status 3" in line for line in lines)


def test_restart_backoff_doubles_up_to_its_cap() -> None:
    policy = RestartPolicy(backoff=0.5, max_backoff=4.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_the_event_loop_is_uvloop_when_installed_and_can_be_chosen() -> None:
    import uvloop

    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop
    assert loop_factory("asyncio") is None
    assert run_on_loop(_loop_name, "uvloop") == 1
    assert run_on_loop(_loop_name, "asyncio") == 0
    with pytest.raises(ServeError, match="unknown event loop 'trio'"):
        ClusterConfig(loop="trio")


async def _loop_name() -> int:
    import asyncio

    return int(type(asyncio.get_running_loop()).__module__.startswith("uvloop"))
