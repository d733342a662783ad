"""Workloads: which request each arrival of a load test sends.

A :class:`Workload` draws topics from a Zipf distribution over a topic list
(``data/topics.csv``: the first row is the most popular topic, popularity falls
as ``1 / rank ** zipf``), one platform per request from a weighted mix, a style
from another, all from seeded generators. The same workload and seed give the
same sequence of items, and a longer sample starts with the shorter one (each
attribute has its own random stream), so a run bounded at 100 requests sends
exactly the first 100 requests of a run bounded at 1,000.

Repeated topics are what make a realistic load cache-friendly: with the default
``zipf=1.1`` over the bundled 276 topics the 10 most popular topics draw about
half of the requests.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, overload

import numpy as np

from vgkit.config import settings
from vgkit.errors import LoadTestError
from vgkit.models import Style, VideoRequest
from vgkit.platforms import Platform

__all__ = [
    "DEFAULT_PLATFORM_MIX",
    "DEFAULT_STYLE_MIX",
    "DEFAULT_ZIPF",
    "Topic",
    "WorkItem",
    "WorkSample",
    "Workload",
    "load_topics",
]

DEFAULT_ZIPF = 1.1
DEFAULT_PLATFORM_MIX: Mapping[str, float] = MappingProxyType(
    {"tiktok": 0.5, "youtube": 0.3, "instagram_reels": 0.2}
)
DEFAULT_STYLE_MIX: Mapping[str, float] = MappingProxyType({"educational": 1.0})
TOPICS_FILE = "topics.csv"

# One random stream per attribute keeps samples prefix-stable (see the module docstring).
_TOPIC, _PLATFORM, _STYLE, _SEED = range(4)


@dataclass(frozen=True, slots=True)
class Topic:
    """One row of the topic list."""

    text: str
    category: str


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One request of a load test: what to ask for, and where it came from."""

    index: int
    topic: str
    category: str
    rank: int
    platform: Platform
    style: Style
    seed: int = 0

    def request(self) -> VideoRequest:
        """The VideoRequest this item stands for."""
        return VideoRequest(
            topic=self.topic, platforms=(self.platform,), style=self.style, seed=self.seed
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able request fields (the default body of HTTP targets)."""
        return {
            "topic": self.topic,
            "platforms": [self.platform.value],
            "style": self.style.value,
            "seed": self.seed,
        }


def load_topics(path: str | Path | None = None) -> tuple[Topic, ...]:
    """Topics from a CSV file with ``topic`` and ``category`` columns.

    ``path`` defaults to ``topics.csv`` in the data directory (``VGKIT_DATA_DIR``,
    default the project's ``data/``).
    """
    file = Path(path) if path is not None else settings().data_dir / TOPICS_FILE
    try:
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"topic", "category"} - set(reader.fieldnames or ())
            if missing:
                raise LoadTestError(
                    f"{file} needs the columns topic and category; missing {', '.join(missing)}"
                )
            topics = tuple(
                Topic(row["topic"].strip(), row["category"].strip())
                for row in reader
                if (row.get("topic") or "").strip()
            )
    except OSError as exc:
        raise LoadTestError(
            f"cannot read the topic list {file}: {exc.strerror or exc}; "
            "pass a path or set VGKIT_DATA_DIR"
        ) from exc
    if not topics:
        raise LoadTestError(f"{file} lists no topics")
    return topics


def _weights(mix: Mapping[str, float], kind: type[Platform] | type[Style]) -> tuple[Any, ...]:
    """Validated (members, probabilities) of a weight mapping keyed by enum values."""
    known = {m.value: m for m in kind}
    unknown = sorted(set(mix) - set(known))
    if unknown:
        raise LoadTestError(
            f"unknown {kind.__name__.lower()} {', '.join(unknown)} in the mix; "
            f"choose from {', '.join(known)}"
        )
    bad = [k for k, w in mix.items() if not (w >= 0 and math.isfinite(w))]
    if bad or not mix or sum(mix.values()) <= 0:
        raise LoadTestError(
            f"{kind.__name__.lower()} weights must be finite, >= 0 and not all zero: {dict(mix)}"
        )
    members = tuple(known[k] for k in mix)
    total = sum(mix.values())
    return members, np.cumsum([w / total for w in mix.values()])


def _draw(cdf: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    # searchsorted on uniforms (rather than Generator.choice) keeps prefixes stable.
    picks = np.searchsorted(cdf, rng.random(count), side="right")
    return np.minimum(picks, len(cdf) - 1)


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Seeded request mix: Zipf-distributed topics, weighted platforms and styles.

    ``zipf`` is the exponent ``s`` (0 is uniform; larger is more skewed).
    ``request_seeds`` is how many distinct VideoRequest seeds a topic may get
    (1: every repeat of a topic on a platform is the identical, cacheable request).
    """

    topics: tuple[Topic, ...]
    zipf: float = DEFAULT_ZIPF
    platform_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PLATFORM_MIX))
    style_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STYLE_MIX))
    request_seeds: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.topics:
            raise LoadTestError("a workload needs at least one topic")
        if not (self.zipf >= 0 and math.isfinite(self.zipf)):
            raise LoadTestError(f"zipf exponent must be a finite number >= 0, not {self.zipf}")
        if self.request_seeds < 1:
            raise LoadTestError(f"request_seeds must be at least 1, not {self.request_seeds}")
        if self.seed < 0:
            raise LoadTestError(f"seed must be >= 0, not {self.seed}")
        _weights(self.platform_mix, Platform)
        _weights(self.style_mix, Style)

    @classmethod
    def from_csv(cls, path: str | Path | None = None, **options: Any) -> Workload:
        """A workload over the topics of a CSV file (default: the bundled list)."""
        return cls(topics=load_topics(path), **options)

    def probabilities(self) -> np.ndarray:
        """Probability of each topic, in file (rank) order."""
        ranks = np.arange(1, len(self.topics) + 1, dtype=float)
        weights: np.ndarray = ranks**-self.zipf
        normalised: np.ndarray = weights / weights.sum()
        return normalised

    def sample(self, count: int) -> WorkSample:
        """The first ``count`` items of this workload (built lazily, on access)."""
        if count < 0:
            raise LoadTestError(f"sample size must be >= 0, not {count}")

        def rng(stream: int) -> np.random.Generator:
            return np.random.default_rng([self.seed, stream])

        platforms, platform_cdf = _weights(self.platform_mix, Platform)
        styles, style_cdf = _weights(self.style_mix, Style)
        return WorkSample(
            self.topics,
            _draw(np.cumsum(self.probabilities()), rng(_TOPIC), count),
            [platforms[i] for i in _draw(platform_cdf, rng(_PLATFORM), count)],
            [styles[i] for i in _draw(style_cdf, rng(_STYLE), count)],
            rng(_SEED).integers(0, self.request_seeds, count),
        )

    def describe(self) -> dict[str, Any]:
        """The workload's parameters, for reports and result files."""
        return {
            "topics": len(self.topics),
            "zipf": self.zipf,
            "platform_mix": dict(self.platform_mix),
            "style_mix": dict(self.style_mix),
            "request_seeds": self.request_seeds,
            "seed": self.seed,
        }


class WorkSample(Sequence[WorkItem]):
    """A fixed sequence of work items, materialised one at a time."""

    def __init__(
        self,
        topics: tuple[Topic, ...],
        ranks: np.ndarray,
        platforms: list[Platform],
        styles: list[Style],
        seeds: np.ndarray,
    ) -> None:
        self._topics = topics
        self._ranks = ranks
        self._platforms = platforms
        self._styles = styles
        self._seeds = seeds

    def __len__(self) -> int:
        return len(self._ranks)

    @overload
    def __getitem__(self, index: int) -> WorkItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[WorkItem]: ...
    def __getitem__(self, index: int | slice) -> WorkItem | list[WorkItem]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        rank = int(self._ranks[index])
        topic = self._topics[rank]
        return WorkItem(
            index=index,
            topic=topic.text,
            category=topic.category,
            rank=rank,
            platform=self._platforms[index],
            style=self._styles[index],
            seed=int(self._seeds[index]),
        )

    def __iter__(self) -> Iterator[WorkItem]:
        return (self[i] for i in range(len(self)))

    def ranks(self) -> np.ndarray:
        """Topic rank (0 = most popular) of every item, without building the items."""
        return self._ranks.copy()
