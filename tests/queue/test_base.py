"""The queue's shared pieces: claim order, backoff, configuration."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from vgkit.errors import ConfigError
from vgkit.queue.base import (
    QueueConfig,
    claim_order,
    retry_delay,
)
from vgkit.queue.jobs import (
    Priority,
)


def test_claim_order_prefers_high_and_gives_lower_levels_their_share() -> None:
    firsts = Counter(claim_order(n, 4)[0] for n in range(25))
    assert firsts == {Priority.HIGH: 20, Priority.NORMAL: 4, Priority.LOW: 1}
    assert claim_order(4, 4) == (Priority.NORMAL, Priority.LOW, Priority.HIGH)
    assert claim_order(24, 4) == (Priority.LOW, Priority.NORMAL, Priority.HIGH)
    assert {claim_order(n, None)[0] for n in range(100)} == {Priority.HIGH}


def test_retry_delay_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt, full in ((1, 1.0), (2, 2.0), (3, 4.0), (9, 10.0)):
        delays = [retry_delay(attempt, 1.0, 10.0, rng) for _ in range(200)]
        assert full / 2 <= min(delays) and max(delays) <= full
        assert max(delays) - min(delays) > full / 4  # jittered, not constant


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_attempts": 0}, "max_attempts must be positive"),
        ({"visibility_timeout": -1}, "visibility_timeout must be positive"),
        ({"maxsize": 0}, "maxsize must be positive"),
        ({"fairness": 0}, "fairness must be positive"),
        ({"backoff": 5, "backoff_max": 1}, "backoff <= backoff_max"),
    ],
)
def test_bad_queue_config_says_what_is_wrong(kwargs: dict[str, float], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        QueueConfig(**kwargs)  # type: ignore[arg-type]


def test_heartbeat_runs_well_inside_the_visibility_timeout() -> None:
    assert QueueConfig(visibility_timeout=1.0).heartbeat_interval == pytest.approx(1 / 3)
    assert QueueConfig(visibility_timeout=60.0).heartbeat_interval == 2.0
