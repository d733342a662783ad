"""The job records: priorities, ids, events and their JSON."""

from __future__ import annotations

import time

import pytest

from vgkit.errors import InvalidRequestError
from vgkit.events import NodeFinished
from vgkit.queue.jobs import (
    JobEvent,
    JobStatus,
    Priority,
    new_job_id,
    parse_queue_entry,
    parse_queue_event,
)


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


def test_an_event_stream_entry_holds_one_event_or_a_batch() -> None:
    job = JobEvent(job_id="j-1", status=JobStatus.RUNNING, attempt=1, worker="w")
    node = NodeFinished(session_id="s", node="cta:tiktok", agent="cta_generator", status="ok")
    assert parse_queue_entry({"e": job.model_dump_json()}) == [job]
    batch = "[" + ",".join(e.model_dump_json() for e in (node, job)) + "]"
    assert parse_queue_entry({"b": batch}) == [node, job]
