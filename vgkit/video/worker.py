"""A render worker process: JSON requests in on stdin, JSON replies out on stdout.

The worker (``python -m vgkit.video.worker``, or the lighter start of
:data:`vgkit.video.pool.BOOT` that the pool uses) reads frames of a 4-byte big-endian length and
that many bytes of JSON (orjson), one request at a time::

    {"id": 7, "op": "clip", "args": {...}}

and answers each with ``{"id": 7, "ok": true, "result": {...}}`` or ``{"id": 7,
"ok": false, "error": {"type": ..., "message": ..., "errno": ...}}``. Nothing
is pickled: arguments and results are plain JSON, files are passed by path.
The worker exits when its stdin closes (the parent finished or died). It
ignores SIGINT: a Ctrl-C in the terminal reaches the whole process group, and
the parent decides what to stop, so a worker never dies with a half-written
reply.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import traceback
from typing import IO, Any

import orjson

__all__ = ["main", "read_message", "write_message"]

_HEADER = struct.Struct(">I")
#: Refuse absurd frames (a corrupted stream) instead of allocating them.
MAX_MESSAGE = 64 << 20


def write_message(stream: IO[bytes], message: dict[str, Any]) -> None:
    data = orjson.dumps(message)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is over the {MAX_MESSAGE} byte limit")
    data = stream.read(size)
    if len(data) < size:
        return None
    message: dict[str, Any] = orjson.loads(data)
    return message


def _error(exc: BaseException) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, OSError):
        error["errno"] = exc.errno
        error["filename"] = str(exc.filename) if exc.filename is not None else None
    from vgkit.errors import VgkitError

    if not isinstance(exc, VgkitError | OSError):
        error["traceback"] = "".join(traceback.format_exception(exc))[-4000:]
    return error


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Replies own fd 1; anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    from vgkit.video.jobs import HANDLERS

    while True:
        message = read_message(requests)
        if message is None:
            return 0
        ident = message.get("id")
        try:
            handler = HANDLERS[message["op"]]
            reply = {"id": ident, "ok": True, "result": handler(message["args"])}
        except Exception as exc:
            reply = {"id": ident, "ok": False, "error": _error(exc)}
        try:
            write_message(replies, reply)
        except BrokenPipeError:
            return 0


if __name__ == "__main__":
    sys.exit(main())
