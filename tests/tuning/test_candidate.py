"""Cache configurations: validation, TTL edits, and the policy file they become."""

from __future__ import annotations

import pytest

from vgkit import CacheError, TuningError
from vgkit.cache import CachePolicy
from vgkit.tuning import CODECS, Candidate


def test_the_original_is_the_reference_matrix_with_zlib() -> None:
    original = Candidate.original(l1_size=1 << 20)
    assert original.codec == "zlib-6" and CODECS["zlib-6"].compression == "zlib"
    expected = {
        "script": 3600,
        "storyboard": 3600,
        "timing": 1800,
        "result": 86400,
        "template": 604800,
    }
    assert {k: original.ttl(k, "tiktok") for k in expected} == expected
    assert original.ttl("script", "youtube") == 7200
    assert original.policy().early_refresh == 0  # the simulator does not model XFetch


def test_with_ttl_changes_one_cell_or_a_whole_kind() -> None:
    config = Candidate().with_ttl("script", "tiktok", 60)
    assert (config.ttl("script", "tiktok"), config.ttl("script", "youtube")) == (60, 7200)
    assert config.ttl("script", "instagram_reels") == 3600
    wide = config.with_ttl("script", "*", 10)
    assert {wide.ttl("script", p) for p in ("youtube", "tiktok", "instagram_reels")} == {10}
    assert Candidate().with_ttl("hooks", "tiktok", 5).ttl("hooks", "youtube") == 3600


def test_the_policy_dict_is_a_policy_file() -> None:
    config = Candidate().with_ttl("script", "*", 900).with_ttl("timing", "youtube", 60)
    policy = CachePolicy.from_dict(config.policy_dict())  # applied on top of the defaults
    assert policy.matrix() == config.policy().matrix()
    assert policy.ttl("script", "youtube") == 900 and policy.ttl("timing", "youtube") == 60


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"eviction": "random"}, TuningError, "unknown eviction policy"),
        ({"codec": "lz4"}, TuningError, "unknown codec"),
        ({"l1_size": 0}, TuningError, "positive bytes"),
        ({"ttls": {"script": {"*": -1}}}, CacheError, "positive seconds"),
    ],
)
def test_bad_configurations_say_what_is_wrong(
    fields: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Candidate(**fields)  # type: ignore[arg-type]
