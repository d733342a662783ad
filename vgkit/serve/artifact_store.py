"""Artifacts kept where they were made, so a trusted peer can send a reference back.

In a pipeline run over A2A, most of what a call carries is upstream artifacts:
the orchestrator sends each agent the artifacts earlier agents returned (for a
three-platform plan, 28 calls carry ~270 KB of them), and the agent server
parses and validates them again. When those artifacts came from this very
process, that is wasted work: the server still holds them.

So an ``ArtifactStore`` (one per server process, shared by its agents) keeps
the artifacts a *trusted* peer (``--trust-peers`` or an HMAC-signed request)
asks it to keep (``"vgkit.keep": true`` in the message's metadata: kept objects
are live objects the garbage collector walks, ~20 us a request for a server
that kept every answer) and names each in the artifact's metadata
(``"vgkit.ref": "STORE.ID"``, STORE being this process's random store id;
:mod:`vgkit.a2a.refs`).
The peer's :class:`~vgkit.agents.A2ABackend` may then send
``{"vgkit.ref": "STORE.ID"}`` in place of that artifact's JSON when it calls an
agent served by the same store; the server uses the object it kept, which was
valid when it was made (models are frozen). References are accepted over
trusted hops only (an untrusted request with one is refused with invalid
params), and only from this store. A reference the store no longer holds
(evicted, or the process restarted) is answered with
:data:`~vgkit.a2a.refs.ARTIFACT_REF_NOT_FOUND`, and the client sends that call again with the
artifacts in full: a reference saves work, it never decides an answer.

The store is bounded in bytes (the artifact's JSON, which the server writes
anyway) and drops the least recently used first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from vgkit.a2a.protocol import INVALID_PARAMS, new_id
from vgkit.a2a.refs import ARTIFACT_REF_NOT_FOUND, reference
from vgkit.errors import RpcError, ServeError
from vgkit.metrics import MetricsRegistry, Sample, register_source
from vgkit.models import Model

__all__ = ["DEFAULT_ARTIFACT_STORE_BYTES", "ArtifactStore"]

#: Bytes of artifact JSON a server process keeps for references (16 MiB: the artifacts
#: of ~60 three-platform plans; a run refers to its own within milliseconds).
DEFAULT_ARTIFACT_STORE_BYTES = 16 * 1024 * 1024


class ArtifactStore:
    """Artifacts answered to trusted peers, by reference (see the module docstring).

    ``max_bytes`` bounds the JSON bytes kept (0: keep nothing, hand out no references).
    Thread-safe: ``vgkit serve`` agents share one per process.
    """

    def __init__(
        self,
        max_bytes: int = DEFAULT_ARTIFACT_STORE_BYTES,
        *,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        if max_bytes < 0:
            raise ServeError(f"the artifact store's size must be >= 0 bytes, not {max_bytes}")
        self.max_bytes = max_bytes
        self.id = new_id()[:16]
        self.bytes = 0
        self.stored = self.resolved = self.missed = self.evicted = 0
        self._items: OrderedDict[str, tuple[Model, int]] = OrderedDict()
        self._lock = threading.Lock()
        if max_bytes:  # a store that keeps nothing has nothing to count
            register_source(self, metrics)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, artifact: Model, size: int) -> str | None:
        """Keep ``artifact`` (``size``: its JSON's bytes); its reference, or None when
        the store keeps nothing or the artifact alone is bigger than the store."""
        if size > self.max_bytes:
            return None
        key = new_id()
        with self._lock:
            self._items[key] = (artifact, size)
            self.bytes += size
            self.stored += 1
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped
                self.evicted += 1
        return f"{self.id}.{key}"

    def get(self, ref: str) -> Model | None:
        store, _, key = ref.partition(".")
        if store != self.id:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
        return found[0] if found is not None else None

    def resolve(self, inputs: Mapping[str, Any], *, trusted: bool) -> dict[str, Any]:
        """``inputs`` with every reference replaced by the artifact it names.

        Raises RpcError: invalid params for a reference over an untrusted hop,
        :data:`ARTIFACT_REF_NOT_FOUND` for one this store does not hold.
        """
        out = dict(inputs)
        for step, value in inputs.items():
            ref = reference(value)
            if ref is None:
                continue
            if not trusted:
                raise RpcError(
                    INVALID_PARAMS,
                    f"input {step!r} is an artifact reference; references are accepted "
                    "over trusted hops only (vgkit serve --trust-peers, or an HMAC-signed "
                    "request): send the artifact itself",
                )
            artifact = self.get(ref)
            if artifact is None:
                with self._lock:
                    self.missed += 1
                raise RpcError(
                    ARTIFACT_REF_NOT_FOUND,
                    f"input {step!r} refers to artifact {ref}, which this server does not "
                    "hold (evicted, restarted, or another process's): send the artifact itself",
                )
            out[step] = artifact
            with self._lock:
                self.resolved += 1
        return out

    def clear(self) -> None:
        """Drop every artifact (references handed out miss from now on)."""
        with self._lock:
            self._items.clear()
            self.bytes = 0

    def metric_samples(self) -> Iterator[Sample]:
        labels = {"store": self.id}
        for outcome, count in (("stored", self.stored), ("resolved", self.resolved),
                               ("missed", self.missed), ("evicted", self.evicted)):  # fmt: skip
            yield Sample("vgkit_serve_artifact_refs", "counter",
                         "Artifacts kept for trusted peers, and references resolved or missed",
                         {**labels, "outcome": outcome}, count)  # fmt: skip
        yield Sample("vgkit_serve_artifact_store_bytes", "gauge",
                     "Bytes of artifact JSON the store keeps", labels, self.bytes)  # fmt: skip
