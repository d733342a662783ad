"""Agent cards: what each agent server advertises at ``/.well-known/``.

Two documents per agent:

* ``/.well-known/agent-card.json``: the A2A 1.0 card. ``supportedInterfaces``
  lists the JSON-RPC endpoint twice, for protocol versions 1.0 and 0.3, and the
  card also carries the 0.3 connection fields (``url``, ``protocolVersion``,
  ``preferredTransport``) so a 0.3 client reading this path finds its way too.
  Security schemes use the 0.3 spelling, which 1.0 readers translate.
* ``/.well-known/agent.json``: the older path, with a pure 0.3 card.

Both advertise the server's real URL (the one it is bound to) and the agent's
skills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AgentInfo", "Skill", "card_v03", "card_v1"]

INPUT_MODES = ("application/json", "text/plain")
OUTPUT_MODES = ("application/json", "text/markdown")
BACKEND_EXTENSION = "urn:vgkit:backend:v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Skill:
    id: str
    name: str
    description: str
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "inputModes": list(INPUT_MODES),
            "outputModes": list(OUTPUT_MODES),
        }
        if self.examples:
            out["examples"] = list(self.examples)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentInfo:
    """What a card says about an agent (the URL comes from the server)."""

    name: str
    description: str
    version: str
    skills: Sequence[Skill] = ()
    streaming: bool = True
    backend: dict[str, str] = field(default_factory=dict)
    """Backend name and fingerprint, published as a card extension."""


def _security(bearer: bool) -> dict[str, Any]:
    if not bearer:
        return {}
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "security": [{"bearer": []}],
    }


def _common(info: AgentInfo) -> dict[str, Any]:
    capabilities: dict[str, Any] = {"streaming": info.streaming, "pushNotifications": False}
    if info.backend:
        capabilities["extensions"] = [
            {
                "uri": BACKEND_EXTENSION,
                "description": "the vgkit backend that produces this agent's artifacts",
                "required": False,
                "params": dict(info.backend),
            }
        ]
    return {
        "name": info.name,
        "description": info.description,
        "version": info.version,
        "capabilities": capabilities,
        "defaultInputModes": list(INPUT_MODES),
        "defaultOutputModes": list(OUTPUT_MODES),
        "skills": [s.as_json() for s in info.skills],
    }


def card_v1(info: AgentInfo, url: str, *, bearer: bool = False) -> dict[str, Any]:
    """The A2A 1.0 card (plus 0.3 connection fields) for an agent served at ``url``."""
    return {
        **_common(info),
        "supportedInterfaces": [
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
        ],
        "url": url,
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3.0",
        **_security(bearer),
    }


def card_v03(info: AgentInfo, url: str, *, bearer: bool = False) -> dict[str, Any]:
    """The pure A2A 0.3 card (served at the older ``agent.json`` path)."""
    return {
        **_common(info),
        "url": url,
        "preferredTransport": "JSONRPC",
        "protocolVersion": "0.3.0",
        **_security(bearer),
    }
