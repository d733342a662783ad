"""Workloads: the bundled topics, Zipf skew, platform mix, seeding."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from vgkit.errors import LoadTestError
from vgkit.loadtest import Workload, load_topics
from vgkit.models import VideoRequest


def test_the_bundled_topics_are_many_varied_and_valid() -> None:
    topics = load_topics()
    assert len(topics) >= 250
    assert len({t.text for t in topics}) == len(topics)
    assert len({t.category for t in topics}) >= 10
    for topic in topics:
        VideoRequest(topic=topic.text)  # raises if a topic were invalid


def test_same_seed_same_sequence_and_longer_samples_extend_shorter_ones() -> None:
    a = Workload.from_csv(seed=3).sample(500)
    b = Workload.from_csv(seed=3).sample(2000)
    c = Workload.from_csv(seed=4).sample(500)
    assert list(a) == b[:500]
    assert [i.topic for i in a] != [i.topic for i in c]
    assert [i.index for i in a] == list(range(500))


def test_topics_follow_a_zipf_skew() -> None:
    ranks = Workload.from_csv(zipf=1.1, seed=1).sample(20_000).ranks()
    counts = np.bincount(ranks, minlength=276)
    assert (ranks < 10).mean() > 0.45  # ten of 276 topics draw about half the requests
    assert counts[0] > 10 * counts[50]
    # The expected share of the top topic under 1/k^1.1, within sampling noise.
    expected = Workload.from_csv(zipf=1.1).probabilities()[0]
    assert counts[0] / len(ranks) == pytest.approx(expected, rel=0.05)


def test_zipf_zero_is_uniform() -> None:
    ranks = Workload.from_csv(zipf=0, seed=1).sample(27_600).ranks()
    counts = np.bincount(ranks)
    assert counts.max() < 2 * counts.mean()


def test_platform_and_style_mixes_are_honoured() -> None:
    items = Workload.from_csv(
        platform_mix={"tiktok": 3, "youtube": 1}, style_mix={"viral": 1, "tutorial": 1}, seed=2
    ).sample(4000)
    platforms = Counter(i.platform.value for i in items)
    styles = Counter(i.style.value for i in items)
    assert set(platforms) == {"tiktok", "youtube"}
    assert platforms["tiktok"] / 4000 == pytest.approx(0.75, abs=0.03)
    assert styles["viral"] / 4000 == pytest.approx(0.5, abs=0.03)


def test_items_become_requests_and_repeats_are_identical() -> None:
    items = Workload.from_csv(seed=5).sample(300)
    first = items[0]
    assert first.request() == VideoRequest(
        topic=first.topic, platforms=(first.platform,), style=first.style, seed=0
    )
    twins = [i for i in items if (i.topic, i.platform) == (first.topic, first.platform)]
    assert len(twins) > 1
    assert len({t.request().model_dump_json() for t in twins}) == 1
    assert first.as_dict()["platforms"] == [first.platform.value]


def test_bad_workloads_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(LoadTestError, match=r"unknown platform vimeo.*choose from"):
        Workload.from_csv(platform_mix={"vimeo": 1})
    with pytest.raises(LoadTestError, match="not all zero"):
        Workload.from_csv(platform_mix={"tiktok": 0})
    with pytest.raises(LoadTestError, match="zipf exponent"):
        Workload.from_csv(zipf=-1)
    bad = tmp_path / "bad.csv"
    bad.write_text("title\nSomething\n")
    with pytest.raises(LoadTestError, match="needs the columns topic and category"):
        load_topics(bad)
    with pytest.raises(LoadTestError, match="cannot read the topic list"):
        load_topics(tmp_path / "missing.csv")
