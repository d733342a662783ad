"""The simulator: diskcache's behaviour on hand-made sequences, and the orchestrator's lookups."""

from __future__ import annotations

import pytest

from vgkit import VideoRequest
from vgkit.tuning import Candidate, DiskModel, EntryProfile, Trace, simulate

TIKTOK = 3 + 4 + 15 + 2 + 8 + 12 + 4 + 3 + 0.5 + 1.5  # agent-seconds of one TikTok run
TOPIC = "How tides work"


def model(
    eviction: str, *, limit: int | None = 30, cull_every: int = 1, batch: int = 1
) -> DiskModel:
    return DiskModel(
        size_limit=limit, eviction=eviction, cull_every=cull_every, batch=batch, kinds=1
    )


def fill(disk: DiskModel, keys: range, t: float = 0.0, ttl: float | None = None) -> None:
    for key in keys:
        disk.set(key, t, ttl, 10, 0)


def test_an_entry_lives_until_its_ttl_runs_out_on_the_simulated_clock() -> None:
    disk = model("least-recently-stored", limit=None)
    disk.set(1, 100.0, 10.0, 10, 0)
    assert disk.get(1, 109.999) is not None
    assert disk.get(1, 110.0) is None  # expiry is exclusive, as in diskcache and the codec
    disk.set(2, 100.0, None, 10, 0)
    assert disk.get(2, 1e12) is not None


@pytest.mark.parametrize(
    ("eviction", "evicted"),
    [
        ("least-recently-stored", 1),  # stored first
        ("least-recently-used", 1),  # read least recently, though read most often
        # Read least often: the entry just written (count 0), as diskcache does.
        ("least-frequently-used", 4),
        ("none", None),
    ],
)
def test_eviction_order_at_the_size_limit(eviction: str, evicted: int | None) -> None:
    disk = model(eviction)
    fill(disk, range(1, 4))
    for t, key in ((1, 1), (2, 1), (3, 1), (4, 2), (5, 3)):
        assert disk.get(key, t) is not None
    disk.set(4, 6.0, None, 10, 0)  # 40 bytes > 30: one entry goes
    gone = {1, 2, 3, 4} - set(disk.slots)
    assert gone == (set() if evicted is None else {evicted})
    assert disk.evicted == (0 if evicted is None else 1)


def test_rewriting_a_key_keeps_its_row_and_resets_its_count() -> None:
    disk = model("least-frequently-used")
    fill(disk, range(1, 3))
    assert disk.get(1, 1.0) is not None
    disk.set(1, 2.0, None, 10, 0)  # count back to 0, rowid still 1
    disk.set(3, 3.0, None, 10, 0)
    disk.set(4, 4.0, None, 10, 0)  # over the limit: 1, 2 and 3 all at count 0
    assert set(disk.slots) == {2, 3, 4}  # the rewritten key 1 is the oldest row


def test_a_cull_removes_expired_entries_before_evicting_by_policy() -> None:
    disk = model("least-recently-stored")
    disk.set(1, 0.0, 5.0, 10, 0)
    fill(disk, range(2, 4))
    disk.set(4, 10.0, None, 10, 0)
    assert set(disk.slots) == {2, 3, 4}
    assert (disk.expired, disk.evicted) == (1, 0)


def test_culls_come_every_n_writes_and_evict_in_batches() -> None:
    disk = model("least-recently-stored", limit=150, cull_every=20, batch=10)
    fill(disk, range(1, 20))
    assert disk.volume == 190  # over the limit, but no cull yet
    fill(disk, range(20, 21))
    assert disk.volume == 100 and set(disk.slots) == set(range(11, 21))  # one batch of 10


def _trace(*items: tuple[float, VideoRequest]) -> Trace:
    return Trace.from_pairs(items, name="hand-made")


def test_a_repeated_request_is_served_whole(profile: EntryProfile) -> None:
    request = VideoRequest(topic=TOPIC, platforms=["tiktok"])
    result = simulate(_trace((0, request), (100, request)), Candidate(), profile=profile)
    assert (result.lookups, result.hits, result.request_hits) == (12, 1, 1)
    assert result.seconds_saved == pytest.approx(TIKTOK)
    assert result.compute_seconds == pytest.approx(TIKTOK)
    assert result.wall_seconds_saved == pytest.approx(3 + 4 + 15 + 8 + 12 + 0.5 + 1.5)


def test_other_platforms_share_the_topic_and_common_nodes_other_styles_nothing(
    profile: EntryProfile,
) -> None:
    trace = _trace(
        (0, VideoRequest(topic=TOPIC, platforms=["tiktok"])),
        (100, VideoRequest(topic=TOPIC, platforms=["tiktok", "instagram_reels"])),
        (200, VideoRequest(topic=TOPIC, platforms=["tiktok"], style="viral")),
    )
    result = simulate(trace, Candidate(), profile=profile)
    kinds = result.kinds
    assert kinds["topic"].hits == 1 and kinds["topic"].lookups == 3
    assert kinds["script"].hits == 1 and kinds["script"].lookups == 4  # the TikTok script
    assert kinds["storyboard"].hits == 3  # scenes, shots, transitions for TikTok
    assert result.seconds_saved == pytest.approx(TIKTOK)
    assert result.request_hits == 0


def test_ttls_decide_on_the_simulated_clock(profile: EntryProfile) -> None:
    request = VideoRequest(topic=TOPIC, platforms=["tiktok"])
    config = Candidate().with_ttl("request", "*", 30).with_ttl("script", "tiktok", 60)
    result = simulate(_trace((0, request), (100, request)), config, profile=profile)
    assert result.request_hits == 0
    assert result.kinds["script"].hits == 0
    assert result.kinds["timing"].hits == 1  # its TTL (1800 s) has not run out
    assert result.seconds_saved == pytest.approx(TIKTOK - 15)


def test_measure_from_counts_only_the_later_requests(profile: EntryProfile) -> None:
    request = VideoRequest(topic=TOPIC, platforms=["tiktok"])
    trace = _trace((0, request), (100, request), (200, request))
    result = simulate(trace, Candidate(), profile=profile, measure_from=50)
    assert (result.requests, result.request_hits, result.compute_seconds) == (2, 2, 0.0)
    assert result.window == (50.0, 200.0)
    until = simulate(trace, Candidate(), profile=profile, until=150)
    assert until.requests == 2


def test_a_bounded_l1_evicts_and_stays_near_its_limit(
    profile: EntryProfile, small_trace: Trace
) -> None:
    unbounded = simulate(small_trace, Candidate(), profile=profile)
    limit = int(unbounded.peak_bytes / 4)
    bounded = simulate(small_trace, Candidate(l1_size=limit), profile=profile)
    assert bounded.evictions > 0 and unbounded.evictions == 0
    # Up to 63 writes go past the limit before a cull, so only the unbounded peak bounds it.
    assert limit < bounded.peak_bytes < unbounded.peak_bytes
    assert bounded.hit_ratio < unbounded.hit_ratio
    # Whatever the configuration, saved + computed is the trace's whole demand.
    assert bounded.seconds_saved + bounded.compute_seconds == pytest.approx(
        unbounded.seconds_saved + unbounded.compute_seconds
    )
