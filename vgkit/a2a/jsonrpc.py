"""JSON-RPC 2.0 envelopes: checking requests, building and reading responses.

The error codes (JSON-RPC's and A2A's) live in ``vgkit.a2a.protocol``;
``parse_rpc_request`` raises ``RpcError`` with ``INVALID_REQUEST`` (or
``INVALID_PARAMS`` for array params) and the request id when it was readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vgkit.a2a.protocol import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, type_name
from vgkit.errors import RpcError

__all__ = ["RequestId", "RpcRequest", "parse_rpc_request", "rpc_error", "rpc_outcome", "rpc_result"]


RequestId = str | int | None


@dataclass(slots=True)
class RpcRequest:
    id: RequestId
    method: str
    params: Any
    notification: bool = False


def parse_rpc_request(data: Any) -> RpcRequest:
    """Check a decoded JSON-RPC request object; raises RpcError (INVALID_REQUEST).

    The error carries ``data={"id": ...}`` when the id was readable, so the
    response can echo it.
    """
    if isinstance(data, list):
        raise RpcError(INVALID_REQUEST, "batch requests are not supported; send one object")
    if not isinstance(data, dict):
        raise RpcError(
            INVALID_REQUEST, f"a JSON-RPC request must be an object, not {type_name(data)}"
        )
    raw_id = data.get("id")
    valid_id = raw_id is None or (isinstance(raw_id, str | int) and not isinstance(raw_id, bool))
    if not valid_id:
        raise RpcError(INVALID_REQUEST, "id must be a string, a number or null")
    echo = {"id": raw_id}
    if data.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, 'jsonrpc must be exactly "2.0"', data=echo)
    method = data.get("method")
    if not isinstance(method, str) or not method:
        raise RpcError(INVALID_REQUEST, "method must be a non-empty string", data=echo)
    params = data.get("params")
    if params is not None and not isinstance(params, dict | list):
        raise RpcError(INVALID_REQUEST, "params must be an object", data=echo)
    if isinstance(params, list):
        raise RpcError(INVALID_PARAMS, "params must be an object, not an array", data=echo)
    return RpcRequest(raw_id, method, params, notification="id" not in data)


def rpc_result(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def rpc_error(request_id: RequestId, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def rpc_outcome(response: Any, url: str | None = None) -> Any:
    """The ``result`` of a decoded JSON-RPC response; its ``error`` raised as RpcError."""
    if not isinstance(response, dict) or ("result" not in response and "error" not in response):
        raise RpcError(INTERNAL_ERROR, "the peer sent something that is not a JSON-RPC response",
                       url=url)  # fmt: skip
    error = response.get("error")
    if error is not None:
        if not isinstance(error, dict):
            raise RpcError(INTERNAL_ERROR, f"malformed JSON-RPC error: {error!r}", url=url)
        code = error.get("code")
        rpc_code = code if isinstance(code, int) else INTERNAL_ERROR
        raise RpcError(rpc_code, str(error.get("message", "")), data=error.get("data"), url=url)
    return response["result"]
