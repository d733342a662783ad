"""Zstandard dictionaries per content kind, trained deterministically and shipped.

Small JSON values (a storyboard is a few KiB) compress poorly on their own:
most of their bytes are field names and recurring phrases that a compressor
only learns after it has seen them. A dictionary trained on typical values
carries that knowledge, so zstd with a dictionary stores a storyboard in a
fraction of zlib's bytes.

The dictionaries are package data (``vgkit/cache/zdict/{kind}.zdict``). They are
trained from the artifacts the template backend generates for
:data:`TRAINING_TOPICS` (every style, every platform, seed 0) with fixed COVER
parameters on one thread, so training is reproducible:
``python -m vgkit.cache.dictionaries`` rewrites the same bytes (a test checks
one kind). Dictionary ids are fixed per kind and :data:`GENERATION`: retraining
with different inputs must bump ``GENERATION`` so old entries (whose header
names the old id) read as misses instead of garbage.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

import orjson
import zstandard

from vgkit.errors import CacheError

__all__ = [
    "DICTIONARY_KINDS",
    "GENERATION",
    "TRAINING_TOPICS",
    "dictionary_id",
    "shipped_dictionaries",
    "train_dictionaries",
    "training_samples",
]

#: Bump when the training inputs or parameters change (changes every id).
GENERATION = 1

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

#: Topics the dictionaries are trained on (the benchmark measures other topics).
TRAINING_TOPICS: tuple[str, ...] = (
    "How solar panels turn sunlight into electricity",
    "Sourdough bread for beginners",
    "Why cats purr",
    "Budgeting on a student income",
    "The history of the printing press",
    "Five stretches for desk workers",
    "How vaccines train the immune system",
    "Growing tomatoes on a balcony",
    "What black holes are made of",
    "Learning to juggle in a weekend",
    "The science of a good night's sleep",
    "Making cold brew coffee at home",
    "How electric cars charge",
    "Beginner's guide to bouldering",
    "Why the sky is blue",
    "Saving energy in winter",
    "How bees make honey",
    "Writing a cover letter that gets read",
    "The basics of machine learning",
    "Cooking rice perfectly every time",
    "How tides work",
    "Training a puppy to sit",
    "Photographing the night sky with a phone",
    "Reducing food waste in the kitchen",
    "How the stock market works",
    "Learning a language with spaced repetition",
    "The life cycle of a star",
    "Repairing a bike puncture",
    "Why we dream",
    "Starting a podcast on a budget",
    "How recycling plants sort plastic",
    "Brewing green tea properly",
)

_MODULE_DIR = "zdict"
# COVER parameters fixed (no parameter search) so training is deterministic.
_COVER_K = 2048
_COVER_D = 6


def dictionary_id(kind: str) -> int:
    """The fixed dictionary id of ``kind`` for this :data:`GENERATION`."""
    slot, _ = DICTIONARY_KINDS[kind]
    return 0x5647_0000 + GENERATION * 256 + slot


@cache
def shipped_dictionaries() -> Mapping[str, zstandard.ZstdCompressionDict]:
    """The packaged dictionaries by content kind (loaded once per process)."""
    root = resources.files("vgkit.cache").joinpath(_MODULE_DIR)
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
                f"{dictionary_id(kind)}; retrain with python -m vgkit.cache.dictionaries"
            )
        out[kind] = dictionary
    return out


async def training_samples(
    topics: tuple[str, ...] = TRAINING_TOPICS,
) -> dict[str, list[bytes]]:
    """The JSON of every artifact the template backend makes for ``topics``, by kind."""
    from vgkit.agents import SPECS, AgentCall, TemplateBackend
    from vgkit.models import Style, VideoRequest
    from vgkit.pipeline import build_graph, narrow

    backend = TemplateBackend()
    samples: dict[str, list[bytes]] = {kind: [] for kind in DICTIONARY_KINDS}
    for topic in topics:
        for style in Style:
            request = VideoRequest(topic=topic, style=style, seed=0)
            dag, nodes = build_graph(request)
            done: dict[str, object] = {}
            for node in dag.topological_order():
                spec, platform = nodes[node]
                inputs = {nodes[p][0].step: done[p] for p in dag.parents(node)}
                call = AgentCall(spec, narrow(request, spec, platform), platform, inputs)  # type: ignore[arg-type]
                artifact = await backend.run(call)
                done[node] = artifact
                kind = SPECS[spec.name].content_kind
                if kind in samples:
                    samples[kind].append(orjson.dumps(artifact.model_dump(mode="json")))
    return samples


#: A training parameter, fixed with the shipped dictionaries (values are compressed
#: at the codec's level, zstd's default 3, whatever level the dictionary was tuned for).
_TRAINING_LEVEL = 6


def train_dictionaries(
    samples: Mapping[str, list[bytes]],
) -> dict[str, zstandard.ZstdCompressionDict]:
    """One dictionary per kind, trained with fixed parameters on one thread."""
    out = {}
    for kind, values in samples.items():
        _, size = DICTIONARY_KINDS[kind]
        out[kind] = zstandard.train_dictionary(
            size,
            list[bytes | bytearray | memoryview](values),
            k=_COVER_K,
            d=_COVER_D,
            dict_id=dictionary_id(kind),
            threads=1,
            notifications=0,
            level=_TRAINING_LEVEL,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Retrain every dictionary and write it into the package (or a given folder)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(__file__).with_name(_MODULE_DIR)
    target.mkdir(parents=True, exist_ok=True)
    trained = train_dictionaries(asyncio.run(training_samples()))
    for kind, dictionary in trained.items():
        data = dictionary.as_bytes()
        (target / f"{kind}.zdict").write_bytes(data)
        print(f"{kind:<12} id {dictionary.dict_id()} {len(data):>6} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
