"""Request validation at the API boundary: every problem is a VgkitError with a clear message."""

from __future__ import annotations

import pytest

from vgkit import InvalidRequestError, Platform, VgkitError, VideoRequest


def test_defaults_and_canonical_order() -> None:
    req = VideoRequest(topic="  Solar   panels  ", platforms=["instagram_reels", "youtube"])
    assert req.topic == "Solar panels"
    assert req.platforms == (Platform.YOUTUBE, Platform.INSTAGRAM_REELS)
    assert req.style.value == "educational"
    assert req.duration is None and req.seed == 0
    same = VideoRequest(topic="Solar panels", platforms=["youtube", "instagram_reels"])
    assert req.request_id == same.request_id


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"topic": ""}, "topic is empty"),
        ({"topic": "   \n\t "}, "topic is empty"),
        ({"topic": "x" * 10_240}, "topic is 10240 characters; the limit is 500"),
        ({"topic": "x" * 501}, "the limit is 500"),
        ({"topic": "ok", "platforms": ["myspace"]}, "unknown platform 'myspace'"),
        ({"topic": "ok", "platforms": ["tiktok", "tiktok"]}, "platform 'tiktok' is listed twice"),
        ({"topic": "ok", "platforms": []}, "platforms"),
        ({"topic": "ok", "style": "noir"}, "unknown style 'noir'"),
        ({"topic": "ok", "duration": 45}, "outside YouTube's bounds (60-1200 s)"),
        ({"topic": "ok", "platforms": ["tiktok"], "duration": 61}, "outside TikTok's bounds"),
        ({"topic": "ok", "duration": -3}, "duration must be positive"),
        ({"topic": "ok", "seed": -1}, "seed"),
        ({"topic": "ok", "colour": "red"}, "colour"),
    ],
)
def test_bad_requests_raise_typed_errors(fields: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        VideoRequest(**fields)
    assert isinstance(info.value, VgkitError)
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_limits_are_inclusive() -> None:
    assert len(VideoRequest(topic="y" * 500).topic) == 500
    assert VideoRequest(topic="t", platforms=["tiktok"], duration=60).duration == 60
    assert VideoRequest(topic="t", platforms=["youtube"], duration=60).duration == 60


def test_duration_must_fit_every_platform() -> None:
    VideoRequest(topic="t", platforms=["tiktok", "instagram_reels"], duration=30)
    with pytest.raises(InvalidRequestError, match="outside TikTok's bounds") as info:
        VideoRequest(topic="t", platforms=["youtube", "tiktok"], duration=70)
    assert str(info.value) == "invalid request: duration 70 s is outside TikTok's bounds (15-60 s)"


def test_model_validate_and_from_json_are_guarded() -> None:
    with pytest.raises(InvalidRequestError):
        VideoRequest.model_validate({"topic": ""})
    with pytest.raises(InvalidRequestError, match="invalid VideoRequest"):
        VideoRequest.from_json(b'{"topic": 3')
    req = VideoRequest(topic="round trip", platforms=["tiktok"], seed=7)
    assert VideoRequest.from_json(req.to_json()) == req


def test_target_duration_defaults_to_optimal() -> None:
    req = VideoRequest(topic="t")
    assert req.target_duration(Platform.YOUTUBE) == 480
    assert req.target_duration(Platform.TIKTOK) == 30
    assert req.target_duration(Platform.INSTAGRAM_REELS) == 45
