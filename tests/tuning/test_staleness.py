"""Staleness-aware tuning: freshness budgets, the net objective, the Pareto front, stale budgets."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest

from vgkit import TuningError, VideoRequest
from vgkit.tuning import (
    Candidate,
    EntryProfile,
    Freshness,
    Trace,
    load_trace,
    recommend,
    simulate,
)
from vgkit.tuning.expansion import KINDS
from vgkit.tuning.search import DEFAULT_TTL_LADDER


@pytest.fixture(scope="module")
def two_days() -> Trace:
    return load_trace().between(0, 2 * 86400)


@pytest.fixture(scope="module")
def one_day() -> Trace:
    return load_trace().between(0, 86400)


#: A quicker search (one pass, vgkit's codec and the default eviction): the staleness
#: path does not depend on them.
QUICK: dict[str, Any] = {
    "passes": 1,
    "codecs": ["zstd+dict"],
    "evictions": ["least-recently-stored"],
}


def _capped(ttl: float) -> Candidate:
    config = Candidate.original(l1_size=32 << 20)
    for kind in KINDS:
        config = config.with_ttl(kind, "*", ttl)
        for platform in ("youtube", "tiktok", "instagram_reels"):
            if kind not in ("topic", "request"):
                config = config.with_ttl(kind, platform, ttl)
    return config


def test_freshness_judges_age_and_template_releases(profile: EntryProfile) -> None:
    # Two identical requests 3 hours apart: a 1-day TTL serves the second from the cache.
    request = VideoRequest(topic="How tides work", platforms=["youtube"])
    again = Trace.from_pairs([(0.0, request), (3 * 3600.0, request)], name="pair")
    config = _capped(86400.0)
    fresh = simulate(again, config, profile=profile, freshness=Freshness(release_every=None))
    assert fresh.request_hits == 1 and fresh.stale_requests == 0  # 3 h < YouTube's 6 h
    news = Freshness(max_age={"*": {"*": 3600.0}}, release_every=None)
    aged = simulate(again, config, profile=profile, freshness=news)
    assert aged.stale_requests == 1 and aged.stale_fraction == 0.5
    assert aged.stale_seconds == aged.seconds_saved > 0  # the hit stood for stale seconds
    assert aged.net_seconds(1.0) == 0 and aged.net_seconds(2.0) == -aged.seconds_saved
    release = Freshness(max_age={"*": {"*": None}}, releases=[3600.0])
    shipped = simulate(again, config, profile=profile, freshness=release)
    assert shipped.stale_requests == 1  # made before the library release, served after
    unversioned = Freshness(max_age={"*": {"*": None}}, releases=[3600.0], versioned=frozenset())
    assert simulate(again, config, profile=profile, freshness=unversioned).stale_requests == 0


def test_longer_ttls_serve_more_stale_requests(profile: EntryProfile, two_days: Trace) -> None:
    shares = [
        simulate(two_days, _capped(t), profile=profile).stale_fraction for t in (900, 86400, 604800)
    ]
    assert shares[0] < shares[1] <= shares[2]
    assert shares[0] < 0.01 < shares[2]


def test_a_lower_stale_budget_never_recommends_longer_ttls(
    profile: EntryProfile, one_day: Trace
) -> None:
    order = [None, 0.10, 0.02, 0.0]
    recs = {
        budget: recommend(one_day, stale_budget=budget, profile=profile, **QUICK)
        for budget in order
    }
    for high, low in itertools.pairwise(order):
        for kind in KINDS:
            for platform in (None, "youtube", "tiktok", "instagram_reels"):
                longer = recs[high].recommended.ttl(kind, platform)
                shorter = recs[low].recommended.ttl(kind, platform)
                assert (shorter or math.inf) <= (longer or math.inf), (high, low, kind, platform)
    for budget, rec in recs.items():
        if budget is not None:
            assert rec.fit["recommended"].stale_fraction <= budget + 1e-12, budget
    assert recs[None].fit["recommended"].stale_fraction > 0.02  # the budgets bind
    # The budgets walk one path: the 2 % point lies on the 0 % run's path.
    assert recs[0.0].at_budget(0.02).policy_dict() == recs[0.02].recommended.policy_dict()


def test_the_cap_everywhere_only_when_staleness_allows_it(
    profile: EntryProfile, two_days: Trace
) -> None:
    cap = max(DEFAULT_TTL_LADDER)
    strict = recommend(two_days, stale_budget=0.05, profile=profile, **QUICK)
    ttls = {strict.recommended.ttl(k, p) for k in KINDS for p in (None, "tiktok")}
    assert cap not in ttls and max(t or math.inf for t in ttls) <= 86400
    # When nothing ages (no news, no releases), long TTLs cost nothing and the search may
    # keep content as long as the budget of bytes allows.
    timeless = Freshness(max_age={"*": {"*": None}}, release_every=None)
    free = recommend(two_days, stale_budget=0.05, profile=profile, freshness=timeless, **QUICK)
    assert free.fit["recommended"].stale_fraction == 0
    assert max(free.recommended.ttl(k, None) or math.inf for k in KINDS) > 86400


def test_the_recommendation_reports_the_front_and_the_held_out_comparison(
    profile: EntryProfile, two_days: Trace
) -> None:
    rec = recommend(two_days, stale_budget=0.0, profile=profile, **QUICK)
    front = rec.front
    assert front is not None and len(front) >= 2
    assert front["stale_fraction"].iloc[-1] <= front["stale_fraction"].iloc[0]
    pareto = rec.pareto_front()
    assert list(pareto["stale_fraction"]) == sorted(pareto["stale_fraction"])
    assert list(pareto["net_seconds"]) == sorted(pareto["net_seconds"])
    table = rec.compare_at([0.05, 0.01])
    assert list(table["stale_budget"]) == [0.05, 0.01]
    assert (table["recommended_stale_fraction"] <= 0.05 + 0.05).all()  # held out: near the budget
    assert (table["recommended_net_seconds"] > table["original_net_seconds"]).all()
    doc = json.loads(json.dumps(rec.to_json()))
    assert doc["stale_budget"] == 0.0 and doc["front"][0]["move"] == "unconstrained"
    assert "stale requests" in rec.summary()
    rec.plot_front(stale_budget=0.05)


def test_bad_staleness_options(profile: EntryProfile, two_days: Trace) -> None:
    with pytest.raises(TuningError, match="share of requests"):
        recommend(two_days, stale_budget=5, profile=profile)
    with pytest.raises(TuningError, match="staleness weight"):
        recommend(two_days, staleness_weight=-1, profile=profile)
    with pytest.raises(TuningError, match="freshness budget"):
        Freshness(max_age={"topic": {"*": 0}})
