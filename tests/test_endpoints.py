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
    assert port_for("orchestrator", 20000) == 20106 and port_for("cta_generator", 0) == 303
    assert resolve_ports(["script_writer"], port_base=30000) == {"script_writer": 30212}
    assert resolve_ports(["script_writer"], free_ports=True) == {"script_writer": 0}
    assert resolve_ports(["script_writer"], ports={"script_writer": 5}) == {"script_writer": 5}
    with pytest.raises(ConfigError, match="outside"):
        port_for("orchestrator", 65500)


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
