"""The parent process of ``vgkit serve --workers N``: start, restart and stop the workers.

The parent binds the listening sockets once and keeps them; every worker
inherits them and serves the same ports (the kernel hands each connection to
one of them). A worker that dies while the server is meant to run (a crash,
the OOM killer, a stray SIGKILL) is started again, so N workers keep serving:
after ``backoff`` seconds, doubling for every further failure of the same slot
up to ``max_backoff``. A worker that stayed up ``stable_after`` seconds starts
its slot's count afresh; a slot that fails ``max_failures`` times in a row
without ever staying up (a worker that cannot start: a bad setting, a missing
model endpoint) makes the parent stop the others and exit 1, rather than
restart a broken worker forever. Every exit and restart is one line on stderr.

SIGINT or SIGTERM stops restarting, relays SIGTERM to every worker (each
stops gracefully within its shutdown timeout) and kills whoever is still
running ``shutdown_timeout + 5`` seconds later. Stopped that way the parent
exits 0.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_RESTART", "RestartPolicy", "Supervisor"]

#: How often the parent looks at its workers (seconds).
POLL_INTERVAL = 0.1


@dataclass(frozen=True, kw_only=True, slots=True)
class RestartPolicy:
    """When the supervisor starts a dead worker again (see the module docstring)."""

    backoff: float = 0.5
    """Seconds before the first restart of a slot."""
    max_backoff: float = 30.0
    stable_after: float = 10.0
    """A worker up this long resets its slot's count of failures."""
    max_failures: int = 5
    """Consecutive failures of one slot before the supervisor gives up (exit 1)."""

    def delay(self, failures: int) -> float:
        return float(min(self.max_backoff, self.backoff * 2 ** max(0, failures - 1)))


DEFAULT_RESTART = RestartPolicy()


@dataclass
class _Slot:
    number: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Runs ``workers`` copies of ``command`` that inherit ``fds``, until stopped."""

    def __init__(
        self,
        command: Sequence[str],
        fds: Sequence[int],
        workers: int,
        *,
        policy: RestartPolicy = DEFAULT_RESTART,
        shutdown_timeout: float = 10.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.command = list(command)
        self.fds = tuple(fds)
        self.policy = policy
        self.shutdown_timeout = shutdown_timeout
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.slots = [_Slot(n + 1) for n in range(workers)]
        self.restarts = 0
        self._signal = 0
        self._gave_up = False

    @property
    def pids(self) -> list[int]:
        """The pids of the workers running now."""
        return [s.proc.pid for s in self.slots if s.proc is not None and s.proc.poll() is None]

    def _spawn(self, slot: _Slot) -> None:
        slot.proc = subprocess.Popen(self.command, pass_fds=self.fds, stdin=subprocess.DEVNULL)
        slot.started = time.monotonic()
        slot.restart_at = None

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop restarting and ask every worker to stop (idempotent)."""
        if self._signal:
            return
        self._signal = signum
        for slot in self.slots:
            slot.restart_at = None
            if slot.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    slot.proc.send_signal(signal.SIGTERM)
        # Workers stop within their shutdown timeout; whoever hangs is killed.
        watchdog = threading.Timer(self.shutdown_timeout + 5, self._kill_stragglers)
        watchdog.daemon = True
        watchdog.start()

    def _kill_stragglers(self) -> None:
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.kill()

    def _reap(self, slot: _Slot, now: float) -> None:
        assert slot.proc is not None
        code, pid = slot.proc.returncode, slot.proc.pid
        slot.proc = None
        if self._signal:
            return
        lived = now - slot.started
        slot.failures = 1 if lived >= self.policy.stable_after else slot.failures + 1
        how = f"worker {slot.number} (pid {pid}) exited with status {code} after {lived:.1f} s"
        if slot.failures > self.policy.max_failures:
            self.log(
                f"vgkit serve: {how}, {slot.failures} failures in a row; giving up "
                "(run with --workers 1 to see why it cannot start)"
            )
            self._gave_up = True
            self.stop()
            return
        delay = self.policy.delay(slot.failures)
        self.log(f"vgkit serve: {how}; restarting it in {delay:g} s")
        slot.restart_at = now + delay

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Supervise until stopped; returns the exit status (0 stopped, 1 gave up)."""
        handlers = {s: signal.signal(s, lambda n, _f: self.stop(n))
                    for s in (signal.SIGINT, signal.SIGTERM)}  # fmt: skip
        try:
            for slot in self.slots:
                self._spawn(slot)
            if on_ready:
                on_ready()
            while True:
                now = time.monotonic()
                for slot in self.slots:
                    if slot.proc is not None and slot.proc.poll() is not None:
                        self._reap(slot, now)
                    if slot.proc is None and slot.restart_at is not None and slot.restart_at <= now:
                        self._spawn(slot)
                        self.restarts += 1
                if self._signal and all(s.proc is None for s in self.slots):
                    break
                time.sleep(POLL_INTERVAL)
        finally:
            for s, handler in handlers.items():
                signal.signal(s, handler)
            self._kill_stragglers()
        return 1 if self._gave_up else 0
