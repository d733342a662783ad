"""The built wheel works on its own: installed (not editable) in a fresh venv, it
generates through the cache and compresses with the zstd dictionaries it ships.

The venv reuses this environment's third-party packages (a ``.pth`` line adds
their directory, whose own ``.pth`` files, the editable vgkit among them, are
not run), so the test takes seconds; vgkit itself comes only from the wheel,
which the child proves by the path it imported vgkit and the dictionaries from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import vgkit
from vgkit.cache.dictionaries import DICTIONARY_KINDS, dictionary_id

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(240)]

SOURCE = Path(vgkit.__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import asyncio, json, struct, sys
    from importlib import resources

    import redis
    import vgkit
    from vgkit.cache.dictionaries import shipped_dictionaries
    from vgkit.plan_cache import CacheIntegration

    async def main():
        async with CacheIntegration.from_settings() as cache:
            result = await vgkit.agenerate(
                "Keeping bees on a city roof", platforms=["tiktok", "youtube"], cache=cache
            )
        return result.ok

    ok = asyncio.run(main())
    prefix, url = sys.argv[1], sys.argv[2]
    client = redis.Redis.from_url(url)
    headers = {}
    for key in client.scan_iter(match=prefix + "v1:*", count=1000):
        data = client.get(key)
        kind = key.decode()[len(prefix):].split(":")[1]
        headers.setdefault(kind, []).append([data[0], struct.unpack(">I", data[1:5])[0]])
    print(json.dumps({
        "ok": ok,
        "vgkit": vgkit.__file__,
        "zdict": str(resources.files("vgkit.cache").joinpath("zdict")),
        "dictionaries": sorted(shipped_dictionaries()),
        "headers": headers,
        "path": sys.path,
    }))
    """
)


def _run(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=180, cwd=cwd, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_the_installed_wheel_generates_with_its_shipped_dictionaries(
    tmp_path: Path, redis_url: str, key_prefix: str
) -> None:
    # The wheel, built from a copy of the sources (the checkout is left alone).
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(
        SOURCE / "vgkit", src / "vgkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(SOURCE / name, src / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", tmp_path / "dist", src)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("vgkit-*.whl")

    # A fresh venv whose only vgkit is the wheel, installed for real (not editable).
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    (site / "vgkit-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", wheel)  # fmt: skip

    # A generation through the cache there, from a folder that is not the checkout.
    work = tmp_path / "work"
    work.mkdir()
    (work / "child.py").write_text(CHILD)
    env = {
        **os.environ,
        "VGKIT_REDIS_URL": redis_url,
        "VGKIT_KEY_PREFIX": key_prefix,
        "VGKIT_CACHE_DIR": str(tmp_path / "l1"),
    }
    out = _run(python, "-I", "child.py", key_prefix, redis_url, cwd=work, env=env).stdout
    seen = json.loads(out.strip().splitlines()[-1])

    assert seen["ok"]
    installed = Path(seen["vgkit"]).resolve()
    assert installed.is_relative_to(site.resolve()), seen["vgkit"]
    assert not installed.is_relative_to(SOURCE), seen["vgkit"]
    assert Path(seen["zdict"]).resolve().is_relative_to(site.resolve())
    assert seen["dictionaries"] == sorted(DICTIONARY_KINDS)
    # Redis holds the shared encoding: zstd with the kind's shipped dictionary (codec 3,
    # header 0xA3, then the dictionary's id) for every kind that has one.
    headers = seen["headers"]
    for kind in ("topic", "hooks", "script", "timing", "storyboard", "cta", "quality"):
        assert [0xA3, dictionary_id(kind)] in headers[kind], (kind, headers.get(kind))
