"""Zstandard dictionaries per content kind, shipped with vgkit: their ids and loading them.

Small JSON values (a storyboard is a few KiB) compress poorly on their own:
most of their bytes are field names and recurring phrases that a compressor
only learns after it has seen them. A dictionary trained on typical values
carries that knowledge, so zstd with a dictionary stores a storyboard in a
fraction of zlib's bytes.

The dictionaries are package data (``vgkit/cache/zdict/{kind}.zdict``); a
missing or mismatched one is an error, never a silent fallback. They are
trained outside the package, by ``scripts/train_dictionaries.py``, which runs
the real pipeline graph through the orchestrator (the cache knows nothing of
agents). Dictionary ids are fixed per kind and :data:`GENERATION`: retraining
with different inputs must bump ``GENERATION`` so old entries (whose header
names the old id) read as misses instead of garbage.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

import zstandard

from vgkit.errors import CacheError

__all__ = [
    "DICTIONARY_DIR",
    "DICTIONARY_KINDS",
    "GENERATION",
    "dictionary_id",
    "shipped_dictionaries",
]

#: Bump when the training inputs or parameters change (changes every id).
GENERATION = 3

#: Content kind -> (slot in the id, dictionary size in bytes).
DICTIONARY_KINDS: Mapping[str, tuple[int, int]] = {
    "topic": (1, 8192),
    "hooks": (2, 16384),
    "script": (3, 65536),
    "timing": (4, 32768),
    "storyboard": (5, 65536),
    "cta": (6, 8192),
    "result": (7, 112640),
    "quality": (8, 4096),
}

#: Where the dictionaries live inside the package (``vgkit/cache/zdict/{kind}.zdict``).
DICTIONARY_DIR = "zdict"


def dictionary_id(kind: str) -> int:
    """The fixed dictionary id of ``kind`` for this :data:`GENERATION`."""
    slot, _ = DICTIONARY_KINDS[kind]
    return 0x5647_0000 + GENERATION * 256 + slot


@cache
def shipped_dictionaries() -> Mapping[str, zstandard.ZstdCompressionDict]:
    """The packaged dictionaries by content kind (loaded once per process)."""
    root = resources.files("vgkit.cache").joinpath(DICTIONARY_DIR)
    out: dict[str, zstandard.ZstdCompressionDict] = {}
    for kind in DICTIONARY_KINDS:
        path = root.joinpath(f"{kind}.zdict")
        if not path.is_file():
            raise CacheError(
                f"the shipped dictionary {kind}.zdict is missing from {root}: this vgkit "
                "install is incomplete; reinstall it (pip install --force-reinstall vgkit)"
            )
        dictionary = zstandard.ZstdCompressionDict(path.read_bytes())
        if dictionary.dict_id() != dictionary_id(kind):
            raise CacheError(
                f"shipped dictionary {kind}.zdict has id {dictionary.dict_id()}, expected "
                f"{dictionary_id(kind)}; retrain with python scripts/train_dictionaries.py"
            )
        out[kind] = dictionary
    return out
