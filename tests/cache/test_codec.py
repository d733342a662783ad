"""The codec: JSON behind a one-byte header; corrupt bytes never decode silently."""

from __future__ import annotations

import struct
import zlib

import orjson
import pytest

from vgkit.cache.codec import HEADER_SIZE, Codec, CodecConfig, CorruptEntry, is_entry
from vgkit.cache.dictionaries import dictionary_id, shipped_dictionaries
from vgkit.errors import CacheError

PICKLED = (
    b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04text\x94"
    b"\x8c\x05hello\x94\x8c\x01n\x94K\x03u."
)
VALUE = {"scenes": [{"index": i, "title": f"Scene {i}", "mood": "calm"} for i in range(40)]}


@pytest.mark.parametrize(
    ("compression", "kind", "codec_nibble"),
    [
        ("none", "storyboard", 0),
        ("zlib", "storyboard", 1),
        ("zstd", "x", 2),
        ("auto", "storyboard", 3),
        ("auto", "unknown", 2),
    ],
)
def test_round_trip_names_the_codec_in_the_header(compression, kind, codec_nibble) -> None:
    codec = Codec(CodecConfig(compression=compression))
    data, raw = codec.encode(VALUE, kind=kind, expires_at=1234.5, cost=2.25)
    assert data[0] == 0xA0 | codec_nibble and is_entry(data)
    assert raw == len(orjson.dumps(VALUE))
    entry = codec.decode(data)
    assert entry.value == VALUE and entry.expires_at == 1234.5 and entry.cost == 2.25
    if codec_nibble == 3:
        assert struct.unpack(">I", data[1:5])[0] == dictionary_id("storyboard")


def test_zlib_is_level_6_above_one_kib_and_raw_below() -> None:
    codec = Codec(CodecConfig(compression="zlib"))
    big, _ = codec.encode(VALUE)
    assert big[HEADER_SIZE:] == zlib.compress(orjson.dumps(VALUE), 6)
    small, _ = codec.encode({"a": 1})
    assert small[0] == 0xA0 and small[HEADER_SIZE:] == b'{"a":1}'


async def test_the_dictionary_beats_zlib_on_storyboards_of_an_unseen_topic() -> None:
    from scripts.train_dictionaries import training_samples

    samples = (await training_samples(("Knitting a scarf from scratch",)))["storyboard"]
    values = [orjson.loads(s) for s in samples]
    zlib_bytes = sum(len(zlib.compress(s, 6)) for s in samples)
    dict_bytes = sum(len(Codec().encode(v, kind="storyboard")[0]) for v in values)
    assert dict_bytes < 0.6 * zlib_bytes


def _corruptions(good: bytes) -> dict[str, bytes]:
    return {
        "empty": b"",
        "garbage": b"\x13\x37" * 40,
        # What pickle.dumps({"text": "hello", "n": 3}, protocol=4) writes: bytes another
        # library may leave under a vgkit key. Spelled out so the suite never imports pickle.
        "pickle": PICKLED,
        "unknown header": bytes([0xA7]) + good[1:],
        "truncated": good[: len(good) // 2],
        "flipped payload": good[:HEADER_SIZE] + bytes(b ^ 0xFF for b in good[HEADER_SIZE:]),
        "unknown dictionary": good[:1] + struct.pack(">I", 99) + good[5:],
    }


@pytest.mark.parametrize("name", list(_corruptions(b"x" * 64)))
def test_corrupt_bytes_raise_corrupt_entry(name: str) -> None:
    codec = Codec()
    good, _ = codec.encode(VALUE, kind="storyboard")
    with pytest.raises(CorruptEntry):
        codec.decode(_corruptions(good)[name])


def test_bad_options_and_unserialisable_values_are_cache_errors() -> None:
    with pytest.raises(CacheError, match="unknown compression 'lz4'"):
        CodecConfig(compression="lz4")  # type: ignore[arg-type]
    with pytest.raises(CacheError, match="JSON-serialisable"):
        Codec().encode({"x": object()})


def test_shipped_dictionaries_have_their_fixed_ids() -> None:
    shipped = shipped_dictionaries()
    assert {"script", "storyboard", "result"} <= set(shipped)
    for kind, dictionary in shipped.items():
        assert dictionary.dict_id() == dictionary_id(kind)


async def test_training_is_reproducible_for_a_kind() -> None:
    from scripts.train_dictionaries import train_dictionaries, training_samples

    samples = await training_samples()
    retrained = train_dictionaries({"cta": samples["cta"]})["cta"]
    assert retrained.as_bytes() == shipped_dictionaries()["cta"].as_bytes()
