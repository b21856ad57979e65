"""Player tests with the real libmpv (sw render API under QT_QPA_PLATFORM=offscreen).

The demo clip is packaged into fMP4 HLS and served over loopback HTTP
(``tests/conftest_media.py``); the player loads it as an mpv EDL timeline.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VIDEO_OPS_AUDIO", "null")

import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, Qt  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from player.controller import Player  # noqa: E402
from player.keys import (  # noqa: E402
    KEY_BINDINGS,
    PlayerKeyHandler,
    action_for_key,
    perform,
)
from player.playback_stats import PlaybackStats  # noqa: E402
from player.video_widget import (  # noqa: E402
    MpvSoftwareWidget,
    create_video_widget,
)
from services.playback import (  # noqa: E402
    PlaybackSource,
    edl_for_segments,
    edl_quote,
    media_source,
)
from tests.conftest_media import (  # noqa: E402, F401 - fixtures hls_clip, hls_server
    HlsServer,
    hls_clip_fixture,
    hls_server_fixture,
)

FRAME = 1 / 24  # the demo clip is 24 fps
CLIP_SECONDS = 55.125
TINY_CACHE = 400 * 1024  # bytes: far less than one 10 s segment of the clip


@dataclass
class Rig:
    """A player with its software video widget."""

    player: Player
    widget: MpvSoftwareWidget


@pytest.fixture
def rig(qtbot) -> Iterator[Rig]:
    """Player with a tiny demuxer cache (seeking must not depend on the cache) + widget."""
    player = Player(media_cache_bytes=TINY_CACHE, multivariant_cache_bytes=TINY_CACHE)
    widget = MpvSoftwareWidget(player)
    qtbot.addWidget(widget)
    widget.resize(640, 360)
    widget.show()
    try:
        yield Rig(player, widget)
    finally:
        player.shutdown()


def _load_and_wait_frames(qtbot, rig: Rig, source: PlaybackSource, frames: int = 5) -> float:
    """Load ``source``; wait for ``loaded`` and ``frames`` frames; return first-frame seconds."""
    first: list[float] = []
    start_frames = rig.widget.frames_rendered

    def on_frame(_n: int) -> None:
        if not first:
            first.append(time.monotonic())

    rig.widget.frame_rendered.connect(on_frame)
    t0 = time.monotonic()
    with qtbot.waitSignal(rig.player.loaded, timeout=10_000) as blocker:
        rig.player.load(source)
    assert blocker.args == [source.title]
    qtbot.waitUntil(lambda: rig.widget.frames_rendered >= start_frames + frames, timeout=10_000)
    rig.widget.frame_rendered.disconnect(on_frame)
    return first[0] - t0


def _pause_and_settle(qtbot, player: Player) -> None:
    if not player.paused:
        with qtbot.waitSignal(player.pause_changed, timeout=5_000):
            player.pause()
    qtbot.wait(150)  # let the last time-pos notification arrive


# --------------------------------------------------------------------------- services


def test_edl_for_fmp4_segments_quotes_urls_by_byte_length() -> None:
    url = edl_for_segments(
        "http://h:1/t/init.mp4",
        [("http://h:1/t/a,b;c.m4s", 4.0), ("http://h:1/t/é.m4s", 2.5)],
    )
    assert url == (
        "edl://!mp4_dash,init=%21%http://h:1/t/init.mp4;"
        "%22%http://h:1/t/a,b;c.m4s,length=4.0;"
        "%19%http://h:1/t/é.m4s,length=2.5"
    )
    assert edl_quote("é") == "%2%é"  # bytes, not characters


def test_edl_for_ts_segments_has_header_without_init() -> None:
    url = edl_for_segments(None, [("http://h/s0.ts", 6.006)])
    assert url == "edl://!mp4_dash;%14%http://h/s0.ts,length=6.006"


@pytest.mark.parametrize(
    "segments",
    [[], [("http://h/s.m4s", 0.0)], [("http://h/s.m4s", -1.0)], [("http://h/s.m4s", math.nan)]],
)
def test_edl_for_segments_rejects_bad_input(segments) -> None:
    with pytest.raises(ValueError):
        edl_for_segments("http://h/init.mp4", segments)


def test_media_source_sums_durations_and_validates() -> None:
    src = media_source("x", "http://h/i.mp4", [("http://h/a", 4.0), ("http://h/b", 1.5)])
    assert src.kind == "media" and src.duration == pytest.approx(5.5)
    assert src.url.startswith("edl://!mp4_dash,init=")
    with pytest.raises(ValueError):
        PlaybackSource(url="http://h/x.m3u8", title="x", kind="dash")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PlaybackSource(url="", title="x")


# --------------------------------------------------------------------------- widgets


def test_offscreen_platform_picks_the_software_widget(qtbot, monkeypatch) -> None:
    monkeypatch.delenv("VIDEO_OPS_RENDER", raising=False)
    player = Player()
    try:
        widget = create_video_widget(player)
        qtbot.addWidget(widget)
        assert isinstance(widget, MpvSoftwareWidget)
        monkeypatch.setenv("VIDEO_OPS_RENDER", "vulkan")
        with pytest.raises(ValueError):
            create_video_widget(player)
    finally:
        player.shutdown()


# --------------------------------------------------------------------------- playback


def test_load_media_playlist_as_edl_renders_frames(qtbot, rig: Rig, hls_server: HlsServer):
    source = hls_server.media()
    durations: list[float] = []
    rig.player.duration_changed.connect(durations.append)
    first_frame = _load_and_wait_frames(qtbot, rig, source, frames=10)
    print(f"\nfirst frame after load(): {first_frame * 1000:.0f} ms")
    assert first_frame < 5.0
    assert rig.player.duration == pytest.approx(CLIP_SECONDS, abs=0.1)
    assert durations and durations[-1] == pytest.approx(CLIP_SECONDS, abs=0.1)
    qtbot.waitUntil(lambda: rig.player.position > 0.2, timeout=5_000)
    frame = rig.widget.grab_frame()
    assert not frame.isNull()
    center = frame.pixelColor(frame.width() // 2, frame.height() // 2)
    assert center.red() + center.green() + center.blue() > 60  # a picture, not black


def test_seek_to_80_percent_with_tiny_cache(qtbot, rig: Rig, hls_server: HlsServer):
    _load_and_wait_frames(qtbot, rig, hls_server.media(), frames=5)
    hls_server.clear()
    ended: list[bool] = []
    rig.player.ended.connect(lambda: ended.append(True))
    frames_before = rig.widget.frames_rendered
    target = 0.8 * rig.player.duration

    t0 = time.monotonic()
    with qtbot.waitSignal(rig.player.seek_completed, timeout=10_000):
        assert rig.player.seek_fraction(0.8)
    seek_seconds = time.monotonic() - t0
    print(f"\nexact seek to {target:.2f} s outside the cache: {seek_seconds * 1000:.0f} ms")
    assert seek_seconds < 3.0

    qtbot.waitUntil(lambda: rig.widget.frames_rendered >= frames_before + 12, timeout=10_000)
    assert target - FRAME <= rig.player.position < target + 2.0
    assert not ended
    # mpv opened the segment holding the target directly: nothing in between was read.
    skipped = [
        name for name, _start, end in hls_server.clip.segment_starts() if 12.0 < end < target - 5
    ]
    assert skipped and not any(hls_server.requested(name) for name in skipped)

    # And back again, to the start region.
    with qtbot.waitSignal(rig.player.seek_completed, timeout=10_000):
        rig.player.seek(5.0)
    qtbot.waitUntil(lambda: 5.0 - FRAME <= rig.player.position < 7.0, timeout=5_000)
    assert not ended


def test_frame_step_and_back_step_move_exactly_one_frame(qtbot, rig: Rig, hls_server: HlsServer):
    _load_and_wait_frames(qtbot, rig, hls_server.media(), frames=5)
    with qtbot.waitSignal(rig.player.seek_completed, timeout=10_000):
        rig.player.seek(30.0)
    _pause_and_settle(qtbot, rig.player)
    p0 = rig.player.position
    frames0 = rig.widget.frames_rendered

    t0 = time.monotonic()
    rig.player.frame_step()
    qtbot.waitUntil(lambda: rig.player.position > p0 + FRAME / 2, timeout=5_000)
    print(f"\nframe step: {(time.monotonic() - t0) * 1000:.0f} ms")
    assert rig.player.position - p0 == pytest.approx(FRAME, abs=1e-3)
    qtbot.waitUntil(lambda: rig.widget.frames_rendered > frames0, timeout=5_000)
    # mpv steps by unpausing for one frame: the pause property goes False, then True.
    qtbot.waitUntil(lambda: rig.player.paused, timeout=5_000)
    assert rig.player.position - p0 == pytest.approx(FRAME, abs=1e-3)  # still one frame

    rig.player.frame_back_step()
    qtbot.waitUntil(lambda: abs(rig.player.position - p0) < 1e-3, timeout=5_000)
    qtbot.waitUntil(lambda: rig.player.paused, timeout=5_000)


def test_stats_report_size_codec_and_fps(qtbot, rig: Rig, hls_server: HlsServer):
    seen: list[PlaybackStats] = []
    rig.player.stats_changed.connect(seen.append)
    _load_and_wait_frames(qtbot, rig, hls_server.media(), frames=5)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1].width is not None, timeout=5_000)
    stats = seen[-1]
    assert (stats.width, stats.height, stats.video_codec) == (1280, 720, "h264")
    assert stats.fps == pytest.approx(24.0, abs=0.01)
    assert stats.variant is None  # a media playlist has no HLS variant
    assert rig.player.stats == stats


def test_playing_to_the_end_emits_ended_and_play_restarts(qtbot, rig: Rig, hls_server: HlsServer):
    _load_and_wait_frames(qtbot, rig, hls_server.media(), frames=3)
    with qtbot.waitSignal(rig.player.ended, timeout=10_000):
        rig.player.seek(rig.player.duration - 0.5)
    with qtbot.waitSignal(rig.player.seek_completed, timeout=10_000):
        rig.player.play()  # at the end: starts over
    qtbot.waitUntil(lambda: rig.player.position < 5.0 and not rig.player.paused, timeout=5_000)


def test_load_with_start_position(qtbot, rig: Rig, hls_server: HlsServer):
    rig.player.load(hls_server.media(), start=20.0)
    qtbot.waitUntil(lambda: rig.widget.frames_rendered >= 3, timeout=10_000)
    assert 20.0 - FRAME <= rig.player.position < 22.0


def test_missing_playlist_object_reports_a_readable_error(qtbot, rig: Rig, hls_server: HlsServer):
    bad = media_source(
        "Game 404",
        hls_server.url("no-such-init.mp4"),
        [(hls_server.url(n), d) for n, d in hls_server.clip.segments],
    )
    with qtbot.waitSignal(rig.player.error, timeout=10_000) as blocker:
        rig.player.load(bad)
    message = blocker.args[0]
    assert "Game 404" in message and "404" in message and "no-such-init.mp4" in message
    assert "Traceback" not in message
    # The player is still usable afterwards.
    _load_and_wait_frames(qtbot, rig, hls_server.media(), frames=3)


def test_unreachable_server_reports_connection_error(qtbot, rig: Rig):
    source = PlaybackSource(url="http://127.0.0.1:9/x/master.m3u8", title="Nowhere")
    with qtbot.waitSignal(rig.player.error, timeout=10_000) as blocker:
        rig.player.load(source)
    assert "Nowhere" in blocker.args[0] and "refused" in blocker.args[0]


def test_multivariant_refuses_seeks_outside_the_cache(qtbot, rig: Rig, hls_server: HlsServer):
    _load_and_wait_frames(qtbot, rig, hls_server.multivariant(), frames=5)
    errors: list[str] = []
    rig.player.error.connect(errors.append)
    ended: list[bool] = []
    rig.player.ended.connect(lambda: ended.append(True))
    assert rig.player.seek_fraction(0.8) is False  # 400 KiB cache: 44 s is not buffered
    assert errors and "not buffered" in errors[0]
    frames = rig.widget.frames_rendered
    qtbot.waitUntil(lambda: rig.widget.frames_rendered > frames + 5, timeout=5_000)
    assert not ended
    qtbot.waitUntil(lambda: rig.player.stats.variant is not None, timeout=5_000)
    variant = rig.player.stats.variant
    assert (variant.width, variant.height, variant.count) == (1280, 720, 1)


def test_a_new_video_widget_takes_over_while_playing(qtbot, hls_server: HlsServer):
    player = Player()
    try:
        old = MpvSoftwareWidget(player)
        old.show()
        player.load(hls_server.media())
        qtbot.waitUntil(lambda: old.frames_rendered >= 3, timeout=10_000)
        # The panel is rebuilt: the old widget goes away, a new one is created mid-playback.
        # (libmpv disables video when its render context is freed; the player re-enables it.)
        old.release_render_context()
        old.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        new = MpvSoftwareWidget(player)
        qtbot.addWidget(new)
        new.show()
        qtbot.waitUntil(lambda: new.frames_rendered >= 5, timeout=10_000)
    finally:
        player.shutdown()


def test_shutdown_after_the_widget_was_deleted(qtbot, hls_server: HlsServer):
    player = Player()
    widget = MpvSoftwareWidget(player)
    widget.show()
    player.load(hls_server.media())
    qtbot.waitUntil(lambda: widget.frames_rendered >= 3, timeout=10_000)
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.wait(200)  # mpv keeps calling back meanwhile; nothing may crash
    player.shutdown()
    assert player.is_shut_down


def test_shutdown_is_idempotent_and_later_calls_are_no_ops(qtbot, hls_server: HlsServer):
    player = Player()
    widget = MpvSoftwareWidget(player)
    qtbot.addWidget(widget)
    player.shutdown()
    player.shutdown()
    assert player.is_shut_down
    player.load(hls_server.media())
    player.play()
    assert player.seek(3.0) is False
    player.frame_step()
    player.stop()


# --------------------------------------------------------------------------- keys


class FakePlayer:
    """Records the calls the key handler makes."""

    is_shut_down = False

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self.calls.append((name, *args, *kwargs.values()))


@pytest.mark.parametrize(
    ("key", "mods", "expected"),
    [
        (Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, ("toggle_pause",)),
        (Qt.Key.Key_P, Qt.KeyboardModifier.NoModifier, ("toggle_pause",)),
        (Qt.Key.Key_Period, Qt.KeyboardModifier.NoModifier, ("frame_step",)),
        (Qt.Key.Key_Comma, Qt.KeyboardModifier.NoModifier, ("frame_back_step",)),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier, ("seek_relative", -5.0, True)),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.KeypadModifier, ("seek_relative", 5.0, True)),
        (Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier, ("seek_relative", 60.0, True)),
        (Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier, ("seek_relative", -60.0, True)),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier, ("seek_relative", -1.0, True)),
        (Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier, ("seek_relative", 1.0, True)),
        (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier, ("seek", 0.0)),
    ],
)
def test_keys_map_to_player_calls(qtbot, key, mods, expected) -> None:
    fake = FakePlayer()
    handler = PlayerKeyHandler(fake)  # type: ignore[arg-type]
    target = QWidget()
    qtbot.addWidget(target)
    target.installEventFilter(handler)
    event = QKeyEvent(QEvent.Type.KeyPress, key, mods)
    QApplication.sendEvent(target, event)
    assert fake.calls == [expected]


def test_i_toggles_stats_and_unbound_keys_pass(qtbot) -> None:
    fake = FakePlayer()
    toggled: list[bool] = []
    handler = PlayerKeyHandler(fake, on_toggle_stats=lambda: toggled.append(True))  # type: ignore[arg-type]
    assert handler.handle_key_event(
        QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_I, Qt.KeyboardModifier.NoModifier)
    )
    assert toggled == [True] and fake.calls == []
    # Held Space (auto-repeat) does not toggle pause again and again.
    repeat = QKeyEvent(
        QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier, "", True
    )
    assert handler.handle_key_event(repeat) and fake.calls == []
    assert action_for_key(Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier) is None
    assert action_for_key(Qt.Key.Key_X, Qt.KeyboardModifier.NoModifier) is None
    assert perform(fake, "toggle_stats") is False  # type: ignore[arg-type]
    assert {b.action for b in KEY_BINDINGS} >= {"toggle_pause", "toggle_stats", "seek_start"}


def test_every_binding_has_a_unique_trigger_and_shows_in_the_help_line() -> None:
    from player.keys import CLIP_KEY_BINDINGS, PLAYER_KEYS, KeyBinding, KeyMap, help_line, press
    from views.player_panel import CLIP_KEY_HELP, KEY_HELP

    assert KEY_HELP == (
        "Space/P play/pause · ,/. frame back/forward · ←/→ 5 s · ↑/↓ 60 s · "
        "Shift+←/→ 1 s exact · Home start · I stats"
    )
    assert CLIP_KEY_HELP == " · [/] clip in/out"
    for binding in (*KEY_BINDINGS, *CLIP_KEY_BINDINGS):
        assert binding.hint in KEY_HELP + CLIP_KEY_HELP and binding.description
    for binding in KEY_BINDINGS:  # the table is the key map: each trigger runs its action
        for key, shift in binding.triggers:
            mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
            assert action_for_key(key, mods) == binding.action
    assert PLAYER_KEYS.binding("seek_back_60").seconds == -60.0
    # A binding added to a table shows in the help with no second edit...
    extra = KeyBinding("F", "fullscreen", "Full screen", "F", "full screen", (press(Qt.Key.Key_F),))
    assert help_line((*KEY_BINDINGS, extra)) == KEY_HELP + " · F full screen"
    assert KeyMap((*KEY_BINDINGS, extra)).binding_for(Qt.Key.Key_F, Qt.KeyboardModifier.NoModifier)
    # ...and a key bound twice is refused.
    clash = KeyBinding(
        "Space", "other", "Other", "Space", "other", (press(Qt.Key.Key_Space, None),)
    )
    with pytest.raises(ValueError, match="already bound"):
        KeyMap((*KEY_BINDINGS, clash))
