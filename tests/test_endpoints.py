"""The port map, the --port-base rule, and agent-endpoint configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from vgkit.endpoints import DEFAULT_PORTS, local_endpoints, parse_agents, port_for, read_agents_file
from vgkit.errors import ConfigError
from vgkit.serve.launcher import resolve_ports


def test_original_port_map_and_the_base_rule() -> None:
    assert DEFAULT_PORTS["orchestrator"] == 10106 and DEFAULT_PORTS["script_writer"] == 10212
    assert [
        DEFAULT_PORTS[n] for n in ("shot_describer", "transition_planner", "cta_generator")
    ] == [10301, 10302, 10303]
    assert port_for("orchestrator", 20000) == 20106 and port_for("cta_generator", 1000) == 1303
    assert resolve_ports(["script_writer"], port_base=30000) == {"script_writer": 30212}
    assert resolve_ports(["script_writer"], free_ports=True) == {"script_writer": 0}
    assert resolve_ports(["script_writer"], ports={"script_writer": 5000}) == {
        "script_writer": 5000
    }
    assert resolve_ports(["script_writer"], ports={"script_writer": 0}) == {"script_writer": 0}


@pytest.mark.parametrize(
    ("base", "agent", "port"),
    [(65500, "orchestrator", 65606), (-5, "orchestrator", 101), (917, "orchestrator", 1023)],
)
def test_a_port_base_that_puts_an_agent_outside_1024_65535_is_refused(
    base: int, agent: str, port: int
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_ports(["orchestrator", "quality_validator"], port_base=base)
    assert str(info.value) == (
        f"port base {base} puts {agent} on port {port}, outside 1024-65535; "
        "choose a --port-base from 918 to 65229"
    )
    # The extremes of that advice are accepted, every agent inside the range.
    for edge in (918, 65229):
        assert all(
            1024 <= p <= 65535 for p in resolve_ports(list(DEFAULT_PORTS), port_base=edge).values()
        )


@pytest.mark.parametrize("port", [-1, 1, 80, 1023, 65536])
def test_an_explicit_port_outside_1024_65535_is_refused(port: int) -> None:
    with pytest.raises(ConfigError, match=f"script_writer port {port} is outside 1024-65535"):
        resolve_ports(["script_writer"], ports={"script_writer": port})


def test_agents_from_files_pairs_and_local(tmp_path: Path) -> None:
    toml = tmp_path / "agents.toml"
    toml.write_text(
        '[agents]\nscript_writer = "http://127.0.0.1:1"\nhook_creator = ["http://a:1", "http://b:2"]\n'
    )
    assert read_agents_file(toml) == {
        "script_writer": ["http://127.0.0.1:1"],
        "hook_creator": ["http://a:1", "http://b:2"],
    }
    assert parse_agents(["script_writer=http://x:1", "script_writer=http://y:2"]) == {
        "script_writer": ["http://x:1", "http://y:2"]
    }
    assert parse_agents("local:20000")["orchestrator"] == ["http://127.0.0.1:20106"]
    assert local_endpoints()["assembler"] == ["http://127.0.0.1:10305"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"agents": {"script_writer": 5}}')
    with pytest.raises(ConfigError, match="must be a URL"):
        read_agents_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        read_agents_file(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[agents\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_agents_file(tmp_path / "broken.toml")
