"""The A2A wire format: JSON-RPC 2.0 envelopes, A2A objects, both protocol versions.

vgkit's agent servers and its A2A client speak JSON-RPC 2.0 over HTTP with the
A2A objects (messages of text and data parts, tasks, artifacts, status and
artifact updates) in two dialects that differ only in spelling:

================  ==========================  =========================
operation         A2A 1.0 method              A2A 0.3 method
================  ==========================  =========================
send              ``SendMessage``             ``message/send``
stream (SSE)      ``SendStreamingMessage``    ``message/stream``
get a task        ``GetTask``                 ``tasks/get``
cancel a task     ``CancelTask``              ``tasks/cancel``
================  ==========================  =========================

1.0 spells enums ``ROLE_USER`` / ``TASK_STATE_COMPLETED``, tells parts apart by
their field (``{"text": ...}``, ``{"data": ...}``) and wraps results
(``{"task": ...}``, ``{"statusUpdate": ...}``); 0.3 spells them ``user`` /
``completed`` and tags objects with ``kind``. Objects here are dialect-free;
``encode_*`` / ``decode_*`` translate. Decoders are lenient about enum spelling
(either dialect) and strict about types: anything malformed raises ``RpcError``
with ``INVALID_PARAMS`` and a message that names the field.

The module lives in ``vgkit.a2a`` because both the client (``vgkit.client``) and
the servers (``vgkit.serve``) use it, and imports only go downwards.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from vgkit.errors import RpcError

__all__ = [
    "CONTENT_TYPE_NOT_SUPPORTED",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHODS",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "TASK_NOT_CANCELABLE",
    "TASK_NOT_FOUND",
    "UNSUPPORTED_METHODS",
    "UNSUPPORTED_OPERATION",
    "Artifact",
    "ArtifactUpdate",
    "Dialect",
    "Message",
    "Op",
    "Part",
    "SendParams",
    "StatusUpdate",
    "StreamEvent",
    "Task",
    "TaskState",
    "TaskStatus",
    "decode_event",
    "decode_message",
    "decode_send_params",
    "decode_send_result",
    "decode_task",
    "decode_task_id",
    "encode_event",
    "encode_message",
    "encode_send_params",
    "encode_send_result",
    "encode_task",
    "method_name",
    "new_id",
    "now_iso",
    "type_name",
]

# JSON-RPC 2.0 error codes, then the A2A ones.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002
UNSUPPORTED_OPERATION = -32004
CONTENT_TYPE_NOT_SUPPORTED = -32005


class Dialect(StrEnum):
    """The A2A protocol version a request was spelled in."""

    V1 = "1.0"
    V03 = "0.3"


class Op(StrEnum):
    SEND = "send"
    STREAM = "stream"
    GET = "get"
    CANCEL = "cancel"


#: JSON-RPC method name -> (operation, dialect).
METHODS: Mapping[str, tuple[Op, Dialect]] = {
    "SendMessage": (Op.SEND, Dialect.V1),
    "SendStreamingMessage": (Op.STREAM, Dialect.V1),
    "GetTask": (Op.GET, Dialect.V1),
    "CancelTask": (Op.CANCEL, Dialect.V1),
    "message/send": (Op.SEND, Dialect.V03),
    "message/stream": (Op.STREAM, Dialect.V03),
    "tasks/get": (Op.GET, Dialect.V03),
    "tasks/cancel": (Op.CANCEL, Dialect.V03),
}
_NAMES = {value: name for name, value in METHODS.items()}

#: A2A methods vgkit knows but does not offer (answered with UNSUPPORTED_OPERATION).
UNSUPPORTED_METHODS = frozenset(
    {
        "ListTasks",
        "SubscribeToTask",
        "GetExtendedAgentCard",
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
        "tasks/resubscribe",
        "tasks/pushNotificationConfig/set",
        "tasks/pushNotificationConfig/get",
        "tasks/pushNotificationConfig/list",
        "tasks/pushNotificationConfig/delete",
        "agent/getAuthenticatedExtendedCard",
    }
)


def method_name(op: Op, dialect: Dialect) -> str:
    """The JSON-RPC method name of ``op`` in ``dialect``."""
    return _NAMES[(op, dialect)]


_second: list[Any] = [-1, ""]  # the last whole second formatted, reused within it


def now_iso() -> str:
    """The current UTC time as RFC 3339 with milliseconds (both dialects use it)."""
    t = time.time()
    whole = int(t)
    if whole != _second[0]:
        _second[0], _second[1] = whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{_second[1]}.{int((t - whole) * 1000):03d}Z"


_ids = random.Random(uuid.uuid4().int)  # seeded from the OS once; ids need uniqueness, not secrecy


def new_id() -> str:
    """A random 128-bit hex id (task, context, message and artifact ids)."""
    return f"{_ids.getrandbits(128):032x}"


class TaskState(StrEnum):
    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input-required"
    COMPLETED = "completed"
    CANCELED = "canceled"
    FAILED = "failed"
    REJECTED = "rejected"
    AUTH_REQUIRED = "auth-required"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def v1(self) -> str:
        return _V1_STATE[self]


_TERMINAL = frozenset(
    {TaskState.COMPLETED, TaskState.CANCELED, TaskState.FAILED, TaskState.REJECTED}
)
_V1_STATE = {s: "TASK_STATE_" + s.value.upper().replace("-", "_") for s in TaskState}
_STATE_BY_NAME = {**{v: s for s, v in _V1_STATE.items()}, **{s.value: s for s in TaskState}}
_ROLE_BY_NAME = {"user": "user", "agent": "agent", "ROLE_USER": "user", "ROLE_AGENT": "agent"}


@dataclass(slots=True)
class Part:
    """A text part (``text`` set) or a data part (``data`` set: any JSON value)."""

    text: str | None = None
    data: Any = None
    metadata: dict[str, Any] | None = None

    @property
    def is_text(self) -> bool:
        return self.text is not None


@dataclass(slots=True)
class Message:
    role: str
    parts: list[Part]
    message_id: str = field(default_factory=new_id)
    context_id: str | None = None
    task_id: str | None = None
    metadata: dict[str, Any] | None = None

    def texts(self) -> list[str]:
        return [p.text for p in self.parts if p.text is not None]

    def data(self) -> list[Any]:
        return [p.data for p in self.parts if p.text is None]


@dataclass(slots=True)
class Artifact:
    artifact_id: str
    parts: list[Part]
    name: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class TaskStatus:
    state: TaskState
    message: Message | None = None
    timestamp: str = field(default_factory=now_iso)


@dataclass(slots=True)
class Task:
    id: str
    context_id: str
    status: TaskStatus
    artifacts: list[Artifact] = field(default_factory=list)
    history: list[Message] = field(default_factory=list)
    metadata: dict[str, Any] | None = None

    @property
    def state(self) -> TaskState:
        return self.status.state


@dataclass(slots=True)
class StatusUpdate:
    task_id: str
    context_id: str
    status: TaskStatus
    final: bool = False
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class ArtifactUpdate:
    task_id: str
    context_id: str
    artifact: Artifact
    append: bool = False
    last_chunk: bool = True


@dataclass(slots=True)
class SendParams:
    message: Message
    blocking: bool = True
    history_length: int | None = None
    metadata: dict[str, Any] | None = None


StreamEvent = Task | Message | StatusUpdate | ArtifactUpdate

# -- decoding (lenient spelling, strict types) ---------------------------------


def _bad(message: str, code: int = INVALID_PARAMS) -> RpcError:
    return RpcError(code, message)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an object, not {type_name(value)}")
    return value


def _str(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise _bad(f"{where}.{key} is required")
        return None
    if not isinstance(value, str):
        raise _bad(f"{where}.{key} must be a string, not {type_name(value)}")
    return value


def _meta(obj: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    value = obj.get("metadata")
    if value is None:
        return None
    return _obj(value, f"{where}.metadata")


def type_name(value: Any) -> str:
    """How a JSON value is called in error messages."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def decode_part(raw: Any, where: str) -> Part:
    obj = _obj(raw, where)
    kind = obj.get("kind")
    if "text" in obj and kind in (None, "text"):
        text = obj["text"]
        if not isinstance(text, str):
            raise _bad(f"{where}.text must be a string, not {type_name(text)}")
        return Part(text=text, metadata=_meta(obj, where))
    if "data" in obj and kind in (None, "data"):
        return Part(data=obj["data"], metadata=_meta(obj, where))
    if kind == "file" or {"raw", "url", "file"} & obj.keys():
        raise _bad(f"{where}: file parts are not supported; send text or data parts",
                   CONTENT_TYPE_NOT_SUPPORTED)  # fmt: skip
    raise _bad(f"{where} must have a 'text' or a 'data' field")


def decode_message(raw: Any, where: str = "message") -> Message:
    obj = _obj(raw, where)
    role_raw = obj.get("role", "user")
    role = _ROLE_BY_NAME.get(role_raw) if isinstance(role_raw, str) else None
    if role is None:
        raise _bad(
            f"{where}.role must be 'user' or 'agent' (ROLE_USER, ROLE_AGENT), not {role_raw!r}"
        )
    parts_raw = obj.get("parts")
    if not isinstance(parts_raw, list) or not parts_raw:
        raise _bad(f"{where}.parts must be a non-empty array of parts")
    parts = [decode_part(p, f"{where}.parts[{i}]") for i, p in enumerate(parts_raw)]
    return Message(
        role=role,
        parts=parts,
        message_id=_str(obj, "messageId", where) or new_id(),
        context_id=_str(obj, "contextId", where),
        task_id=_str(obj, "taskId", where),
        metadata=_meta(obj, where),
    )


def decode_send_params(params: Any, dialect: Dialect) -> SendParams:
    obj = _obj(params, "params")
    if "message" not in obj:
        raise _bad("params.message is required")
    message = decode_message(obj["message"], "params.message")
    config = _obj(obj.get("configuration") or {}, "params.configuration")
    if dialect is Dialect.V1:
        immediate = config.get("returnImmediately", False)
        if not isinstance(immediate, bool):
            raise _bad("params.configuration.returnImmediately must be a boolean")
        blocking = not immediate
    else:
        blocking = config.get("blocking", True)
        if not isinstance(blocking, bool):
            raise _bad("params.configuration.blocking must be a boolean")
    history = config.get("historyLength")
    if history is not None and (not isinstance(history, int) or isinstance(history, bool)):
        raise _bad("params.configuration.historyLength must be an integer")
    return SendParams(message, blocking, history, _meta(obj, "params"))


def decode_task_id(params: Any) -> tuple[str, int | None]:
    """The task id (and optional historyLength) of GetTask / CancelTask params."""
    obj = _obj(params, "params")
    task_id = _str(obj, "id", "params", required=True)
    assert task_id is not None
    history = obj.get("historyLength")
    if history is not None and (not isinstance(history, int) or isinstance(history, bool)):
        raise _bad("params.historyLength must be an integer")
    return task_id, history


def _decode_status(raw: Any) -> TaskStatus:
    obj = _obj(raw, "status")
    state = _STATE_BY_NAME.get(obj.get("state", ""))
    if state is None:
        raise _bad(f"unknown task state {obj.get('state')!r}")
    message = obj.get("message")
    return TaskStatus(
        state=state,
        message=decode_message(message, "status.message") if message else None,
        timestamp=obj.get("timestamp") or "",
    )


def _decode_artifact(raw: Any) -> Artifact:
    obj = _obj(raw, "artifact")
    parts = obj.get("parts") or []
    return Artifact(
        artifact_id=_str(obj, "artifactId", "artifact") or "",
        parts=[decode_part(p, f"artifact.parts[{i}]") for i, p in enumerate(parts)],
        name=_str(obj, "name", "artifact"),
        description=_str(obj, "description", "artifact"),
        metadata=_meta(obj, "artifact"),
    )


def decode_task(raw: Any) -> Task:
    obj = _obj(raw, "task")
    return Task(
        id=_str(obj, "id", "task", required=True) or "",
        context_id=_str(obj, "contextId", "task") or "",
        status=_decode_status(obj.get("status")),
        artifacts=[_decode_artifact(a) for a in obj.get("artifacts") or ()],
        history=[decode_message(m, "task.history") for m in obj.get("history") or ()],
        metadata=_meta(obj, "task"),
    )


def decode_send_result(result: Any) -> Task | Message:
    """A SendMessage / message/send result, in either dialect."""
    obj = _obj(result, "result")
    if "task" in obj:
        return decode_task(obj["task"])
    if "message" in obj and "parts" not in obj:
        return decode_message(obj["message"])
    if obj.get("kind") == "message" or ("messageId" in obj and "status" not in obj):
        return decode_message(obj)
    return decode_task(obj)


def decode_event(result: Any) -> StreamEvent:
    """One streamed result (SSE ``data``), in either dialect."""
    obj = _obj(result, "result")
    kind = obj.get("kind")
    if "statusUpdate" in obj or kind == "status-update":
        su = _obj(obj.get("statusUpdate", obj), "statusUpdate")
        status = _decode_status(su.get("status"))
        return StatusUpdate(
            task_id=_str(su, "taskId", "statusUpdate") or "",
            context_id=_str(su, "contextId", "statusUpdate") or "",
            status=status,
            final=bool(su.get("final", status.state.terminal)),
            metadata=_meta(su, "statusUpdate"),
        )
    if "artifactUpdate" in obj or kind == "artifact-update":
        au = _obj(obj.get("artifactUpdate", obj), "artifactUpdate")
        return ArtifactUpdate(
            task_id=_str(au, "taskId", "artifactUpdate") or "",
            context_id=_str(au, "contextId", "artifactUpdate") or "",
            artifact=_decode_artifact(au.get("artifact")),
            append=bool(au.get("append", False)),
            last_chunk=bool(au.get("lastChunk", True)),
        )
    return decode_send_result(obj)


# -- encoding ------------------------------------------------------------------


def _encode_part(part: Part, dialect: Dialect) -> dict[str, Any]:
    if part.text is not None:
        out: dict[str, Any] = {"text": part.text}
        if dialect is Dialect.V03:
            out["kind"] = "text"
    else:
        out = {"data": part.data}
        if dialect is Dialect.V03:
            out["kind"] = "data"
    if part.metadata:
        out["metadata"] = part.metadata
    return out


def encode_message(message: Message, dialect: Dialect) -> dict[str, Any]:
    out: dict[str, Any] = {
        "messageId": message.message_id,
        "role": message.role if dialect is Dialect.V03 else f"ROLE_{message.role.upper()}",
        "parts": [_encode_part(p, dialect) for p in message.parts],
    }
    if dialect is Dialect.V03:
        out["kind"] = "message"
    if message.context_id:
        out["contextId"] = message.context_id
    if message.task_id:
        out["taskId"] = message.task_id
    if message.metadata:
        out["metadata"] = message.metadata
    return out


def _encode_status(status: TaskStatus, dialect: Dialect) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": status.state.v1 if dialect is Dialect.V1 else status.state.value,
        "timestamp": status.timestamp,
    }
    if status.message is not None:
        out["message"] = encode_message(status.message, dialect)
    return out


def _encode_artifact(artifact: Artifact, dialect: Dialect) -> dict[str, Any]:
    out: dict[str, Any] = {
        "artifactId": artifact.artifact_id,
        "parts": [_encode_part(p, dialect) for p in artifact.parts],
    }
    if artifact.name:
        out["name"] = artifact.name
    if artifact.description:
        out["description"] = artifact.description
    if artifact.metadata:
        out["metadata"] = artifact.metadata
    return out


def encode_task(task: Task, dialect: Dialect, history_length: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.id,
        "contextId": task.context_id,
        "status": _encode_status(task.status, dialect),
    }
    if dialect is Dialect.V03:
        out["kind"] = "task"
    if task.artifacts:
        out["artifacts"] = [_encode_artifact(a, dialect) for a in task.artifacts]
    if history_length and task.history:  # the server default is no history
        out["history"] = [encode_message(m, dialect) for m in task.history[-history_length:]]
    if task.metadata:
        out["metadata"] = task.metadata
    return out


def encode_send_result(
    result: Task | Message, dialect: Dialect, history_length: int | None = None
) -> dict[str, Any]:
    if isinstance(result, Message):
        body = encode_message(result, dialect)
        return {"message": body} if dialect is Dialect.V1 else body
    body = encode_task(result, dialect, history_length)
    return {"task": body} if dialect is Dialect.V1 else body


def encode_event(event: StreamEvent, dialect: Dialect) -> dict[str, Any]:
    """One streamed result, as the ``result`` of a JSON-RPC response."""
    if isinstance(event, Task | Message):
        return encode_send_result(event, dialect)
    if isinstance(event, StatusUpdate):
        body: dict[str, Any] = {
            "taskId": event.task_id,
            "contextId": event.context_id,
            "status": _encode_status(event.status, dialect),
        }
        if event.metadata:
            body["metadata"] = event.metadata
        if dialect is Dialect.V1:
            return {"statusUpdate": body}
        return {**body, "kind": "status-update", "final": event.final}
    body = {
        "taskId": event.task_id,
        "contextId": event.context_id,
        "artifact": _encode_artifact(event.artifact, dialect),
        "append": event.append,
        "lastChunk": event.last_chunk,
    }
    if dialect is Dialect.V1:
        return {"artifactUpdate": body}
    return {**body, "kind": "artifact-update"}


def encode_send_params(
    message: Message, dialect: Dialect, *, blocking: bool = True
) -> dict[str, Any]:
    config: dict[str, Any] = (
        {"returnImmediately": not blocking} if dialect is Dialect.V1 else {"blocking": blocking}
    )
    return {"message": encode_message(message, dialect), "configuration": config}


def encode_send_request(
    data: Any, dialect: Dialect = Dialect.V1, *, request_id: int | str = 1
) -> bytes:
    """A whole JSON-RPC ``SendMessage`` request carrying ``data`` as one data part.

    The bytes a benchmark or measurement replays many times; :class:`A2AClient`
    builds the same request per call.
    """
    message = Message(role="user", parts=[Part(data=data)])
    rpc = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method_name(Op.SEND, dialect),
        "params": encode_send_params(message, dialect),
    }
    return orjson.dumps(rpc)
