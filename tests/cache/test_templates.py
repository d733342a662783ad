"""The template cache: index, versions, effectiveness, persistence, determinism."""

from __future__ import annotations

import asyncio
import dataclasses
import random

import pytest

from tests.conftest import MakeCache
from vgkit.cache import TemplateCache
from vgkit.errors import TemplateError
from vgkit.templates import default_library


def test_a_fresh_cache_chooses_exactly_like_the_library() -> None:
    library, cache = default_library(), TemplateCache()
    assert cache.fingerprint() == library.fingerprint()
    for kind in ("hook", "structure", "shot", "cta"):
        for seed in range(20):
            ours = cache.choose(kind, random.Random(seed), platform="tiktok")
            theirs = library.choose(kind, random.Random(seed), platform="tiktok")
            assert ours.id == theirs.id
    assert [t.id for t in cache.candidates("hook", platform="youtube", style="viral")] == [
        t.id for t in library.candidates("hook", platform="youtube", style="viral")
    ]


def test_versions_publish_keeps_the_old_and_pin_selects() -> None:
    cache = TemplateCache()
    old = cache.get("hook.question.ever_wondered")
    new = dataclasses.replace(
        old, version=old.version + 1, body={**old.body, "text": "New {subject}?"}
    )
    before = cache.fingerprint()
    cache.publish(new)
    assert cache.get(old.id) is new and cache.get(old.id, old.version) is old
    assert cache.get(f"{old.id}@{old.version}") is old and cache.versions(old.id) == [1, 2]
    assert cache.fingerprint() != before
    cache.pin(old.id, old.version)
    assert cache.get(old.id) is old and cache.fingerprint() == before  # same state again
    with pytest.raises(TemplateError, match="publish a new version"):
        cache.publish(new)
    with pytest.raises(TemplateError, match="has no version 9"):
        cache.get(old.id, 9)


async def test_effectiveness_tilts_choices_and_changes_the_fingerprint() -> None:
    cache = TemplateCache()
    pool = cache.candidates("hook", platform="tiktok", style="educational")
    good, bad = pool[0].id, pool[1].id
    base = cache.fingerprint()
    cache.record([good], 0.9)
    cache.record([bad], 0.6)
    assert cache.fingerprint() == base  # nothing applies before flush (never mid-run)
    await cache.flush()
    assert cache.fingerprint() == base  # one ordinary plan each stays inside the prior's bucket
    for _ in range(20):
        cache.record([good], 1.0)
        cache.record([bad], 0.1)
    await cache.flush()
    assert cache.fingerprint() != base
    weights = {
        t.id: t.weight for t in cache.candidates("hook", platform="tiktok", style="educational")
    }
    assert weights[good] > 1.5 > 1.0 > 0.5 > weights[bad]
    assert cache.score(good).uses == 21 and cache.score(good).ema == pytest.approx(1.0, abs=0.01)
    picks = [
        cache.choose("hook", random.Random(s), platform="tiktok", style="educational").id
        for s in range(400)
    ]
    assert picks.count(good) > 4 * max(1, picks.count(bad))
    why = cache.explain("hook", 3, platform="tiktok", style="educational")
    assert (
        why.template.id in why.reason and "effectiveness" in why.reason
    ) or "no quality" in why.reason
    assert sum(p for _, _, p in why.candidates) == pytest.approx(1.0)


async def test_scores_persist_and_are_shared_through_redis(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    writer = TemplateCache(store=make_cache(redis=redis_url, prefix=key_prefix))
    for _ in range(30):  # one template well above the typical plan, one well below
        writer.record(["hook.list.three_things"], 1.0)
        writer.record(["hook.question.ever_wondered"], 0.2)
    await writer.flush()
    reader = TemplateCache(store=make_cache(redis=redis_url, prefix=key_prefix))
    assert reader.fingerprint() != writer.fingerprint()
    await reader.load()
    assert reader.fingerprint() == writer.fingerprint()
    assert reader.score("hook.list.three_things").scored == 30
    reader.record(["hook.list.three_things"], 0.0)
    await reader.flush()
    await asyncio.sleep(0.05)  # the writer's stale L1 copy is dropped via pub/sub, asynchronously
    await writer.load()
    assert writer.score("hook.list.three_things").scored == 31


def test_bad_input_is_a_template_error() -> None:
    cache = TemplateCache()
    with pytest.raises(TemplateError, match="no template with id 'nope'"):
        cache.get("nope")
    with pytest.raises(TemplateError, match=r"0\.\.1"):
        cache.record(["hook.list.three_things"], 3.0)
    with pytest.raises(TemplateError, match="no hook template"):
        cache.choose("hook", random.Random(0), tags=("no-such-tag",))


async def test_the_prior_is_the_typical_plan_so_being_used_earns_nothing() -> None:
    adaptive, fixed = TemplateCache(), TemplateCache(prior=0.75)
    pool = adaptive.candidates("hook", platform="tiktok", style="educational")
    base = adaptive.fingerprint()
    for cache in (adaptive, fixed):
        for _ in range(30):  # every plan scores the same: no template is better than another
            cache.record([pool[0].id, pool[1].id], 0.93)
        await cache.flush()
    assert adaptive.prior == pytest.approx(0.95) and adaptive.fingerprint() == base
    # Judged against a fixed 0.75, merely being used looks like quality.
    assert fixed.fingerprint() != base
    weights = {t.id: t.weight for t in fixed.candidates("hook", platform="tiktok")}
    assert weights[pool[0].id] > 1.5 * weights[pool[2].id]
