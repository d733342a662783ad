"""Local pictures and clips for shots (``--assets DIR``), matched by tag or file name.

Every image (``.png .jpg .jpeg .webp .bmp``) and video (``.mp4 .mov .mkv .webm``)
in the directory is an asset. Its tags are the words of its file name
(``solar-panel_roof.jpg``: solar, panel, roof) plus any listed for it in an
optional ``tags.json`` (``{"roof.jpg": ["sunlight", "house"]}``). A shot takes
the asset sharing the most words with its description, overlay text and type
(a word matches when one is a prefix of the other, four letters at least);
ties go to the asset used least so far, then by name. Shots with no match keep
their procedural picture.

Every asset is opened and decoded once before rendering starts: an unreadable
file is an :class:`~vgkit.errors.AssetError` naming it, raised before any
expensive work.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from vgkit.errors import AssetError

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "Asset", "load_assets", "match_assets"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".m4v"})
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Asset:
    """One usable asset file."""

    path: Path
    kind: str
    tags: frozenset[str]
    sha256: str

    def spec(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "sha256": self.sha256}


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3}


def _check(path: Path, kind: str) -> None:
    try:
        if kind == "image":
            from PIL import Image

            with Image.open(path) as image:
                image.load()
        else:
            import av

            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise AssetError(f"asset {path} has no video stream; remove it from the assets")
                next(container.decode(video=0))
    except AssetError:
        raise
    except Exception as exc:
        raise AssetError(f"cannot read asset {path}: {exc}; fix or remove the file") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_assets(directory: Path) -> list[Asset]:
    """Every readable asset in ``directory`` (AssetError for the first unreadable one)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise AssetError(f"assets directory {directory} does not exist or is not a directory")
    extra: dict[str, list[str]] = {}
    tags_file = directory / "tags.json"
    if tags_file.exists():
        try:
            raw = orjson.loads(tags_file.read_bytes())
            extra = {str(k): [str(t) for t in v] for k, v in raw.items()}
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            raise AssetError(
                f"{tags_file} is not a JSON object of file name -> list of tags: {exc}"
            ) from exc
    assets = []
    for path in sorted(directory.iterdir()):
        suffix = path.suffix.lower()
        kind = (
            "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None
        )
        if kind is None or not path.is_file():
            continue
        _check(path, kind)
        tags = _words(path.stem) | {w for t in extra.get(path.name, []) for w in _words(t)}
        assets.append(Asset(path.resolve(), kind, frozenset(tags), _sha256(path)))
    return assets


def _score(tags: frozenset[str], words: set[str]) -> int:
    score = 0
    for tag in tags:
        for word in words:
            if tag == word or (
                min(len(tag), len(word)) >= 4 and (tag.startswith(word) or word.startswith(tag))
            ):
                score += 1
                break
    return score


def match_assets(assets: Sequence[Asset], shots: Sequence[str]) -> list[Asset | None]:
    """For each shot's text, the asset it shows (None: the procedural picture)."""
    used: dict[Path, int] = {}
    out: list[Asset | None] = []
    for text in shots:
        words = _words(text)
        best: tuple[int, int, str] | None = None
        choice = None
        for asset in assets:
            score = _score(asset.tags, words)
            if score == 0:
                continue
            rank = (-score, used.get(asset.path, 0), asset.path.name)
            if best is None or rank < best:
                best, choice = rank, asset
        if choice is not None:
            used[choice.path] = used.get(choice.path, 0) + 1
        out.append(choice)
    return out
