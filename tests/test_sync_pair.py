"""The synchronized pair with real libmpv (sw render, offscreen) on a really backfilled game
served by the playback gateway from moto: lockstep after random steps and seeks, offsets."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from player.sync_pair import SyncedPair
from tests.compare_support import (
    FPS,
    ComparedGame,
)

FRAME = 1 / FPS
SMALL_CACHE = 2 * 1024 * 1024  # bytes: seeks must not depend on the demuxer cache


@pytest.fixture
def pair(qtbot) -> Iterator[SyncedPair]:
    made = SyncedPair(media_cache_bytes=SMALL_CACHE)
    try:
        yield made
    finally:
        made.shutdown()


def _load(qtbot, pair: SyncedPair, game: ComparedGame, a: str, b: str, frame: int = 0) -> None:
    with qtbot.waitSignals([pair.loaded, pair.synced], timeout=20_000, order="strict"):
        pair.load(game.source(a), game.source(b), frame=frame)


def _wait_synced(qtbot, pair: SyncedPair, action) -> float:
    with qtbot.waitSignal(pair.synced, timeout=15_000) as blocker:
        action()
    return blocker.args[0]


def test_lockstep_after_50_random_steps_and_seeks(qtbot, pair, compared_game) -> None:
    errors: list[str] = []
    pair.error.connect(errors.append)
    _load(qtbot, pair, compared_game, "720p", "v1")
    a, b = pair.state(0), pair.state(1)
    assert a.frame == b.frame == 0 and a.pts == pytest.approx(b.pts, abs=1e-6)
    assert a.fps == pytest.approx(FPS, abs=0.01)
    duration = pair.duration
    assert duration == pytest.approx(14.125, abs=0.05)

    rng = random.Random(20261122)
    kinds: list[str] = []
    for _ in range(50):
        kind = rng.choice(["step", "step", "back", "seek", "frame"])
        frame_before = pair.state(0).frame
        if kind == "step" and pair.time > duration - 3 * FRAME:
            kind = "back"
        if kind == "back" and frame_before < 2:
            kind = "step"
        kinds.append(kind)
        if kind == "step":
            _wait_synced(qtbot, pair, lambda: pair.step(1))
        elif kind == "back":
            _wait_synced(qtbot, pair, lambda: pair.step(-1))
        elif kind == "seek":
            _wait_synced(qtbot, pair, lambda: pair.seek(rng.uniform(0.0, duration - 0.5)))
        else:
            target = rng.randrange(0, int(duration * FPS) - 12)
            _wait_synced(qtbot, pair, lambda t=target: pair.seek_frame(t))
        a, b = pair.state(0), pair.state(1)
        assert a.pts == pytest.approx(b.pts, abs=1e-3), (kind, a, b)
        assert a.frame == b.frame, (kind, a, b)
        if kind in ("step", "back"):
            assert a.frame - frame_before == (1 if kind == "step" else -1), (kind, a)
        assert pair.players[0].paused and pair.players[1].paused
    assert {"step", "back", "seek", "frame"} <= set(kinds)
    assert not errors
    for source in pair.sources:
        image = source.image()
        assert (image.width(), image.height()) == (1280, 720)


def test_step_moves_one_frame_on_both_sides(qtbot, pair, compared_game) -> None:
    _load(qtbot, pair, compared_game, "720p", "360p", frame=100)
    start = pair.state(0)
    assert start.frame == 100
    _wait_synced(qtbot, pair, lambda: pair.step(1))
    assert pair.state(0).frame == pair.state(1).frame == 101
    _wait_synced(qtbot, pair, lambda: pair.step(-1))
    _wait_synced(qtbot, pair, lambda: pair.step(-1))
    assert pair.state(0).frame == pair.state(1).frame == 99
    assert pair.state(0).pts == pytest.approx(start.pts - FRAME, abs=1e-3)


def test_offset_keeps_side_b_n_frames_apart(qtbot, pair, compared_game) -> None:
    _load(qtbot, pair, compared_game, "720p", "720p", frame=50)
    _wait_synced(qtbot, pair, lambda: pair.set_offset(1, 3))
    rng = random.Random(7)
    for _ in range(8):
        choice = rng.choice(["step", "back", "frame"])
        if choice == "step":
            _wait_synced(qtbot, pair, lambda: pair.step(1))
        elif choice == "back":
            _wait_synced(qtbot, pair, lambda: pair.step(-1))
        else:
            _wait_synced(qtbot, pair, lambda: pair.seek_frame(rng.randrange(20, 200)))
        a, b = pair.state(0), pair.state(1)
        assert b.frame - a.frame == 3, (choice, a, b)
        assert b.pts - a.pts == pytest.approx(3 * FRAME, abs=1e-3)
    # Same rendition, 3 frames apart: the pictures differ; back at offset 0 they are equal.
    assert pair.sources[0].image() != pair.sources[1].image()
    _wait_synced(qtbot, pair, lambda: pair.set_offset(1, 0))
    qtbot.wait(100)
    assert pair.sources[0].image() == pair.sources[1].image()


def test_free_play_then_pause_realigns_both_sides(qtbot, pair, compared_game) -> None:
    _load(qtbot, pair, compared_game, "360p", "v1", frame=10)
    pair.frame_locked = False  # two clocks with drift correction
    pair.play()
    qtbot.waitUntil(lambda: pair.time > 1.5, timeout=10_000)
    assert pair.playing
    _wait_synced(qtbot, pair, pair.pause)
    assert not pair.playing
    assert pair.state(0).pts == pytest.approx(pair.state(1).pts, abs=1e-3)


def test_adaptive_sources_are_refused(pair, compared_game) -> None:
    from services.playback import multivariant_source

    master = multivariant_source("ABR", compared_game.gateway.url_for("games/x/master.m3u8"))
    with pytest.raises(ValueError, match="adaptive"):
        pair.load(master, compared_game.source("720p"))


def test_frame_locked_playback_shows_the_same_frame_on_both_sides_at_every_frame(
    qtbot, pair, compared_game
) -> None:
    _load(qtbot, pair, compared_game, "720p", "360p", frame=10)
    assert pair.frame_locked  # the default
    shown: list[tuple] = []
    pair.locked_frame.connect(lambda _t: shown.append((pair.state(0), pair.state(1))))
    pair.play()
    assert pair.playing
    qtbot.waitUntil(lambda: len(shown) >= 36, timeout=30_000)
    _wait_synced(qtbot, pair, pair.pause)
    assert not pair.playing
    frames = [a.frame for a, _ in shown]
    assert frames == list(range(11, 11 + len(shown)))  # every frame, none skipped
    for a, b in shown:
        assert (a.frame, a.pts) == (b.frame, pytest.approx(b.pts, abs=1e-6))
    assert 0 < pair.locked_fps <= FPS * 1.05  # never faster than real time
    assert pair.in_lockstep()


def test_frame_locked_playback_stops_at_the_end_in_lockstep(qtbot, pair, compared_game) -> None:
    _load(qtbot, pair, compared_game, "720p", "v1")
    last = round(pair.duration * FPS) - 1
    _wait_synced(qtbot, pair, lambda: pair.seek_frame(last - 5))
    with qtbot.waitSignal(
        pair.playing_changed, timeout=20_000, check_params_cb=lambda playing: not playing
    ):
        pair.play()
    qtbot.waitUntil(lambda: not pair.busy, timeout=15_000)
    a, b = pair.state(0), pair.state(1)
    assert a.frame == b.frame and a.frame >= last - 1


def test_shutdown_stops_every_timer_of_the_pair_even_while_playing(qtbot, compared_game) -> None:
    from PySide6.QtCore import QTimer

    pair = SyncedPair(media_cache_bytes=SMALL_CACHE)
    try:
        _load(qtbot, pair, compared_game, "720p", "360p", frame=10)
        shown: list[float] = []
        pair.locked_frame.connect(shown.append)
        pair.play()  # frame-locked: the lock-step timer runs
        qtbot.waitUntil(lambda: len(shown) >= 3, timeout=20_000)
        timers = pair.findChildren(QTimer)
        assert any(timer.isActive() for timer in timers)
    finally:
        pair.shutdown()
    assert [t for t in timers if t.isActive()] == []  # the pair's and its players' timers
    assert not pair.playing and not pair.busy
    count = len(shown)
    qtbot.wait(200)  # a running timer would keep stepping (and polling dead players)
    assert len(shown) == count
    pair.play()  # commands after shutdown are no-ops
    pair.step(1)
    assert not pair.playing
