"""The A2A protocol as both sides speak it: shared by ``vgkit.client`` and ``vgkit.serve``.

Modules: ``protocol`` (messages, parts, tasks, artifacts and stream events in
the A2A 1.0 and 0.3 dialects, the error codes), ``jsonrpc`` (JSON-RPC 2.0
envelopes), ``signing`` (bearer token and HMAC body signature), ``tls`` (a
server certificate, a throwaway self-signed one, and the trust clients put in
it) and ``cards`` (what an agent advertises at ``/.well-known/``).

Nothing here opens a connection: the pooled client and the servers do. So the
client never imports the servers and the servers need the client only where
they call other agents themselves (the orchestrator agent).
"""

from __future__ import annotations

from vgkit.a2a.cards import AgentInfo, Skill, card_v03, card_v1
from vgkit.a2a.jsonrpc import RpcRequest, parse_rpc_request, rpc_error, rpc_outcome, rpc_result
from vgkit.a2a.protocol import (
    Artifact,
    ArtifactUpdate,
    Dialect,
    Message,
    Part,
    StatusUpdate,
    StreamEvent,
    Task,
    TaskState,
    TaskStatus,
)
from vgkit.a2a.signing import auth_headers, verify_signature, verify_token
from vgkit.a2a.tls import TLSConfig, client_context, self_signed

__all__ = [
    "AgentInfo",
    "Artifact",
    "ArtifactUpdate",
    "Dialect",
    "Message",
    "Part",
    "RpcRequest",
    "Skill",
    "StatusUpdate",
    "StreamEvent",
    "TLSConfig",
    "Task",
    "TaskState",
    "TaskStatus",
    "auth_headers",
    "card_v03",
    "card_v1",
    "client_context",
    "parse_rpc_request",
    "rpc_error",
    "rpc_outcome",
    "rpc_result",
    "self_signed",
    "verify_signature",
    "verify_token",
]
