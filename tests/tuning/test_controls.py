"""Tune by hand: the notebook's sliders, driven with non-default values."""

from __future__ import annotations

from vgkit.tuning import Candidate, EntryProfile, Trace, simulate
from vgkit.tuning.controls import DEFAULT_EVICTION, hand_config, try_config, tuning_controls

MIB = 2**20


def test_hand_config_sets_the_knobs() -> None:
    config = hand_config(script_h=168, storyboard_h=0.5, request_h=2, l1_mib=4, codec="zlib-6")
    assert config.l1_size == 4 * MIB and config.codec == "zlib-6"
    assert config.eviction == DEFAULT_EVICTION
    policy = config.policy()
    assert policy.ttl("script", "tiktok") == 168 * 3600
    assert policy.ttl("storyboard", "youtube") == 1800


def test_the_controls_rerun_the_simulator(small_trace: Trace, profile: EntryProfile) -> None:
    baseline = simulate(small_trace, Candidate.original(l1_size=16 * MIB), profile=profile)
    controls = tuning_controls(small_trace, baseline, profile=profile, budget_mib=16)
    script_h, storyboard_h, request_h, l1_mib, eviction, codec = controls.children[:6]
    assert (eviction.value, codec.value, l1_mib.value) == (DEFAULT_EVICTION, "zstd+dict", 16)
    before = controls.result.data.loc["by hand"].copy()
    # Non-default values: every TTL at its shortest, a tiny L1, another codec.
    script_h.value = storyboard_h.value = request_h.value = 0.25
    l1_mib.value = 1
    codec.value = "zlib-6"
    after = controls.result.data.loc["by hand"]
    expected = try_config(small_trace, baseline, profile=profile, script_h=0.25,
                          storyboard_h=0.25, request_h=0.25, l1_mib=1, codec="zlib-6")  # fmt: skip
    assert after.to_dict() == expected.loc["by hand"].to_dict()
    assert after["seconds_saved"] < before["seconds_saved"]
    assert controls.result.data.loc["original"].equals(expected.loc["original"])
