"""Entry encoding: JSON (orjson) behind a one-byte header naming format and codec.

Layout of a stored entry (big-endian)::

    byte 0      header: 0xA0 | codec   (0xA = vgkit JSON entry, format 1)
                codec 0 raw, 1 zlib, 2 zstd, 3 zstd with a dictionary
    bytes 1-4   dictionary id (0 unless codec 3)
    bytes 5-12  expiry, epoch seconds as a double (0: never)
    bytes 13-20 compute cost in seconds (what a hit saves)
    bytes 21-24 payload length
    bytes 25-   payload: orjson bytes, compressed by the codec

Never pickle: a pickle starts with 0x80, which is no header. Anything that does
not decode (unknown header, unknown dictionary, wrong length, bad compressed
stream, bad JSON) raises :class:`CorruptEntry`, which the layered cache turns
into a miss, a ``corrupt`` count and a delete.

With ``compression="auto"`` (the default) a content kind that has a trained
zstd dictionary uses it (see :mod:`vgkit.cache.dictionaries`) and every other
value above 1 KiB is zstd without one, both at zstd's own default level 3: on
vgkit's artifacts that compresses 3-4x faster than zlib level 6 (the original
system's codec, still available as ``compression="zlib"``) into fewer bytes,
and 3x faster than zstd level 6 for 10-20% more bytes.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import zstandard

from vgkit.cache.base import Entry
from vgkit.errors import CacheError

__all__ = [
    "DEFAULT_COMPRESS_THRESHOLD",
    "DEFAULT_DICT_THRESHOLD",
    "DEFAULT_L1_THRESHOLD",
    "DEFAULT_ZLIB_LEVEL",
    "DEFAULT_ZSTD_LEVEL",
    "Codec",
    "CodecConfig",
    "CorruptEntry",
    "is_entry",
]

DEFAULT_COMPRESS_THRESHOLD = 1024
DEFAULT_ZLIB_LEVEL = 6
DEFAULT_ZSTD_LEVEL = 3
#: A dictionary pays off on values far smaller than zlib's threshold.
DEFAULT_DICT_THRESHOLD = 64
#: L1 stores entries below this size uncompressed: a local read of a few more
#: KiB costs less than decompressing them on every hit.
DEFAULT_L1_THRESHOLD = 16384

FORMAT = 0xA0
RAW, ZLIB, ZSTD, ZSTD_DICT = 0, 1, 2, 3
_HEADER = struct.Struct(">BIddI")
HEADER_SIZE = _HEADER.size


Compression = Literal["auto", "none", "zlib", "zstd"]


class CorruptEntry(Exception):
    """Bytes that are not a valid entry (never leaves the cache)."""


def is_entry(data: bytes) -> bool:
    """Whether ``data`` starts with a vgkit entry header (what the pickle scan checks)."""
    return len(data) >= HEADER_SIZE and data[0] & 0xF0 == FORMAT and data[0] & 0x0F <= ZSTD_DICT


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecConfig:
    """How values are compressed.

    ``compression``: ``auto`` (zstd with the kind's dictionary where one exists,
    else zstd without), ``zlib``, ``zstd`` (no dictionary) or ``none``. Values whose JSON
    is shorter than ``threshold`` bytes (``dict_threshold`` when a dictionary
    applies) are stored raw. The local tier keeps entries whose JSON is shorter
    than ``l1_threshold`` uncompressed (disk is cheap there, CPU per hit is not).
    """

    compression: Compression = "auto"
    threshold: int = DEFAULT_COMPRESS_THRESHOLD
    dict_threshold: int = DEFAULT_DICT_THRESHOLD
    l1_threshold: int = DEFAULT_L1_THRESHOLD
    zlib_level: int = DEFAULT_ZLIB_LEVEL
    zstd_level: int = DEFAULT_ZSTD_LEVEL

    def __post_init__(self) -> None:
        if self.compression not in ("auto", "none", "zlib", "zstd"):
            raise CacheError(
                f"unknown compression {self.compression!r}; choose auto, none, zlib or zstd"
            )
        if min(self.threshold, self.dict_threshold, self.l1_threshold) < 0:
            raise CacheError(
                f"compression thresholds must be >= 0 bytes, not {self.threshold} "
                f"and {self.dict_threshold}"
            )
        if not 0 <= self.zlib_level <= 9:
            raise CacheError(f"zlib level must be 0-9, not {self.zlib_level}")
        if not 1 <= self.zstd_level <= 22:
            raise CacheError(f"zstd level must be 1-22, not {self.zstd_level}")


class Codec:
    """Encodes values to entries and back; thread-safe.

    ``dictionaries`` maps a content kind to a trained ``zstandard.ZstdCompressionDict``
    (default: the dictionaries shipped with vgkit). Decoding finds a dictionary by
    the id in the header, so entries written with any known dictionary decode.
    """

    def __init__(
        self,
        config: CodecConfig | None = None,
        dictionaries: Mapping[str, zstandard.ZstdCompressionDict] | None = None,
    ) -> None:
        self.config = config or CodecConfig()
        if dictionaries is None:
            from vgkit.cache.dictionaries import shipped_dictionaries

            dictionaries = shipped_dictionaries()
        self.dictionaries = dict(dictionaries)
        self._by_id = {d.dict_id(): d for d in self.dictionaries.values()}
        self._local = threading.local()

    # zstd (de)compressors are not thread-safe: one set per thread.
    def _compressor(self, dict_id: int) -> zstandard.ZstdCompressor:
        cache: dict[int, zstandard.ZstdCompressor] = self._local.__dict__.setdefault("c", {})
        comp = cache.get(dict_id)
        if comp is None:
            level = self.config.zstd_level
            if dict_id:
                comp = zstandard.ZstdCompressor(level=level, dict_data=self._by_id[dict_id])
            else:
                comp = zstandard.ZstdCompressor(level=level)
            cache[dict_id] = comp
        return comp

    def _decompressor(self, dict_id: int) -> zstandard.ZstdDecompressor:
        try:
            cache: dict[int, zstandard.ZstdDecompressor] = self._local.d
        except AttributeError:
            cache = self._local.d = {}
        dec = cache.get(dict_id)
        if dec is None:
            if dict_id:
                dictionary = self._by_id.get(dict_id)
                if dictionary is None:
                    raise CorruptEntry(f"unknown zstd dictionary id {dict_id}")
                dec = zstandard.ZstdDecompressor(dict_data=dictionary)
            else:
                dec = zstandard.ZstdDecompressor()
            cache[dict_id] = dec
        return dec

    def choose(self, kind: str, size: int) -> tuple[int, int]:
        """``(codec, dictionary id)`` for a value of ``kind`` whose JSON is ``size`` bytes."""
        mode = self.config.compression
        dictionary = self.dictionaries.get(kind) if mode == "auto" else None
        if dictionary is not None and size >= self.config.dict_threshold:
            return ZSTD_DICT, dictionary.dict_id()
        if mode == "none" or size < self.config.threshold:
            return RAW, 0
        return (ZLIB, 0) if mode == "zlib" else (ZSTD, 0)

    def encode(
        self, value: Any, *, kind: str = "", expires_at: float | None = None, cost: float = 0.0
    ) -> tuple[bytes, int]:
        """The stored bytes for ``value`` (as Redis keeps them) and the size of its JSON."""
        raw = self._dumps(value)
        return self._pack(raw, *self.choose(kind, len(raw)), expires_at, cost), len(raw)

    def encode_tiers(
        self, value: Any, *, kind: str = "", expires_at: float | None = None, cost: float = 0.0
    ) -> tuple[bytes, bytes, int]:
        """``(L1 bytes, L2 bytes, JSON size)``: L1 keeps small entries uncompressed."""
        raw = self._dumps(value)
        shared = self._pack(raw, *self.choose(kind, len(raw)), expires_at, cost)
        if shared[0] == FORMAT | RAW or len(raw) >= self.config.l1_threshold:
            return shared, shared, len(raw)
        return self._pack(raw, RAW, 0, expires_at, cost), shared, len(raw)

    def localize(self, data: bytes, entry: Entry) -> bytes:
        """An L2 entry as L1 keeps it (uncompressed when small); ``data`` must decode."""
        if data[0] == FORMAT | RAW or entry.raw_bytes >= self.config.l1_threshold:
            return data
        return self._pack(orjson.dumps(entry.value), RAW, 0, entry.expires_at, entry.cost)

    @staticmethod
    def _dumps(value: Any) -> bytes:
        try:
            return orjson.dumps(value)
        except TypeError as exc:
            raise CacheError(f"cache values must be JSON-serialisable: {exc}") from exc

    def _pack(
        self, raw: bytes, codec: int, dict_id: int, expires_at: float | None, cost: float
    ) -> bytes:
        if codec == ZLIB:
            payload = zlib.compress(raw, self.config.zlib_level)
        elif codec in (ZSTD, ZSTD_DICT):
            payload = self._compressor(dict_id).compress(raw)
        else:
            payload = raw
        return (
            _HEADER.pack(FORMAT | codec, dict_id, expires_at or 0.0, cost, len(payload)) + payload
        )

    def decode(self, data: bytes) -> Entry:
        """The entry in ``data``; raises CorruptEntry when it does not decode."""
        try:
            head, dict_id, expires_at, cost, length = _HEADER.unpack_from(data)
        except struct.error:
            raise CorruptEntry(f"entry of {len(data)} bytes is shorter than its header") from None
        codec = head & 0x0F
        if head & 0xF0 != FORMAT or codec > ZSTD_DICT:
            raise CorruptEntry(f"unknown entry header 0x{head:02x}")
        if len(data) - HEADER_SIZE != length:
            raise CorruptEntry(f"entry payload is {len(data) - HEADER_SIZE} bytes, not {length}")
        try:
            if codec == RAW:
                raw: bytes | memoryview = memoryview(data)[HEADER_SIZE:]
            elif codec == ZLIB:
                raw = zlib.decompress(memoryview(data)[HEADER_SIZE:])
            else:
                dec = self._decompressor(dict_id if codec == ZSTD_DICT else 0)
                raw = dec.decompress(memoryview(data)[HEADER_SIZE:])
            value = orjson.loads(raw)
        except (zlib.error, zstandard.ZstdError, orjson.JSONDecodeError) as exc:
            raise CorruptEntry(f"entry payload does not decode: {exc}") from exc
        return Entry(value, expires_at or None, cost, len(raw), len(data))
