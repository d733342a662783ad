"""Every error vgkit raises on purpose.

The tree::

    VgkitError
    ├── ConfigError            a setting or environment variable is invalid
    ├── InvalidRequestError    a VideoRequest (or other user input) failed validation
    ├── GraphError             a DAG is malformed
    │   └── CycleError         the graph has a cycle (the message names it)
    ├── ExecutorError          unknown executor name or bad scheduler options
    ├── AgentError             an agent could not produce its artifact
    │   └── BackendError       a backend (for example the LLM endpoint) misbehaved
    ├── GenerationError        a run finished without a plan for a platform
    ├── CacheError             a cache setting, key, policy or dictionary is invalid
    ├── QueueError             the job queue could not do what was asked
    │   ├── QueueFullError         a bounded queue refused a job (what is queued is kept)
    │   ├── JobNotFoundError       no job with that id (never submitted, purged or expired)
    │   ├── JobStateError          the job's state does not allow it (retry a job that is not dead)
    │   └── QueueUnavailableError  Redis did not answer; the queue's jobs are untouched
    ├── ClientError            an HTTP call through the pooled client failed
    │   ├── EndpointUnavailableError   no endpoint took the request (refused, 503, unhealthy)
    │   │   └── CircuitOpenError       every candidate endpoint's circuit breaker is open
    │   ├── RequestTimeoutError        the request missed its connect, read or total deadline
    │   └── RpcError                   the peer answered with a JSON-RPC / A2A error (``code``)
    ├── ServeError             an agent server could not start (port taken, bad options)
    ├── ModelServerError       the language model could not be served or reached (missing extra,
    │                          no GGUF file at the path, a URL that does not answer)
    ├── NetlabError            the network lab could not be built or used (bad host, failed command)
    │   └── NetlabUnavailableError  the machine lacks root, iproute2 or nftables
    ├── LoadTestError          a load test, its workload or its target is misconfigured
    ├── TuningError            a request trace, cache configuration or tuning search is invalid
    ├── TargetError            a load-test target answered badly (counted, never raised out)
    ├── ReportError            a report could not run: unknown notebook or parameter, failed cell
    ├── TemplateError          the template library is malformed, or no template matches a query
    ├── OutputError            a file or folder vgkit was asked to write cannot be written
    ├── UsageError             the ``vgkit`` command line itself is wrong (unknown option, ...)
    └── RenderError            a video could not be rendered (output not writable, disk full...)
        ├── VoiceError             the narration voice or language is not one eSpeak NG has
        └── AssetError             an asset or music file is missing or cannot be decoded

Errors from third-party libraries are wrapped with ``raise ... from exc`` so the
caller always sees a ``VgkitError`` whose message says what was wrong and what to
do about it. Modules that own a layer (cache, client, queue) add their own
subclasses here so the whole tree stays in one place.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "AssetError",
    "BackendError",
    "CacheError",
    "CircuitOpenError",
    "ClientError",
    "ConfigError",
    "CycleError",
    "EndpointUnavailableError",
    "ExecutorError",
    "GenerationError",
    "GraphError",
    "InvalidRequestError",
    "JobNotFoundError",
    "JobStateError",
    "LoadTestError",
    "ModelServerError",
    "NetlabError",
    "NetlabUnavailableError",
    "OutputError",
    "QueueError",
    "QueueFullError",
    "QueueUnavailableError",
    "RenderError",
    "ReportError",
    "RequestTimeoutError",
    "RpcError",
    "ServeError",
    "TargetError",
    "TemplateError",
    "TuningError",
    "UsageError",
    "VgkitError",
    "VoiceError",
]


class VgkitError(Exception):
    """Base class of every error vgkit raises on purpose."""


class ConfigError(VgkitError, ValueError):
    """A setting (argument, environment variable or file) is invalid."""


class InvalidRequestError(VgkitError, ValueError):
    """User input failed validation; the message lists every problem."""


class GraphError(VgkitError):
    """A graph is malformed: unknown dependency, duplicate node, and so on."""


class CycleError(GraphError):
    """The graph has a cycle.

    ``cycle`` holds the node ids along the cycle, first node repeated at the end.
    """

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("graph has a cycle: " + " -> ".join(cycle))


class ExecutorError(VgkitError, ValueError):
    """An executor name or scheduler option is invalid."""


class AgentError(VgkitError):
    """An agent failed to produce its artifact."""

    def __init__(self, agent: str, message: str) -> None:
        self.agent = agent
        super().__init__(f"agent {agent!r} failed: {message}")


class BackendError(AgentError):
    """A backend misbehaved (unreachable endpoint, invalid output after retries)."""


class GenerationError(VgkitError):
    """A run ended without a usable plan; ``failures`` maps node id to reason."""

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        self.failures = dict(failures or {})
        super().__init__(message)


class CacheError(VgkitError, ValueError):
    """A cache setting, key, TTL policy or compression dictionary is invalid.

    Only misuse raises it: a cache that cannot reach Redis, or reads bytes that
    do not decode, counts the failure and answers a miss instead.
    """


class QueueError(VgkitError):
    """The job queue could not do what was asked."""


class QueueFullError(QueueError):
    """A bounded queue refused a submission; the jobs already queued are untouched."""

    def __init__(self, waiting: int, maxsize: int) -> None:
        self.waiting = waiting
        self.maxsize = maxsize
        super().__init__(
            f"the job queue is full ({waiting} jobs waiting, maxsize {maxsize}); "
            "nothing was queued: retry later, add workers, or raise maxsize"
        )


class JobNotFoundError(QueueError, KeyError):
    """No job with that id: never submitted, purged, or expired with its result."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job {job_id!r}: it was never submitted, was purged, or expired")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class JobStateError(QueueError):
    """The job exists but its state does not allow the operation."""


class QueueUnavailableError(QueueError):
    """Redis did not answer; jobs already in the queue are not affected."""


class ClientError(VgkitError):
    """An HTTP call through the pooled client failed.

    ``url`` is the endpoint that failed last (None before one was chosen) and
    ``status`` the HTTP status when the server answered with one.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(message)


class EndpointUnavailableError(ClientError):
    """No endpoint took the request: refused connections, 503s, or none healthy."""


class CircuitOpenError(EndpointUnavailableError):
    """Every candidate endpoint's circuit breaker is open; retry after it cools down."""


class RequestTimeoutError(ClientError):
    """The request missed its connect, read or total deadline."""


class RpcError(ClientError):
    """The peer answered with a JSON-RPC error; ``code`` is the JSON-RPC / A2A code.

    Application errors are never retried: the server received and rejected the call.
    """

    def __init__(
        self, code: int, message: str, *, data: object = None, url: str | None = None
    ) -> None:
        self.code = code
        self.rpc_message = message
        self.data = data
        super().__init__(f"JSON-RPC error {code}: {message}", url=url)


class ServeError(VgkitError):
    """An agent server could not start or was given invalid options."""


class ModelServerError(VgkitError):
    """The language model could not be served or reached.

    Raised by ``vgkit llm serve`` and ``vgkit.llm.ModelServer``: the ``llm`` extra is
    missing (``make llm``), the model path is not a GGUF file, the server process
    exited while loading, or an OpenAI-compatible URL does not answer.
    """


class NetlabError(VgkitError):
    """The network lab could not be built, changed or used; the message says which step."""


class NetlabUnavailableError(NetlabError):
    """This machine cannot run the lab: it needs root, iproute2 and nftables."""


class LoadTestError(VgkitError, ValueError):
    """A load test, its workload or its target is misconfigured."""


class TuningError(VgkitError, ValueError):
    """A request trace, a cache configuration or a tuning search is invalid.

    The message names the file and line of a bad trace record, or the option
    that is wrong, and what to do about it.
    """


class TargetError(VgkitError):
    """A load-test target answered badly (for example HTTP 503).

    ``kind`` is the short label the load test counts errors under.
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"{kind}: {message}")


class ReportError(VgkitError):
    """A report could not be produced; the message says why and what to do."""


class TemplateError(VgkitError):
    """The template library is malformed, or no template matches a query."""


class OutputError(VgkitError):
    """A file or folder vgkit was asked to write cannot be written (checked before the
    work that would fill it); the message names the path, the reason and what to do."""


class UsageError(VgkitError):
    """The command line itself is wrong; the CLI prints it as one line and exits 2."""


class RenderError(VgkitError):
    """A video could not be rendered; the message says why and what to do.

    Nothing is left at the output path: a render writes to a temporary name and
    renames it only when the file is complete.
    """


class VoiceError(RenderError, ValueError):
    """The narration voice (or language) is not one eSpeak NG ships."""


class AssetError(RenderError, ValueError):
    """An asset, asset directory or music file is missing or cannot be decoded."""
