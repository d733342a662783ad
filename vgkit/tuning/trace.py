"""Request traces: what the cache was asked for, and when (JSON Lines).

One line per request, the time and the request's fields::

    {"ts": 1732790001.25, "request": {"topic": "How tides work", "platforms": ["tiktok"]}}

``ts`` is seconds (a recorded trace holds wall-clock epoch seconds, a
synthetic one seconds since its start; readers only use differences). The
request holds :class:`~vgkit.models.VideoRequest` fields; absent ones take
their defaults. Blank lines are skipped; lines need not be in time order.

Record one while using vgkit as usual: give a
:class:`~vgkit.plan_cache.CacheIntegration` a :class:`TraceRecorder`
(``CacheIntegration(cache, recorder=TraceRecorder(path))``), or run code inside
``with record_trace(path):`` (what ``vgkit cache trace --record FILE --
COMMAND`` does), and every request that reaches the cache is appended, one
``write`` per line, so several processes may share a file. Warming runs are
not recorded. :func:`load_trace` reads the file back as a :class:`Trace` that
``vgkit.tuning`` replays. (The plan cache only knows a recorder as something
with ``record(request)``; this module is where traces are made and read.)
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, overload

import orjson

from vgkit.config import settings
from vgkit.errors import InvalidRequestError, TuningError
from vgkit.models import VideoRequest
from vgkit.plan_cache import active_recorder, recording

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BUNDLED_TRACE",
    "Trace",
    "TraceRecord",
    "TraceRecorder",
    "active_recorder",
    "bundled_trace_path",
    "load_trace",
    "paused_recording",
    "record_trace",
    "request_fields",
]

#: The bundled week-long trace, relative to the data directory (``VGKIT_DATA_DIR``).
BUNDLED_TRACE = "traces/requests-week.jsonl"


def request_fields(request: VideoRequest) -> dict[str, Any]:
    """The fields a trace line keeps: topic and platforms always, the rest when not default."""
    rest = request.model_dump(mode="json", exclude_defaults=True)
    rest.pop("topic", None)
    rest.pop("platforms", None)
    return {"topic": request.topic, "platforms": [p.value for p in request.platforms], **rest}


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One request of a trace, ``t`` seconds after the trace's first request."""

    t: float
    request: VideoRequest

    def line(self) -> bytes:
        """The JSON line this record is saved as (times rounded to the millisecond)."""
        doc = {"ts": round(self.t, 3), "request": request_fields(self.request)}
        return orjson.dumps(doc) + b"\n"


class Trace(Sequence[TraceRecord]):
    """Requests in time order, timed from the first one (``records[0].t == 0``).

    ``name`` says where it came from (a file name, ``synthetic``). Slicing by
    time (:meth:`split`, :meth:`between`) keeps the original clock, so a part
    of a trace still says when in the week it happened.
    """

    def __init__(self, records: Iterable[TraceRecord], *, name: str = "trace") -> None:
        ordered = sorted(records, key=lambda r: r.t)
        self.name = name
        self.records: tuple[TraceRecord, ...] = tuple(ordered)
        self._memo: dict[Any, Any] = {}

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[float, VideoRequest]], *, name: str = "trace"
    ) -> Trace:
        """A trace from ``(seconds, request)`` pairs, re-timed to start at 0 (to the
        millisecond, the resolution of the file format)."""
        items = sorted(pairs, key=lambda p: p[0])
        start = items[0][0] if items else 0.0
        return cls((TraceRecord(round(t - start, 3), r) for t, r in items), name=name)

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Trace: ...
    def __getitem__(self, index: int | slice) -> TraceRecord | Trace:
        if isinstance(index, slice):
            return Trace(self.records[index], name=self.name)
        return self.records[index]

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        return f"<Trace {self.name!r}: {len(self)} requests over {self.duration / 86400:.2f} days>"

    @property
    def start(self) -> float:
        return self.records[0].t if self.records else 0.0

    @property
    def end(self) -> float:
        return self.records[-1].t if self.records else 0.0

    @property
    def duration(self) -> float:
        """Seconds from the first request to the last."""
        return self.end - self.start

    def between(self, start: float, end: float = math.inf) -> Trace:
        """The requests with ``start <= t < end`` (times unchanged)."""
        return Trace((r for r in self.records if start <= r.t < end), name=self.name)

    def split(self, fraction: float) -> tuple[Trace, Trace]:
        """The first ``fraction`` of the trace's time span and the rest."""
        if not 0 < fraction < 1:
            raise TuningError(f"split fraction must be between 0 and 1, not {fraction}")
        at = self.split_time(fraction)
        return self.between(-math.inf, at), self.between(at)

    def split_time(self, fraction: float) -> float:
        """The time at which the first ``fraction`` of the span ends."""
        return self.start + fraction * self.duration

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """A value derived from this trace, built once (compiled forms for the simulator)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def dumps(self) -> bytes:
        """The trace as JSON Lines (what :meth:`save` writes)."""
        return b"".join(record.line() for record in self.records)

    def save(self, path: str | Path) -> Path:
        """Write the trace as JSON Lines; returns the path."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.dumps())
        except OSError as exc:
            raise TuningError(f"cannot write the trace to {target}: {exc}") from exc
        return target

    def describe(self) -> dict[str, Any]:
        """Counts a reader wants first: requests, days, distinct requests and topics, mixes."""
        platform_sets: dict[str, int] = {}
        styles: dict[str, int] = {}
        for r in self.records:
            key = "+".join(p.value for p in r.request.platforms)
            platform_sets[key] = platform_sets.get(key, 0) + 1
            styles[r.request.style.value] = styles.get(r.request.style.value, 0) + 1
        distinct = {r.request.request_id for r in self.records}
        return {
            "name": self.name,
            "requests": len(self),
            "days": round(self.duration / 86400, 3),
            "distinct_requests": len(distinct),
            "repeated_requests": len(self) - len(distinct),
            "distinct_topics": len({r.request.topic for r in self.records}),
            "platform_sets": dict(sorted(platform_sets.items(), key=lambda kv: -kv[1])),
            "styles": dict(sorted(styles.items(), key=lambda kv: -kv[1])),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per request: time (s and day), topic, platforms, style, seed."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "t": r.t,
                    "day": r.t / 86400,
                    "topic": r.request.topic,
                    "platforms": "+".join(p.value for p in r.request.platforms),
                    "style": r.request.style.value,
                    "seed": r.request.seed,
                    "request_id": r.request.request_id,
                }
                for r in self.records
            ],
            columns=["t", "day", "topic", "platforms", "style", "seed", "request_id"],
        )


def _parse_line(raw: bytes, where: str) -> tuple[float, VideoRequest]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TuningError(
            f"{where}: not JSON ({exc}); a trace has one JSON object per line"
        ) from None
    if not isinstance(doc, dict) or "ts" not in doc or "request" not in doc:
        raise TuningError(f'{where}: a trace line needs "ts" (seconds) and "request" (fields)')
    ts = doc["ts"]
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise TuningError(f'{where}: "ts" must be a finite number of seconds, not {ts!r}')
    if not isinstance(doc["request"], dict):
        raise TuningError(f'{where}: "request" must be an object of VideoRequest fields')
    try:
        request = VideoRequest.model_validate(doc["request"])
    except InvalidRequestError as exc:
        raise TuningError(f"{where}: {exc}") from None
    return float(ts), request


def bundled_trace_path() -> Path:
    """Where the bundled week-long trace lives (``data/traces/requests-week.jsonl``)."""
    return settings().data_dir / BUNDLED_TRACE


def load_trace(path: str | Path | None = None, *, limit: int | None = None) -> Trace:
    """Read a JSON Lines trace (see the module docstring); ``limit``: the first N lines.

    ``path`` defaults to the bundled week (:func:`bundled_trace_path`). Raises
    :class:`TuningError` naming the file and line when it cannot.
    """
    if limit is not None and limit < 1:
        raise TuningError(f"the trace limit must be at least 1 request, not {limit}")
    file = Path(path) if path is not None else bundled_trace_path()
    pairs: list[tuple[float, VideoRequest]] = []
    try:
        with file.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                if limit is not None and len(pairs) >= limit:
                    break
                if raw.strip():
                    pairs.append(_parse_line(raw, f"{file}:{number}"))
    except OSError as exc:
        raise TuningError(
            f"cannot read the trace {file}: {exc.strerror or exc}; record one with "
            "'vgkit cache trace --record FILE -- generate ...' or use the bundled one"
        ) from exc
    if not pairs:
        raise TuningError(f"the trace {file} holds no requests")
    return Trace.from_pairs(pairs, name=file.name)


class TraceRecorder:
    """Appends every request it is given to a JSON Lines trace file.

    Each line goes out in one ``write`` on a file opened for appending, so
    processes sharing a file interleave whole lines. ``clock`` gives the
    timestamps (wall-clock epoch seconds by default).
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self.count = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise TuningError(f"cannot record a trace to {self.path}: {exc}") from exc

    def record(self, request: VideoRequest, at: float | None = None) -> None:
        """Append ``request`` with time ``at`` (default: now)."""
        if self._fd is None:
            raise TuningError(f"the trace recorder for {self.path} is closed")
        when = self.clock() if at is None else at
        line = orjson.dumps({"ts": round(when, 3), "request": request_fields(request)}) + b"\n"
        os.write(self._fd, line)
        self.count += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def record_trace(path: str | Path) -> Iterator[TraceRecorder]:
    """Record every request any cache integration sees inside the block to ``path``."""
    with TraceRecorder(path) as recorder, recording(recorder):
        yield recorder


@contextlib.contextmanager
def paused_recording() -> Iterator[None]:
    """Record nothing inside the block, even within a :func:`record_trace` block
    (a replay must not append the trace it replays to the file being recorded)."""
    with recording(None):
        yield
