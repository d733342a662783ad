"""The clip cache: rendered pieces kept by the hash of everything that made them.

A key is the SHA-256 of the canonical JSON of a piece's complete
specification, exactly what its worker receives (for a shot: the shot's plan
fields, the look, frame range, size and encoder settings, the caption cues
and word times that fall on it, the content hash of any asset it shows) plus
:data:`RENDERER_VERSION` and the PyAV version (the encoder inside it decides
the bytes). Change any of it and the key changes; change nothing and the
piece is found again, in this process or any other sharing the directory.

An entry is a directory of files (``clip.mp4`` and ``thumb.png``; ``speech.pcm``;
``audio.m4a``) with a ``meta.json`` that records each file's size and SHA-256
and any JSON the caller attached (word times, frame counts). Entries are
written to a temporary directory and renamed into place, so a reader never
sees half an entry. :meth:`ClipCache.get` checks every file against its
recorded hash: a corrupt or truncated entry is a miss, deleted, and rendered
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["RENDERER_VERSION", "ClipCache", "ClipEntry", "spec_key"]

#: Bump when a change to drawing or encoding changes pixels for the same spec.
RENDERER_VERSION = "2"


def _library_version() -> str:
    try:
        import av

        return str(av.__version__)
    except ImportError:  # pragma: no cover
        return "none"


def spec_key(kind: str, spec: dict[str, Any]) -> str:
    """The cache key of a piece: a hash of its kind, its spec and the renderer's version."""
    data = orjson.dumps(
        {"kind": kind, "renderer": RENDERER_VERSION, "av": _library_version(), "spec": spec},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ClipEntry:
    """A cached piece: its files by name and the JSON stored with them."""

    key: str
    files: dict[str, Path]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())


class ClipCache:
    """A directory of cache entries (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def scratch(self) -> Path:
        """A new private directory on the cache's file system (so :meth:`put` can rename)."""
        base = self.directory / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="render-", dir=base))

    def contains(self, key: str) -> bool:
        """Whether an entry for ``key`` is present (not verified: :meth:`get` does that)."""
        return (self._path(key) / "meta.json").exists()

    def get(self, key: str) -> ClipEntry | None:
        """The entry for ``key`` if present and intact, else None (a corrupt one is removed)."""
        path = self._path(key)
        try:
            meta = orjson.loads((path / "meta.json").read_bytes())
            files = {}
            for name, info in meta["files"].items():
                file = path / name
                if file.stat().st_size != info["size"] or file_sha256(file) != info["sha256"]:
                    raise ValueError(f"{file} does not match its recorded hash")
                files[name] = file
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            self.corrupt += 1
            self.misses += 1
            self.remove(key)
            return None
        self.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path / "meta.json")  # the entry was used: newest for any pruning
        return ClipEntry(key, files, meta.get("extra", {}))

    def put(
        self, key: str, files: dict[str, Path], extra: dict[str, Any] | None = None
    ) -> ClipEntry:
        """Move ``files`` into the entry for ``key`` (renamed when on the same file system)."""
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".{key}.{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            recorded = {}
            for name, src in files.items():
                dst = staging / name
                try:
                    Path(src).replace(dst)
                except OSError:
                    shutil.copyfile(src, dst)
                recorded[name] = {"size": dst.stat().st_size, "sha256": file_sha256(dst)}
            (staging / "meta.json").write_bytes(
                orjson.dumps({"key": key, "files": recorded, "extra": extra or {}})
            )
            if final.exists():
                self.remove(key)
            try:
                staging.replace(final)
            except OSError:
                # Another process stored the same key first: theirs is as good as ours.
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ClipEntry(key, {name: final / name for name in files}, extra or {})

    def remove(self, key: str) -> None:
        shutil.rmtree(self._path(key), ignore_errors=True)

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        count = 0
        if self.directory.exists():
            for shard in self.directory.iterdir():
                if shard.is_dir() and len(shard.name) == 2:
                    count += sum(1 for _ in shard.iterdir())
                    shutil.rmtree(shard, ignore_errors=True)
        return count
