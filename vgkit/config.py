"""Settings, and the one place that reads ``VGKIT_*`` environment variables.

Every other module takes its configuration as arguments; CLI commands and the
public helpers fill unset arguments from :func:`settings`. Variables:

- ``VGKIT_REDIS_URL``: Redis for the shared cache tier and the job queue (unset: local only).
- ``VGKIT_CACHE_DIR``: directory of the local diskcache tier (``$XDG_CACHE_HOME/vgkit``).
- ``VGKIT_CACHE_SIZE``: size limit of the local tier in bytes (1 GiB).
- ``VGKIT_KEY_PREFIX``: prefix of every vgkit key in Redis (``vgkit:``).
- ``VGKIT_CACHE_POLICY``: JSON file of cache TTL overrides (unset: the built-in matrix).
- ``VGKIT_AGENTS``: file mapping agent names to A2A endpoints (unset: embedded agents).
- ``VGKIT_AUTH_TOKEN``: bearer token agent servers require and clients send (unset: no auth).
- ``VGKIT_HMAC_SECRET``: shared secret for HMAC-SHA256 body signatures (unset).
- ``VGKIT_CA_FILE``: PEM file of extra CAs clients trust for https agents (unset:
  the system's only); a self-signed server certificate is its own CA file.
- ``VGKIT_LLM_BASE_URL``, ``VGKIT_LLM_MODEL``, ``VGKIT_LLM_API_KEY``: the llm backend.
- ``VGKIT_REPORTS_DIR``: where ``vgkit report`` writes (``reports``).
- ``VGKIT_NOTEBOOKS_DIR``: the notebooks ``vgkit report`` runs (the project's ``notebooks/``).
- ``VGKIT_DATA_DIR``: workloads such as ``topics.csv`` (the project's ``data/``).
- ``VGKIT_LOG_LEVEL``: level of the ``vgkit`` logger (``WARNING``).
- ``VGKIT_HOST_NAME``: this host's name in trace spans (the machine's host name; the
  network lab sets it to the lab host's name).
- ``CI``: ``true`` in continuous integration; parts that need something this machine
  may lack (the network lab's root, iproute2, nftables) must run there, not skip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from vgkit.errors import ConfigError

__all__ = ["DEFAULT_CACHE_SIZE", "DEFAULT_KEY_PREFIX", "Settings", "settings"]

DEFAULT_CACHE_SIZE = 1 << 30
DEFAULT_KEY_PREFIX = "vgkit:"
#: The source tree vgkit runs from (an editable install); notebooks/ and data/ live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vgkit"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Configuration read from the environment (see the module docstring)."""

    redis_url: str | None = None
    cache_dir: Path = Path.home() / ".cache" / "vgkit"
    cache_size: int = DEFAULT_CACHE_SIZE
    key_prefix: str = DEFAULT_KEY_PREFIX
    cache_policy: Path | None = None
    agents_file: Path | None = None
    auth_token: str | None = None
    hmac_secret: str | None = None
    ca_file: str | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    reports_dir: Path = Path("reports")
    notebooks_dir: Path = PROJECT_ROOT / "notebooks"
    data_dir: Path = PROJECT_ROOT / "data"
    log_level: str = "WARNING"
    host_name: str | None = None
    ci: bool = False

    def as_dict(self) -> dict[str, object]:
        """Settings with secrets masked, for reports and ``--debug`` output."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in {"auth_token", "hmac_secret", "llm_api_key"} and value:
                value = "***"
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, not {value}")
    return value


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``env`` (default: the process environment)."""
    e = os.environ if env is None else env

    def text(name: str) -> str | None:
        value = e.get(name, "").strip()
        return value or None

    redis_url = text("VGKIT_REDIS_URL")
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"VGKIT_REDIS_URL must start with redis://, rediss:// or unix://, not {redis_url!r}"
        )
    agents = text("VGKIT_AGENTS")
    cache_dir = text("VGKIT_CACHE_DIR")
    cache_policy = text("VGKIT_CACHE_POLICY")
    return Settings(
        redis_url=redis_url,
        cache_dir=Path(cache_dir) if cache_dir else _default_cache_dir(e),
        cache_size=_int(e, "VGKIT_CACHE_SIZE", DEFAULT_CACHE_SIZE),
        key_prefix=text("VGKIT_KEY_PREFIX") or DEFAULT_KEY_PREFIX,
        cache_policy=Path(cache_policy) if cache_policy else None,
        agents_file=Path(agents) if agents else None,
        auth_token=text("VGKIT_AUTH_TOKEN"),
        hmac_secret=text("VGKIT_HMAC_SECRET"),
        ca_file=text("VGKIT_CA_FILE"),
        llm_base_url=text("VGKIT_LLM_BASE_URL"),
        llm_model=text("VGKIT_LLM_MODEL"),
        llm_api_key=text("VGKIT_LLM_API_KEY"),
        reports_dir=Path(text("VGKIT_REPORTS_DIR") or "reports"),
        notebooks_dir=Path(text("VGKIT_NOTEBOOKS_DIR") or PROJECT_ROOT / "notebooks"),
        data_dir=Path(text("VGKIT_DATA_DIR") or PROJECT_ROOT / "data"),
        log_level=(text("VGKIT_LOG_LEVEL") or "WARNING").upper(),
        host_name=text("VGKIT_HOST_NAME"),
        ci=(text("CI") or "").lower() in {"1", "true", "yes"},
    )
