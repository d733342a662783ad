"""A bounded pool of render worker processes, driven from the event loop.

:class:`WorkerPool` starts up to ``jobs`` render worker children
(:mod:`vgkit.video.worker`; on demand, or ahead with :meth:`WorkerPool.prestart`)
and gives each request to an idle one. A child imports only the drawing and
encoding modules it runs: see :data:`BOOT`. The event loop only writes a request and awaits the
reply on the child's pipe: every CPU-heavy step (drawing, encoding, speech,
mixing) happens in the children.

Closing the pool closes the children's stdin and waits for them to exit.
Cancelling a call (Ctrl-C, task cancellation) kills the child doing it, and
``aclose(kill=True)`` kills them all: a stopped render leaves no process
behind. A child that dies mid-request raises :class:`WorkerCrashed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno as errno_codes
import itertools
import os
import signal
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vgkit.errors import AssetError, RenderError, VgkitError, VoiceError
from vgkit.resource import AsyncResource

__all__ = ["WorkerCrashed", "WorkerPool", "default_jobs"]

_HEADER = struct.Struct(">I")

#: How a child starts. ``python -m vgkit.video.worker`` would run ``vgkit/__init__.py``
#: first, and with it the public API: pydantic models, agents, the orchestrator, which a
#: render worker never uses, paid again by every child and by every render that starts
#: one (importing vgkit.video.jobs: 3.4-3.8 s that way, 1.4-2.2 s this way, at load 13).
#: Instead ``vgkit`` is made a bare package over the same directory, so importing
#: ``vgkit.video.jobs`` loads only what it imports (PyAV, numpy, Pillow, the video
#: modules, errors). The command line still names ``vgkit.video.worker``.
BOOT = (
    "import sys, types; "
    "package = types.ModuleType('vgkit'); package.__path__ = [sys.argv[1]]; "
    "sys.modules['vgkit'] = package; "
    "from vgkit.video.worker import main; sys.exit(main())"
)
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)

_ERRORS: dict[str, type[VgkitError]] = {
    "RenderError": RenderError,
    "VoiceError": VoiceError,
    "AssetError": AssetError,
}


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class WorkerCrashed(RenderError):
    """A worker process exited while it held a request (killed, out of memory, a crash)."""


@dataclass(eq=False)
class _Worker:
    proc: asyncio.subprocess.Process
    ident: int
    busy: bool = False
    served: int = 0
    stderr_path: Path | None = None
    label: str = field(default="")

    @property
    def pid(self) -> int:
        return self.proc.pid


def os_message(code: int | None, filename: object, message: str) -> str:
    """One line for an OSError: what could not be written and what to do."""
    where = filename or "a file"
    if code == errno_codes.ENOSPC:
        return (
            f"no space left on the device while writing {where}; "
            "free space or choose another output or cache directory"
        )
    if code in (errno_codes.EACCES, errno_codes.EPERM, errno_codes.EROFS):
        return f"cannot write {where}: permission denied; choose a directory you can write to"
    return f"{message}"


class WorkerPool(AsyncResource):
    """Up to ``jobs`` worker processes (see the module docstring).

    ``log_dir``: where each child's stderr goes (one file per child); a crash
    message quotes its last lines. ``env`` is added to the children's
    environment.
    """

    def __init__(
        self, jobs: int, *, log_dir: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
            raise RenderError(f"jobs must be a positive number of worker processes, not {jobs!r}")
        self.jobs = jobs
        self.log_dir = log_dir
        self.env = {**os.environ, **(env or {})}
        self._workers: list[_Worker] = []
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._starting = 0
        self._ids = itertools.count()
        self._closed = False
        self._prestarts: set[asyncio.Task[None]] = set()
        self.started = 0

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.pid for w in self._workers if w.proc.returncode is None]

    async def _spawn(self) -> _Worker:
        ident = next(self._ids)
        stderr: Any = asyncio.subprocess.DEVNULL
        path = None
        if self.log_dir is not None:
            path = self.log_dir / f"worker-{ident}.log"
            stderr = path.open("wb")
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                BOOT,
                _PACKAGE_DIR,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=self.env,
            )
        finally:
            if path is not None:
                stderr.close()
        self.started += 1
        worker = _Worker(proc, ident, stderr_path=path)
        self._workers.append(worker)
        return worker

    def prestart(self, count: int) -> None:
        """Start up to ``count`` workers in the background (their imports overlap other work)."""
        want = min(count, self.jobs) - len(self._workers) - self._starting
        for _ in range(max(0, want)):
            self._starting += 1
            task = asyncio.get_running_loop().create_task(self._prestart_one())
            self._prestarts.add(task)
            task.add_done_callback(self._prestarts.discard)

    async def _prestart_one(self) -> None:
        try:
            worker = await self._spawn()
        finally:
            self._starting -= 1
        if self._closed:
            await self._stop(worker, kill=True)
        else:
            self._idle.put_nowait(worker)

    async def _acquire(self) -> _Worker:
        while True:
            if self._idle.empty() and len(self._workers) + self._starting < self.jobs:
                self._starting += 1
                try:
                    worker = await self._spawn()
                finally:
                    self._starting -= 1
            else:
                worker = await self._idle.get()
            if worker.proc.returncode is None:
                return worker
            self._forget(worker)

    def _forget(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)

    async def call(self, op: str, args: dict[str, Any], *, label: str = "") -> dict[str, Any]:
        """Run ``op`` in a worker and return its result; raises the worker's error."""
        if self._closed:
            raise RenderError("the render worker pool is closed")
        worker = await self._acquire()
        worker.busy = True
        worker.label = label or op
        try:
            reply = await self._exchange(worker, op, args)
        except asyncio.CancelledError:
            await self._stop(worker, kill=True)
            raise
        except WorkerCrashed:
            await self._stop(worker, kill=True)
            raise
        worker.busy = False
        worker.served += 1
        self._idle.put_nowait(worker)
        if reply.get("ok"):
            result: dict[str, Any] = reply["result"]
            return result
        raise self._error(reply.get("error") or {}, label or op)

    async def _exchange(self, worker: _Worker, op: str, args: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = worker.proc.stdin, worker.proc.stdout
        assert stdin is not None and stdout is not None
        data = orjson.dumps({"id": worker.served, "op": op, "args": args})
        try:
            stdin.write(_HEADER.pack(len(data)) + data)
            await stdin.drain()
            header = await stdout.readexactly(_HEADER.size)
            (size,) = _HEADER.unpack(header)
            body = await stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError) as exc:
            code = await self._wait_exit(worker)
            raise WorkerCrashed(
                f"render worker {worker.pid} exited ({_describe_exit(code)}) during "
                f"{worker.label}{self._log_tail(worker)}"
            ) from exc
        reply: dict[str, Any] = orjson.loads(body)
        return reply

    async def _wait_exit(self, worker: _Worker) -> int | None:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(worker.proc.wait(), 5)
        return worker.proc.returncode

    def _log_tail(self, worker: _Worker) -> str:
        if worker.stderr_path is None or not worker.stderr_path.exists():
            return ""
        lines = worker.stderr_path.read_text(errors="replace").strip().splitlines()
        return f"; its last words: {lines[-1][:300]}" if lines else ""

    def _error(self, error: dict[str, Any], what: str) -> VgkitError:
        kind = error.get("type", "")
        message = str(error.get("message", ""))
        if kind in _ERRORS:
            return _ERRORS[kind](message)
        if "errno" in error:
            return RenderError(
                os_message(error.get("errno"), error.get("filename"), f"{what} failed: {message}")
            )
        where = f" (worker log in {self.log_dir})" if self.log_dir else ""
        return RenderError(f"{what} failed in a render worker: {kind}: {message}{where}")

    async def _stop(self, worker: _Worker, *, kill: bool) -> None:
        self._forget(worker)
        proc = worker.proc
        if proc.returncode is None:
            if kill:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGKILL)
            elif proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        else:
            await proc.wait()

    async def shrink(self, keep: int) -> None:
        """Stop idle workers until at most ``keep`` remain (the tail of a render needs few).

        An idle worker holds no request, so it is killed rather than asked to
        finish: one still importing would otherwise keep the caller waiting.
        """
        while len(self._workers) > keep and not self._idle.empty():
            worker = self._idle.get_nowait()
            await self._stop(worker, kill=True)

    async def aclose(self, *, kill: bool = False) -> None:
        """Stop every worker: politely (close stdin, wait), or ``kill`` them."""
        self._closed = True
        if self._prestarts:
            await asyncio.gather(*self._prestarts, return_exceptions=True)
        workers = list(self._workers)
        await asyncio.gather(*(self._stop(w, kill=kill or w.busy) for w in workers))
        while not self._idle.empty():
            self._idle.get_nowait()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"
