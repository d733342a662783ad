"""Thresholds and error causes: load tests that pass or fail, and say why requests failed."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import free_port
from vgkit.cli import main
from vgkit.errors import LoadTestError, TargetError
from vgkit.loadtest import (
    FunctionTarget,
    LoadTest,
    NoopTarget,
    Threshold,
    WorkItem,
    Workload,
    check_thresholds,
)
from vgkit.loadtest.causes import error_cause
from vgkit.metrics import MetricsRegistry


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("p99<200ms", "p99", "<", 0.2),
        ("p95 <= 1.5s", "p95", "<=", 1.5),
        ("p99.9<800us", "p99.9", "<", 0.0008),
        ("min>1ms", "min", ">", 0.001),
        ("errors<1%", "errors", "<", 0.01),
        ("errors<=5", "errors", "<=", 5.0),
        ("rps>=50", "rps", ">=", 50.0),
        ("throughput>10/s", "rps", ">", 10.0),
    ],
)
def test_thresholds_parse(text: str, metric: str, op: str, value: float) -> None:
    t = Threshold.parse(text)
    assert (t.metric, t.op) == (metric, op) and t.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99<200", "a latency needs a unit, ms or s"),
        ("latency<1ms", "unknown metric 'latency'"),
        ("errors<5ms", "errors take a share"),
        ("errors<150%", "at most 100%"),
        ("p99 = 3ms", "cannot read threshold"),
        ("rps>5ms", "rps takes requests per second"),
    ],
)
def test_bad_thresholds_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(LoadTestError, match=message):
        Threshold.parse(text)


async def _run(target: object, n: int = 40) -> object:
    test = LoadTest(rate=400, arrivals="constant", max_requests=n, duration=5)
    return await test.run(target, Workload.from_csv(seed=1), metrics=MetricsRegistry())  # type: ignore[arg-type]


async def test_thresholds_judge_a_real_run() -> None:
    calls = 0

    async def flaky(_: WorkItem) -> None:
        nonlocal calls
        calls += 1
        mine = calls
        await asyncio.sleep(0.002)
        if mine % 4 == 0:
            raise TargetError("HTTP 503", "every fourth request")

    result = await _run(FunctionTarget("flaky", flaky))
    report = result.check(  # type: ignore[attr-defined]
        "p99<5s", "p50<1us", "errors<30%", "errors<1%", "errors<=10", "rps>=1", "min>0ms"
    )
    verdicts = {r.threshold.text: r.passed for r in report.results}
    assert verdicts == {"p99<5s": True, "p50<1us": False, "errors<30%": True,
                        "errors<1%": False, "errors<=10": True, "rps>=1": True,
                        "min>0ms": True}  # fmt: skip
    assert not report.passed and [r.threshold.text for r in report.failed] == [
        "p50<1us",
        "errors<1%",
    ]
    errors = next(r for r in report.results if r.threshold.text == "errors<1%")
    assert errors.observed == pytest.approx(0.25) and "10 of 40 requests" in errors.detail
    text = report.text()
    assert "thresholds (5 of 7 passed)" in text and "FAIL  p50<1us" in text
    assert report.as_dict()["passed"] is False


async def test_a_latency_threshold_fails_when_nothing_succeeded() -> None:
    async def down(_: WorkItem) -> None:
        raise ConnectionRefusedError("refused")

    result = await _run(FunctionTarget("down", down), n=10)
    report = check_thresholds(result, ["p99<1s", "errors<=10"])  # type: ignore[arg-type]
    p99, errors = report.results
    assert not p99.passed and math.isnan(p99.observed) and "no successful request" in p99.detail
    assert errors.passed
    summary = result.summary()  # type: ignore[attr-defined]
    assert summary["error_kinds"] == {"connection refused": 10}
    assert list(summary["latency_ms"]) == ["min", "p50", "p90", "p95", "p99", "p99.9", "max",
                                           "mean"]  # fmt: skip


async def test_the_summary_has_min_and_p95() -> None:
    result = await _run(NoopTarget(delay=0.001))
    latency = result.summary()["latency_ms"]  # type: ignore[attr-defined]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p95"] <= latency["p99"]


def test_error_causes_are_named() -> None:
    assert error_cause(TimeoutError(), timeout=2.0) == "timeout after 2 s"
    assert error_cause(TargetError("HTTP 503", "POST /x")) == "HTTP 503"
    reason = (
        "topic_analysis: BackendError: agent 'topic_analysis' failed: topic_analysis: could not "
        "connect at http://127.0.0.1:9/ after 3 attempts (Cannot connect to host 127.0.0.1:9 "
        "ssl:default [Connect call failed ('127.0.0.1', 9)]); is the server running?"
    )
    assert error_cause(TargetError("incomplete", reason)) == (
        "incomplete (topic_analysis: connection refused at 127.0.0.1:9)"
    )
    assert error_cause(TargetError("incomplete", "no plan for tiktok")) == "incomplete"
    assert error_cause(ValueError("odd")) == "ValueError"


# -- the command line, against a real server on 127.0.0.1 --------------------------------


@pytest.fixture
def http_server() -> Iterator[str]:
    """A server on a free loopback port: /ok answers, /unavailable is 503, /slow takes 2 s."""

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def unavailable(_: web.Request) -> web.Response:
        return web.Response(status=503, text="busy")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    app = web.Application()
    app.add_routes([web.post("/ok", ok), web.post("/unavailable", unavailable),
                    web.post("/slow", slow)])  # fmt: skip
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def _loadtest(url: str, *extra: str) -> list[str]:
    return ["loadtest", "--target", "http", "--url", url, "-n", "20", "--rate", "200",
            "-d", "3", "--no-progress", *extra]  # fmt: skip


def test_cli_thresholds_pass_and_fail_with_the_exit_status(
    http_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "run.json"
    passing = ["--threshold", "p99<2s", "--threshold", "errors<1%", "--json", str(out_json)]
    assert main(_loadtest(f"{http_server}/ok", *passing)) == 0
    out = capsys.readouterr().out
    assert "thresholds (2 of 2 passed)" in out and "pass  p99<2s" in out
    assert "min" in out and "p95" in out
    assert json.loads(out_json.read_text())["thresholds"]["passed"] is True

    assert main(_loadtest(f"{http_server}/ok", "--threshold", "p99<1us",
                          "--threshold", "errors<1%")) == 1  # fmt: skip
    captured = capsys.readouterr()
    assert "FAIL  p99<1us" in captured.out and "pass  errors<1%" in captured.out
    assert "threshold failed: p99<1us" in captured.err


def test_cli_names_the_causes_of_errors(
    http_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every request failing exits 1 even without a threshold, and names the cause.
    assert main(_loadtest(f"{http_server}/unavailable")) == 1
    captured = capsys.readouterr()
    assert "20 x  HTTP 503" in captured.out
    assert "every request failed (20 of 20)" in captured.err

    port = free_port()  # nothing listens here
    assert main(_loadtest(f"http://127.0.0.1:{port}/x")) == 1
    assert f"connection refused at 127.0.0.1:{port}" in capsys.readouterr().out

    assert main(_loadtest(f"{http_server}/slow", "--timeout", "0.2", "-n", "4")) == 1
    assert "4 x  timeout after 0.2 s" in capsys.readouterr().out


def test_cli_refuses_an_unreadable_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["loadtest", "--target", "noop", "-n", "5", "--threshold", "p99<200"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a latency needs a unit" in err
