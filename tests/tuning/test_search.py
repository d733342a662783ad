"""The recommendation: it beats the original TTL matrix on the bundled week, held out too."""

from __future__ import annotations

import json

import pytest

from vgkit import TuningError
from vgkit.cache import CachePolicy
from vgkit.tuning import (
    Candidate,
    EntryProfile,
    Trace,
    compare,
    load_trace,
    recommend,
    size_curve,
    ttl_curve,
)


@pytest.mark.slow
@pytest.mark.timeout(300)  # about a minute on an idle machine: the whole week, twice
def test_the_recommendation_beats_the_original_on_the_held_out_days(
    profile: EntryProfile,
) -> None:
    week = load_trace()
    budget = 32 << 20
    rec = recommend(week, budget=budget, profile=profile, stale_budget=0.05)
    fit, held = rec.gain("fit"), rec.gain("held_out")
    # Net of staleness (a stale hit saves nothing): fitted on days 0-4, better on 4-7,
    # and within the stale budget where the original TTL matrix is far outside it.
    assert fit["net_ratio"] > 1.5 and held["net_ratio"] > 1.5
    assert held["recommended_stale_fraction"] <= 0.05 < held["original_stale_fraction"]
    assert rec.held_out["original"].requests + rec.fit["original"].requests == len(week)
    assert rec.recommended.l1_size is not None and rec.recommended.l1_size <= budget
    # Every configuration the search kept fits the budget, and it tried many.
    assert all(s.fits for s in rec.steps if s.accepted) and len(rec.steps) > 50
    text = rec.summary()
    assert "gain on held out:" in text and "recommended: L1" in text and "stale requests" in text
    policy = CachePolicy.from_dict(rec.policy_dict())  # a valid VGKIT_CACHE_POLICY file
    assert policy.ttl("script", "tiktok") == rec.recommended.ttl("script", "tiktok")
    doc = json.loads(json.dumps(rec.to_json()))
    assert doc["gain"]["held_out"]["net_ratio"] == pytest.approx(held["net_ratio"])
    frame = rec.to_frame()
    assert set(frame["part"]) == {"fit", "held out"} and len(frame) == 8
    smaller = rec.held_out["smaller L1"]
    assert smaller.config.l1_size is not None and smaller.config.l1_size <= budget
    assert not rec.size_curve.empty and not rec.steps_frame().empty
    rec.plot_size_curve()
    rec.plot_gain()
    rec.plot_front()


def test_a_restricted_search_reports_what_it_tried(
    profile: EntryProfile, small_trace: Trace
) -> None:
    rec = recommend(
        small_trace,
        budget=1 << 20,
        passes=1,
        codecs=["zlib-6"],  # the original's
        evictions=["least-recently-stored"],
        ladder=[1800, 86400],
        profile=profile,
    )
    coordinates = {s.coordinate for s in rec.steps}
    assert "codec" not in coordinates and "eviction" not in coordinates
    assert {"ttl script", "ttl request", "ttl script/tiktok"} <= coordinates
    assert {s.value for s in rec.steps if s.coordinate == "ttl script"} <= {"1800", "86400"}
    assert rec.gain("fit")["ratio"] >= 1.0
    ttls = {rec.recommended.ttl(k, p) for k in ("script", "hooks") for p in ("tiktok", None)}
    assert ttls <= {1800.0, 86400.0, 3600.0, 7200.0}


def test_max_ttl_caps_the_search(profile: EntryProfile, small_trace: Trace) -> None:
    rec = recommend(
        small_trace,
        budget=None,
        passes=1,
        max_ttl=7200,
        profile=profile,
        codecs=["zstd+dict"],
        evictions=["least-recently-stored"],
    )
    assert all(float(s.value) <= 7200 for s in rec.steps if s.coordinate.startswith("ttl"))
    matrix = rec.ttl_frame()
    assert matrix["recommended_ttl"].max() <= 7200  # the original's 1-day TTLs are capped too
    assert rec.recommended.l1_size is None  # no budget: no limit


def test_curves_have_a_row_per_point(profile: EntryProfile, small_trace: Trace) -> None:
    sizes = size_curve(small_trace, Candidate(), [1 << 18, 1 << 20, 1 << 24], profile=profile)
    assert len(sizes) == 9 and set(sizes["eviction"]) == {
        "least-recently-stored",
        "least-recently-used",
        "least-frequently-used",
    }
    lru = sizes[sizes["eviction"] == "least-recently-used"].sort_values("l1_size")
    assert list(lru["hit_ratio"]) == sorted(lru["hit_ratio"])  # more room, more hits
    ttls = ttl_curve(
        small_trace, Candidate(), ["script"], ladder=[60, 3600, 86400], profile=profile
    )
    assert list(ttls["ttl"]) == [60, 3600, 86400]
    assert list(ttls["seconds_saved"]) == sorted(ttls["seconds_saved"])


def test_compare_runs_both_modes_on_the_same_prefix(
    profile: EntryProfile, small_trace: Trace
) -> None:
    sim, real = compare(small_trace, [Candidate()], mode="both", limit=30, profile=profile)
    assert (sim.mode, real.mode, sim.requests, real.requests) == ("sim", "real", 30, 30)
    assert sim.hits == real.hits


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget": 1000}, "budget must exceed"),
        ({"fit_fraction": 1.5}, "fit_fraction"),
        ({"evictions": ["random"]}, "unknown eviction policies or codecs: random"),
        ({"ladder": [0]}, "positive seconds"),
        ({"passes": 0}, "passes"),
    ],
)
def test_bad_search_options(
    options: dict[str, object], message: str, small_trace: Trace, profile: EntryProfile
) -> None:
    with pytest.raises(TuningError, match=message):
        recommend(small_trace, profile=profile, **options)  # type: ignore[arg-type]
