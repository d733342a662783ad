"""Entry profiles: sizes measured from real plans with the real codec, costs from the seed."""

from __future__ import annotations

from vgkit.platforms import Platform
from vgkit.tuning import EntryProfile


def test_sizes_follow_platform_and_codec(profile: EntryProfile) -> None:
    script = {p.value: profile.node_size("none", "script_writer", p.value) for p in Platform}
    assert script["youtube"] > 3 * script["tiktok"]  # an 8-minute script against 30 seconds
    # L1 keeps small entries uncompressed unless told otherwise.
    assert profile.node_size("zstd+dict", "script_writer", "youtube") == script["youtube"]
    assert profile.node_size("zstd+dict-l1", "script_writer", "youtube") < script["youtube"] / 4
    # Large entries are compressed in L1 too, and the dictionaries beat zlib on storyboards.
    shots = {c: profile.node_size(c, "shot_describer", "youtube") for c in ("zlib-6", "none")}
    assert shots["zlib-6"] < shots["none"] / 4
    assert profile.node_size("none", "topic_analysis", None) > 0
    everything = profile.request_size("none", tuple(Platform))
    assert everything > profile.request_size("none", (Platform.YOUTUBE,))


def test_costs_are_the_seed_profile_and_disk_overhead_is_measured(profile: EntryProfile) -> None:
    assert profile.seconds["script_writer"] == 15 and profile.seconds["shot_describer"] == 12
    assert profile.cost_profile == "seed" and profile.samples == 18
    assert profile.disk_base > 0
    assert all(200 < overhead < 4000 for overhead in profile.disk_overhead.values())
    frame = profile.to_frame()
    assert set(frame["codec"]) == {"zlib-6", "zstd+dict", "zstd+dict-l1", "none"}
    assert len(frame) == 4 * (1 + 9 * 3 + 7)


def test_a_smaller_sample_measures_the_same_kinds() -> None:
    small = EntryProfile.measure(topics=["How bees make honey"], styles=["viral"], cost="flat")
    assert small.samples == 1 and small.seconds["script_writer"] == 1.0
    assert set(small.node_bytes["none"]) == set(
        EntryProfile.measure(topics=["How tides work"], styles=["educational"]).node_bytes["none"]
    )
