"""The demo cue service's state on a simulated clock (no HTTP, instant): the sliding window
follows the clock, breaks start on the next boundary, published segments never change,
discontinuities are counted, state expires, and every refusal changes nothing."""

from __future__ import annotations

import pytest

from console.demo.cues.constants import VARIANTS
from console.demo.cues.desk import CueDesk
from console.demo.cues.media import ChannelMedia
from console.demo.cues.playlists import iso
from services.cue_tags import parse_cues

BASE = "http://cues.test"
T0 = 1_800_000_000.0  # a segment boundary


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 0.3

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def desk(tmp_path):
    media = ChannelMedia(
        tmp_path,
        12,
        3,
        {v.name: i + 1 for i, v in enumerate(VARIANTS)},
        {v.name: i + 1 for i, v in enumerate(VARIANTS)},
        {v.name: (v.width, v.height) for v in VARIANTS},
    )
    clock = Clock()
    return CueDesk(media, clock=clock), clock


def read(desk, channel="demo/sports1", variant="v_800k"):
    return parse_cues(desk.playlist(channel, variant))


def test_window_follows_the_wall_clock(desk):
    desk, clock = desk
    first = read(desk)
    assert len(first.segments) == 6 and first.target_duration == 2
    assert first.last_sequence == int(T0 // 2) - 1  # the segment ending at T0
    clock.now += 10
    later = read(desk)
    assert later.media_sequence == first.media_sequence + 5
    assert later.segments[0].program_date_time.timestamp() == later.media_sequence * 2


def test_break_starts_on_the_next_boundary_and_published_segments_never_change(desk):
    desk, clock = desk
    status, doc, _ = desk.cue({"channel": "sports1", "duration": 5}, "k", BASE)
    assert status == 201 and doc["state"] == "scheduled"
    assert doc["startTime"] == iso(T0 + 2)  # the next segment boundary after the cue
    before = {s.sequence: s.uri for s in read(desk).segments}
    for _ in range(12):
        clock.now += 1
        playlist = read(desk)
        for segment in playlist.segments:
            assert before.setdefault(segment.sequence, segment.uri) == segment.uri
    (span,) = [s for s in playlist.ad_breaks() if s.style == "daterange"]
    assert span.id == str(doc["eventId"]) and span.planned_duration == 5
    assert span.duration == 6  # whole 2 s segments: CUE-IN one second after the planned end
    ads = [s for s in playlist.segments if "/ad/" in s.uri]
    assert len(ads) == 3 and ads[0].discontinuity


def test_stop_moves_the_end_to_the_next_boundary_and_discontinuities_are_counted(desk):
    desk, clock = desk
    _, doc, _ = desk.cue({"channel": "demo/sports2", "duration": 60}, "", BASE)
    clock.now += 7
    status, stopped, _ = desk.cue({"channel": "demo/sports2", "type": "stop"}, "", BASE)
    assert status == 200 and stopped["eventId"] == doc["eventId"]
    assert stopped["duration"] == 6.0 and stopped["stoppedAt"]  # from T0+2 to T0+8
    clock.now += 4
    playlist = read(desk, "demo/sports2", "v_1600k")
    (span,) = [s for s in playlist.ad_breaks() if s.style == "daterange"]
    assert span.duration == 6.0 and span.splice_in.out_of_network is False
    clock.now += 30  # the break and the loop point slide out of the window
    later = read(desk, "demo/sports2", "v_1600k")
    assert later.discontinuity_sequence >= 2
    assert desk.cue({"channel": "demo/sports2", "type": "stop"}, "", BASE)[0] == 409


def test_refusals_change_nothing(desk):
    desk, clock = desk
    cases = [
        ({"channel": "nope", "duration": 30}, 404),
        ({"channel": "sports1", "duration": 0}, 422),
        ({"channel": "sports1", "duration": 601}, 422),
        ({"channel": "sports1", "duration": "30"}, 422),
        ({"channel": "sports1", "duration": True}, 422),
        ({"channel": "sports1", "type": "pause"}, 422),
        ({"duration": 30}, 400),
        (["sports1", 30], 400),
    ]
    for body, expected in cases:
        status, doc, _ = desk.cue(body, "", BASE)
        assert status == expected and doc["error"]
    assert all(not t.breaks for t in desk.timelines.values())


def test_idempotency_key_replays_and_a_second_break_conflicts(desk):
    desk, clock = desk
    body = {"channel": "sports1", "duration": 30}
    first = desk.cue(body, "key-1", BASE)
    clock.now += 1
    again = desk.cue(body, "key-1", BASE)
    assert again[0] == 201 and again[1] == first[1] and again[2] is True
    assert desk.cue(body, "key-2", BASE)[0] == 409
    assert desk.cue({"channel": "sports2", "duration": 30}, "key-1", BASE)[0] == 422
    assert len(desk.timelines["demo/sports1"].breaks) == 1


def test_state_expires_after_duration_plus_60_s(desk):
    desk, clock = desk
    desk.cue({"channel": "sports1", "duration": 10}, "", BASE)
    clock.now += 70
    desk.playlist("demo/sports1", "v_800k")
    assert desk.timelines["demo/sports1"].breaks
    clock.now += 3
    desk.playlist("demo/sports1", "v_800k")
    assert desk.timelines["demo/sports1"].breaks == []


def test_injected_failures_and_depletion(desk):
    desk, clock = desk
    desk.set_faults(fail_cues=1, deplete_after_break=True)
    assert desk.cue({"channel": "sports1", "duration": 2}, "k", BASE)[0] == 503
    assert desk.cue({"channel": "sports1", "duration": 2}, "k", BASE)[0] == 201
    clock.now += 8
    stuck = read(desk).last_sequence
    clock.now += 4
    assert read(desk).last_sequence == stuck  # nothing published after the break…
    clock.now += 16
    emptied = read(desk)  # …while the published segments keep leaving the window
    assert emptied.segments == () and emptied.media_sequence == stuck + 1
    desk.set_faults(deplete_after_break=False)
    assert read(desk).last_sequence > stuck
