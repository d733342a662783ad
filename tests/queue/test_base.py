"""The queue's shared pieces: claim order, backoff, configuration, events."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from vgkit.errors import ConfigError, InvalidRequestError
from vgkit.events import NodeFinished
from vgkit.queue.base import (
    JobEvent,
    JobStatus,
    Priority,
    QueueConfig,
    claim_order,
    new_job_id,
    parse_queue_event,
    retry_delay,
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


def test_priority_parse_names_the_choices() -> None:
    assert Priority.parse(" HIGH ") is Priority.HIGH
    with pytest.raises(InvalidRequestError, match="choose from high, normal, low"):
        Priority.parse("urgent")


def test_job_ids_sort_by_submission() -> None:
    ids = [new_job_id() for _ in range(50)]
    assert len(set(ids)) == 50 and all(i.startswith("j-") for i in ids)
    time.sleep(0.002)
    assert max(ids) < new_job_id()


def test_queue_events_round_trip_through_json() -> None:
    job = JobEvent(job_id="j-1", status=JobStatus.RETRYING, attempt=2, error="boom", retry_at=3.0)
    assert parse_queue_event(job.to_json()) == job
    node = NodeFinished(session_id="s", node="script:tiktok", agent="script_writer",
                        status="ok", duration=0.5, cache_hit=True)  # fmt: skip
    assert parse_queue_event(node.model_dump_json()) == node
    assert JobEvent(job_id="j", status=JobStatus.DEAD).final
    assert not JobEvent(job_id="j", status=JobStatus.RETRYING).final
