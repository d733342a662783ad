"""What runs across an emulated link: load tests, the pooling claim, the notebooks' switch."""

from __future__ import annotations

import pytest

from tests.netlab.conftest import MakeLab
from vgkit import claims, netlab
from vgkit.errors import LoadTestError, NetlabUnavailableError
from vgkit.loadtest import LoadTest, Workload
from vgkit.loadtest.link import run_across_link
from vgkit.loadtest.targets import check_loopback


@pytest.mark.netlab
@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_load_test_across_a_link_pays_its_round_trip(netlab_ready: None) -> None:
    workload = Workload.from_csv(seed=1)
    test = LoadTest(mode="closed", users=2, max_requests=20, duration=30)
    results = await run_across_link(test, workload, link="20ms", targets=("agent",))
    result = results["agent over 20 ms"]
    summary = result.summary()
    assert result.errors == 0 and summary["ok"] == 20
    # Every request crosses the link once: never faster than its round trip.
    assert summary["latency_ms"]["p50"] >= 20


@pytest.mark.netlab
def test_load_tests_reach_lab_addresses_only_from_inside_the_lab(make_lab: MakeLab) -> None:
    lab = make_lab(["client", "agents"])
    url = f"http://{lab.address('agents')}:8080/"
    with pytest.raises(LoadTestError, match="only target this machine"):
        check_loopback(url)  # from the machine's own namespace: refused
    with lab.inside("client"):
        assert check_loopback(url) == url
        with pytest.raises(LoadTestError, match="only target this machine"):
            check_loopback("http://93.184.216.34/")  # a public address never


@pytest.mark.netlab
@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_pooling_claim_across_a_link(netlab_ready: None) -> None:
    rows = await claims.measure_pool_links(("20ms",), requests=40, schemes=("http",))
    (row,) = rows
    assert row.section == "Connection Pooling" and "across a 20ms link, http" in row.metric
    assert row.baseline_label == "a new TCP connection per request, same link"
    assert row.baseline is not None and row.measured > 0 and row.baseline > 0
    # Ten users, one round trip per pooled request, two per new connection: the link caps
    # both (40 requests are few, so the load test's window is short; hence the margin).
    assert row.measured <= 10 / 0.020 * 1.25
    assert row.baseline <= 10 / 0.040 * 1.25
    assert row.ratio is not None and row.ratio > 1.2
    assert "round trip measured" in row.notes


def test_the_notebooks_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert netlab.skip_reason(False) == "skipped across an emulated link: netlab=False"
    monkeypatch.setattr(netlab, "problems", lambda: ["root (...)"])
    monkeypatch.setattr("vgkit.netlab.system.problems", lambda: ["root (...)"])
    assert netlab.skip_reason("auto") == (
        "skipped across an emulated link: the network lab needs root (...)"
    )
    with pytest.raises(NetlabUnavailableError, match="needs root"):
        netlab.skip_reason(True)
    monkeypatch.setenv("CI", "true")  # under CI "auto" must run: it fails where it cannot
    with pytest.raises(NetlabUnavailableError, match="needs root"):
        netlab.skip_reason("auto")
