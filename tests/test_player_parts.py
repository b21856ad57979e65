"""The player's parts that need no libmpv: the stats snapshot (``player.playback_stats``),
the multivariant seek guard (``player.seek_range``), the per-file bookkeeping
(``player.file_timeline``) and the render context's owner (``player.render_link``)."""

from __future__ import annotations

import math

import pytest

from player.file_timeline import FileTimeline
from player.mpv_core import PlayerNotAvailable
from player.playback_stats import (
    PlaybackStats,
    VariantInfo,
    frame_rate,
    number,
    read_stats,
    selected_variant,
)
from player.render_link import RenderLink
from player.seek_range import clock, is_buffered, seek_refusal

# --------------------------------------------------------------------------- stats

TRACKS = [
    {"type": "audio", "selected": True},
    {"type": "video", "demux-w": 1920, "demux-h": 1080, "hls-bitrate": 6_000_000},
    {"type": "video", "demux-w": 1280, "demux-h": 720, "hls-bitrate": 2_500_000, "selected": True},
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        ("2.5", 2.5),
        (True, None),
        (None, None),
        ("n/a", None),
        (math.nan, None),
        (math.inf, None),
        ([], None),
    ],
)
def test_number_accepts_finite_numbers_only(value, expected) -> None:
    assert number(value) == expected


def test_frame_rate_prefers_the_container_then_the_estimate_then_the_last() -> None:
    assert frame_rate({"container-fps": 25.0, "estimated-vf-fps": 24.9}) == 25.0
    assert frame_rate({"estimated-vf-fps": 23.976}) == 23.976  # EDL timeline
    assert frame_rate({}, last=24.0) == 24.0  # paused: mpv dropped its estimate
    assert frame_rate({}) is None


def test_selected_variant_counts_video_tracks_only() -> None:
    variant = selected_variant(TRACKS)
    assert variant == VariantInfo(1280, 720, 2_500_000, index=2, count=2)
    assert variant.label == "1280x720 @ 2500 kbit/s (2/2)"
    assert selected_variant([{"type": "video"}]) is None
    assert VariantInfo(None, None, None, 1, 1).label == "? (1/1)"


def test_read_stats_from_observed_properties() -> None:
    props = {
        "video-params": {"w": 1280, "h": 720, "dw": 1280, "dh": 720},
        "video-format": "h264",
        "estimated-vf-fps": 24.00049,
        "video-bitrate": 2_400_000.0,
        "frame-drop-count": 2,
        "decoder-frame-drop-count": 1,
        "track-list": TRACKS,
        "demuxer-cache-state": {"cache-duration": 12.5},
    }
    stats = read_stats(props, multivariant=True, last=PlaybackStats())
    assert stats == PlaybackStats(
        1280, 720, "h264", 24.0, 2_400_000.0, 3, selected_variant(TRACKS), 12.5
    )
    assert read_stats(props, multivariant=False, last=stats).variant is None
    empty = read_stats({}, multivariant=False, last=stats)
    assert empty == PlaybackStats(fps=stats.fps)  # nothing known but the last rate


# --------------------------------------------------------------------------- seek range

CACHE = {"seekable-ranges": [{"start": 0.0, "end": 10.0}, {"start": 30.0, "end": 40.0}]}


def test_clock_shows_whole_seconds() -> None:
    assert clock(0) == "0:00:00"
    assert clock(3725.9) == "1:02:05"


def test_is_buffered_within_the_ranges_and_their_tolerance() -> None:
    assert is_buffered(CACHE, 5.0) and is_buffered(CACHE, 40.2) and is_buffered(CACHE, 29.8)
    assert not is_buffered(CACHE, 20.0) and not is_buffered(CACHE, 10.3)
    assert not is_buffered(None, 0.0) and not is_buffered({}, 0.0)
    assert not is_buffered({"seekable-ranges": [{"start": 0.0, "end": math.nan}]}, 1.0)


def test_only_multivariant_seeks_outside_the_cache_are_refused() -> None:
    assert seek_refusal("media", None, 3000.0) is None  # EDL timelines seek anywhere
    assert seek_refusal("multivariant", CACHE, 35.0) is None
    refusal = seek_refusal("multivariant", CACHE, 44.0)
    assert refusal is not None and "0:00:44" in refusal and "not buffered" in refusal


# --------------------------------------------------------------------------- file timeline


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def timeline(self) -> FileTimeline:
        return FileTimeline(
            lambda s: self.seen.append(("position", s)),
            lambda s: self.seen.append(("duration", s)),
            lambda: self.seen.append(("ended",)),
        )


def test_values_of_the_replaced_file_are_ignored_until_start_file() -> None:
    rec = Recorder()
    timeline = rec.timeline()
    timeline.begin_load(20.0)
    generation = timeline.generation
    timeline.observe("time-pos", 55.0)  # the previous file's
    timeline.observe("eof-reached", True)
    assert timeline.replacing and rec.seen == []
    timeline.start_file()
    timeline.observe("duration", 55.125)
    timeline.loaded(55.125)
    assert rec.seen == [("duration", 55.125), ("position", 20.0)]
    timeline.observe("time-pos", 20.0)  # equal: not re-emitted
    timeline.observe("time-pos", 20.5)
    assert rec.seen[-1] == ("position", 20.5) and len(rec.seen) == 3
    timeline.unload()
    assert timeline.generation == generation + 1 and timeline.position == 0.0


def test_loaded_sends_the_duration_mpv_did_not_resend() -> None:
    rec = Recorder()
    timeline = rec.timeline()
    timeline.begin_load(0.0)
    timeline.start_file()
    timeline.loaded(10.0)  # same duration as the previous file: no property change came
    assert rec.seen == [("duration", 10.0)]  # position 0 equals the start: nothing sent
    timeline.set_duration(-1.0)
    timeline.set_duration(None)
    assert rec.seen == [("duration", 10.0)]


def test_an_end_is_reported_once_and_only_for_a_loaded_file() -> None:
    rec = Recorder()
    timeline = rec.timeline()
    timeline.observe("eof-reached", True)  # nothing loaded yet
    assert rec.seen == []
    timeline.loaded(None)
    timeline.observe("eof-reached", True)
    timeline.end_of_file()  # the end-file event of the same end
    assert rec.seen == [("ended",)] and timeline.eof
    timeline.observe("eof-reached", False)  # a seek back
    timeline.end_of_file()
    assert rec.seen == [("ended",), ("ended",)]


def test_a_refused_load_is_no_longer_pending() -> None:
    timeline = Recorder().timeline()
    timeline.begin_load(0.0)
    timeline.load_refused()
    timeline.load_refused()  # never below zero
    assert not timeline.replacing
    timeline.loaded(None)
    timeline.failed()
    assert not timeline.file_loaded


# --------------------------------------------------------------------------- render link


class FakeCore:
    def __init__(self) -> None:
        self.alive = True
        self.commands: list[tuple] = []
        self.contexts: list[FakeContext] = []

    def command(self, *args: str) -> None:
        self.commands.append(args)

    def render_context(self, api_type: str, **params):
        context = FakeContext(api_type, params)
        self.contexts.append(context)
        return context


class FakeContext:
    def __init__(self, api_type: str, params: dict) -> None:
        self.api_type, self.params, self.freed = api_type, params, False

    def free(self) -> None:
        self.freed = True


class FakeClient:
    def __init__(self, link: RenderLink, cooperative: bool = True) -> None:
        self.link, self.cooperative, self.released = link, cooperative, 0

    def release_render_context(self) -> None:
        self.released += 1
        if not self.cooperative:
            raise RuntimeError("window already destroyed")
        self.link.detach(self, has_source=True)


RESELECT = [("set", "vid", "no"), ("set", "vid", "auto")]
VIDEO = [{"type": "video"}]


def test_a_new_client_takes_over_and_video_is_selected_again() -> None:
    core = FakeCore()
    link = RenderLink(core)  # type: ignore[arg-type]
    first, second = FakeClient(link), FakeClient(link)
    context = link.attach(first, "sw", has_source=False)
    assert context.api_type == "sw" and link.client is first and core.commands == []
    link.attach(second, "opengl", has_source=True, opengl_init_params={"x": 1})
    assert first.released == 1 and link.client is second
    assert core.contexts[-1].params == {"opengl_init_params": {"x": 1}}
    assert core.commands == RESELECT


def test_video_is_reselected_once_after_a_context_was_freed() -> None:
    core = FakeCore()
    link = RenderLink(core)  # type: ignore[arg-type]
    client = FakeClient(link)
    link.attach(client, "sw", has_source=True)
    core.commands.clear()
    link.video_disabled(VIDEO)  # not after a context change: nothing to do
    assert core.commands == []
    link.detach(client, has_source=True)
    link.attach(client, "sw", has_source=True)
    link.video_disabled([{"type": "audio"}])  # no video track: nothing to select
    link.video_disabled(VIDEO)
    link.video_disabled(VIDEO)  # once per context: no retry loop
    assert core.commands == RESELECT * 2
    link.detach(client, has_source=True)
    link.new_file()  # a new file starts with the current context
    link.attach(client, "sw", has_source=False)
    link.video_disabled(VIDEO)
    assert core.commands == RESELECT * 2


def test_release_frees_the_context_the_client_could_not_free() -> None:
    core = FakeCore()
    link = RenderLink(core)  # type: ignore[arg-type]
    link.attach(FakeClient(link), "sw", has_source=False)
    link.release()
    assert not core.contexts[0].freed and link.client is None  # the client freed it
    broken = FakeClient(link, cooperative=False)
    link.attach(broken, "sw", has_source=False)
    link.release()  # logs, does not raise
    assert broken.released == 1 and core.contexts[1].freed and link.client is None


def test_attach_after_terminate_raises() -> None:
    core = FakeCore()
    core.alive = False
    with pytest.raises(PlayerNotAvailable):
        RenderLink(core).attach(object(), "sw", has_source=False)  # type: ignore[arg-type]
