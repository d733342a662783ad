"""Link figures and the rules they become (no root needed)."""

from __future__ import annotations

import pytest

from vgkit.errors import ConfigError
from vgkit.netlab import LinkConfig, parse_duration, parse_loss, parse_rate
from vgkit.netlab.relay import RelayConfig
from vgkit.netlab.shaping import relay_script, switch_script, tc_commands


def test_spellings_of_the_cli() -> None:
    assert parse_duration("1ms") == pytest.approx(0.001)
    assert parse_duration("250us") == pytest.approx(0.00025)
    assert parse_duration("0.2s") == pytest.approx(0.2)
    assert parse_duration("0") == 0.0
    assert parse_rate("100mbit") == 100e6
    assert parse_rate("1Gbit") == 1e9
    assert parse_rate("10mbps") == 80e6  # tc reads bps as bytes per second
    assert parse_rate("0") is None and parse_rate(None) is None
    assert parse_loss("0.5%") == pytest.approx(0.005)
    assert parse_loss("0.1") == pytest.approx(0.1)
    link = LinkConfig.parse(rtt="20ms", jitter="2ms", loss="0.5%", rate="100mbit")
    assert link.describe() == "rtt 20 ms, jitter 2 ms, loss 0.5%, rate 100 Mbit/s"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"rtt": "1"}, "write it like 1ms"),
        ({"rtt": "fast"}, "is not a duration"),
        ({"rtt": "90s"}, "between 0 and 60 s"),
        ({"rtt": "2ms", "jitter": "5ms"}, "more than half the rtt"),
        ({"loss": "150%"}, "between 0 and 100%"),
        ({"loss": "some"}, "is not a fraction"),
        ({"rate": "100 mb"}, "write it like 100mbit"),
        ({"rate": "10bit"}, "at least 8000 bit/s"),
    ],
)
def test_bad_figures_say_what_to_write(kwargs: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        LinkConfig.parse(**kwargs)


def test_netem_delays_each_end_by_a_quarter_of_the_round_trip() -> None:
    link = LinkConfig.parse(rtt="20ms", jitter="2ms", rate="100mbit")
    commands = tc_commands("eth0", link, netem=True)
    assert commands[0] == ["qdisc", "del", "dev", "eth0", "root"]
    netem = commands[1]
    assert netem[6:] == ["1:", "netem", "delay", "5000us", "1000us", "distribution", "normal"]
    tbf = commands[2]
    assert tbf[4:8] == ["parent", "1:1", "handle", "10:"] and "100000000bit" in tbf
    # Without netem the relay delays; tc only limits the rate.
    assert [c[4] for c in tc_commands("eth0", link, netem=False)[1:]] == ["root"]
    assert tc_commands("eth0", LinkConfig(), netem=True)[1:] == []


def test_the_switch_drops_loss_cuts_and_partitions() -> None:
    script = switch_script(
        loss={"p0": 0.005, "p1": 0.0, "p2": 1.0}, cut=["p3"], blocked=[("p0", "p1")]
    )
    assert "table bridge vgkit {" in script
    assert 'iifname "p0" numgen random mod 1000000 < 5000 drop' in script
    assert 'iifname "p1"' not in script.replace('iifname "p1" oifname', "")
    assert 'iifname "p2" drop' in script
    assert 'iifname "p3" drop' in script and 'oifname "p3" drop' in script
    assert 'iifname "p0" oifname "p1" drop' in script
    assert 'iifname "p1" oifname "p0" drop' in script
    assert "redirect to :61999" in relay_script()


def test_the_relay_delay_of_a_pair_of_hosts() -> None:
    config = RelayConfig(
        address="10.77.0.2",
        rtt={"10.77.0.1": 0.010, "10.77.0.2": 0.002},
        jitter={"10.77.0.1": 0.002, "10.77.0.2": 0.0},
    )
    delay, jitter = config.one_way("10.77.0.1")
    assert delay == pytest.approx(0.003)  # (10 + 2) / 4 ms: a 6 ms round trip
    assert jitter == pytest.approx(0.001)
    assert RelayConfig(address="10.77.0.2").one_way("10.77.0.9") == (0.0, 0.0)
