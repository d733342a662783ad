"""Why a load-test request failed, in a few words a summary can count.

:func:`error_cause` names the cause of a failed request: ``connection refused at
127.0.0.1:8700``, ``timeout after 2 s``, ``HTTP 503``, ``server disconnected``; a
pipeline run that made no plan keeps its kind and says why (``incomplete
(topic_analysis: connection refused at 127.0.0.1:10201)``). The exception's
chain (``raise ... from``) is searched for the root cause; what cannot be named
falls back on the exception's ``kind`` (:class:`vgkit.errors.TargetError`) or
its class name.
"""

from __future__ import annotations

import errno
import re
from urllib.parse import urlsplit

__all__ = ["error_cause"]

#: Causes read out of a failure's message (a pipeline node's reason is text).
_TEXT_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"could not connect at https?://([^/\s]+).*?(?:Connect call failed|refused)",
                re.I | re.S), "connection refused at {0}"),
    (re.compile(r"could not connect at https?://([^/\s]+)", re.I), "cannot connect to {0}"),
    (re.compile(r"every endpoint of '([^']+)' has an open circuit"),
     "circuit open for {0} after repeated failures (is its server running?)"),
    (re.compile(r"connection refused[^\d]*?(\d{1,3}(?:\.\d{1,3}){3}:\d+)", re.I),
     "connection refused at {0}"),
    (re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}:\d+)[^;]*?connection refused", re.I),
     "connection refused at {0}"),
    (re.compile(r"connection refused", re.I), "connection refused"),
    (re.compile(r"\bHTTP (\d{3})\b"), "HTTP {0}"),
    (re.compile(r"time(?:d)? ?out", re.I), "timeout"),
    (re.compile(r"server disconnected", re.I), "server disconnected"),
)  # fmt: skip


def _seconds(timeout: float | None) -> str:
    return f"timeout after {timeout:g} s" if timeout else "timeout"


def _named(exc: BaseException, timeout: float | None) -> str | None:
    """The cause ``exc`` itself names, if it is one of the kinds we know."""
    import aiohttp

    from vgkit.errors import CircuitOpenError, RequestTimeoutError

    if isinstance(exc, TimeoutError | RequestTimeoutError | aiohttp.ServerTimeoutError):
        return _seconds(timeout)
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
        if exc.os_error.errno == errno.ECONNREFUSED or isinstance(
            exc.os_error, ConnectionRefusedError
        ):
            return f"connection refused at {where}"
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to {where} ({reason})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, CircuitOpenError):
        url: object = getattr(exc, "url", None)
        where = urlsplit(url).netloc if isinstance(url, str) and url else ""
        if where:
            return f"circuit open for {where} after repeated failures (is its server running?)"
        return _from_text(str(exc))
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP {status}"
    return None


def _from_text(text: str) -> str | None:
    for pattern, label in _TEXT_CAUSES:
        found = pattern.search(text)
        if found:
            return label.format(*found.groups())
    return None


def error_cause(exc: BaseException, *, timeout: float | None = None) -> str:
    """A short label for why a request failed (see the module docstring)."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        named = _named(link, timeout)
        if named is not None:
            return named
        link = link.__cause__ or link.__context__
    kind = getattr(exc, "kind", None)
    label = kind if isinstance(kind, str) and kind else type(exc).__name__
    if label.startswith("HTTP "):
        return label
    message = str(exc)
    if isinstance(kind, str) and message.startswith(f"{kind}: "):
        message = message[len(kind) + 2 :]
    cause = _from_text(message)
    if cause is None:
        return label
    if kind is None:  # a wrapper (BackendError around the client's error): the cause says it
        return cause
    node = message.split(": ", 1)[0] if ": " in message else ""
    where = f"{node}: " if node and " " not in node and len(node) < 40 else ""
    return f"{label} ({where}{cause})"
