"""The wire format: both A2A dialects round-trip, and bad input names the field."""

from __future__ import annotations

import pytest

from vgkit.a2a.jsonrpc import parse_rpc_request
from vgkit.a2a.protocol import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    Artifact,
    ArtifactUpdate,
    Dialect,
    Message,
    Part,
    StatusUpdate,
    Task,
    TaskState,
    TaskStatus,
    decode_event,
    decode_send_params,
    decode_send_result,
    encode_event,
    encode_send_params,
    encode_send_result,
)
from vgkit.errors import RpcError


def _task() -> Task:
    return Task(
        id="t1",
        context_id="c1",
        status=TaskStatus(TaskState.COMPLETED),
        artifacts=[Artifact("a1", [Part(data={"x": 1}), Part(text="hi")], name="plan")],
    )


def test_dialects_spell_the_same_task_differently() -> None:
    v1 = encode_send_result(_task(), Dialect.V1)
    v03 = encode_send_result(_task(), Dialect.V03)
    assert v1["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert v1["task"]["artifacts"][0]["parts"] == [{"data": {"x": 1}}, {"text": "hi"}]
    assert v03["kind"] == "task" and v03["status"]["state"] == "completed"
    assert v03["artifacts"][0]["parts"][0] == {"data": {"x": 1}, "kind": "data"}
    for encoded in (v1, v03):
        back = decode_send_result(encoded)
        assert isinstance(back, Task)
        assert back.state is TaskState.COMPLETED
        assert back.artifacts[0].parts[0].data == {"x": 1}


@pytest.mark.parametrize("dialect", list(Dialect))
def test_stream_events_round_trip(dialect: Dialect) -> None:
    status = StatusUpdate("t1", "c1", TaskStatus(TaskState.WORKING), final=False)
    artifact = ArtifactUpdate("t1", "c1", Artifact("a", [Part(text="x")]))
    for event in (status, artifact):
        back = decode_event(encode_event(event, dialect))
        assert type(back) is type(event)
    done = decode_event(
        encode_event(StatusUpdate("t", "c", TaskStatus(TaskState.FAILED), True), dialect)
    )
    assert isinstance(done, StatusUpdate) and done.final and done.status.state is TaskState.FAILED


@pytest.mark.parametrize("dialect", list(Dialect))
def test_send_params_round_trip(dialect: Dialect) -> None:
    message = Message(role="user", parts=[Part(text="topic"), Part(data={"seed": 1})])
    params = decode_send_params(encode_send_params(message, dialect, blocking=False), dialect)
    assert params.blocking is False
    assert params.message.texts() == ["topic"] and params.message.data() == [{"seed": 1}]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "params.message is required"),
        ({"message": "hi"}, "params.message must be an object"),
        ({"message": {"role": "user", "parts": []}}, "non-empty array"),
        ({"message": {"role": "boss", "parts": [{"text": "x"}]}}, "role"),
        ({"message": {"role": "user", "parts": [{"text": 5}]}}, "text must be a string"),
        ({"message": {"role": "user", "parts": [{"nothing": 1}]}}, "'text' or a 'data'"),
    ],
)
def test_bad_params_name_the_field(params: object, needle: str) -> None:
    with pytest.raises(RpcError) as info:
        decode_send_params(params, Dialect.V1)
    assert info.value.code == INVALID_PARAMS
    assert needle in info.value.rpc_message


def test_envelope_checks() -> None:
    ok = parse_rpc_request({"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": "x"}})
    assert (ok.id, ok.method, ok.notification) == (3, "GetTask", False)
    assert parse_rpc_request({"jsonrpc": "2.0", "method": "m"}).notification
    for bad, code in [
        ([], INVALID_REQUEST),
        ("x", INVALID_REQUEST),
        ({"jsonrpc": "1.0", "id": 1, "method": "m"}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": True, "method": "m"}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": 7}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": "m", "params": 3}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": "m", "params": [1]}, INVALID_PARAMS),
    ]:
        with pytest.raises(RpcError) as info:
            parse_rpc_request(bad)
        assert info.value.code == code, bad
