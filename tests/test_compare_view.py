"""The compare view and controller on a really backfilled game (moto + gateway + libmpv
offscreen): open_compare positions both sides, the modes show the right pixels, PSNR/SSIM
of the frame on screen, PNG export, keys, zoom."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPointF, QRect, Qt
from PySide6.QtGui import QImage, QKeyEvent

from console.gui.compare_controller import CompareController
from services.catalog import CatalogService
from services.frame_metrics import FrameMetrics, parse_metrics
from services.storage import Storage
from tests.compare_support import (
    ComparedGame,
)
from views.compare_canvas import CompareMode
from views.compare_view import CompareView
from views.frame_compose import difference_image

FRAME = 150  # 6.25 s into the game: a bright, detailed picture


@pytest.fixture
def view(qtbot, qloop, compared_game: ComparedGame) -> Iterator[CompareView]:
    storage = Storage(compared_game.config)
    controller = CompareController(
        CatalogService(storage),
        compared_game.gateway.url_for,
        media_cache_bytes=4 * 1024 * 1024,
    )
    made = CompareView(controller)
    qtbot.addWidget(made)
    made.resize(1280, 860)
    made.show()
    try:
        yield made
    finally:
        controller.shutdown()
        storage.close()


def _open(qtbot, view: CompareView, game: ComparedGame, rung: str, reference: str) -> None:
    shown: list[bool] = []
    view.controller.show_requested.connect(lambda: shown.append(True))
    with qtbot.waitSignals([view.pair.loaded, view.pair.synced], timeout=30_000):
        view.controller.open_compare(game.game_id, rung, reference, FRAME)
    assert shown
    qtbot.waitUntil(lambda: not any(img.isNull() for img in view.canvas.frames()), timeout=5_000)
    qtbot.wait(150)  # the last frames reach the canvas


def _mean_level(image: QImage) -> float:
    """Mean of R, G, B over the picture (0..255), from a box-filtered 32x18 thumbnail."""
    small = image.scaled(
        32, 18, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    total = 0
    for y in range(small.height()):
        for x in range(small.width()):
            colour = small.pixelColor(x, y)
            total += colour.red() + colour.green() + colour.blue()
    return total / (3 * small.width() * small.height())


def _distance(one: QImage, other: QImage, rect: QRect) -> float:
    """Mean |one - other| (0..255) over ``rect``."""
    return _mean_level(difference_image(one.copy(rect), other.copy(rect), 1))


def _centre(image: QImage) -> QImage:
    """The middle of a composed canvas (away from the side labels)."""
    w, h = image.width(), image.height()
    return image.copy(QRect(w // 4, h // 4, w // 2, h // 2))


def _measure(qtbot, view: CompareView) -> FrameMetrics:
    with qtbot.waitSignal(view.controller.metrics_ready, timeout=30_000) as blocker:
        view.measure()
    return blocker.args[0]


def test_same_rendition_is_identical_everywhere(qtbot, view, compared_game) -> None:
    _open(qtbot, view, compared_game, "720p", "720p")
    a, b = view.pair.state(0), view.pair.state(1)
    assert a.frame == b.frame == FRAME
    assert "frame 150" in view.side_labels[0].text() and "frame 150" in view.side_labels[1].text()
    frame_a, frame_b = view.canvas.frames()
    assert (frame_a.width(), frame_a.height()) == (1280, 720)
    assert frame_a == frame_b
    assert _mean_level(frame_a) > 20  # a real picture, not black
    view.set_mode(CompareMode.DIFFERENCE)
    assert _mean_level(difference_image(frame_a, frame_b, 16)) == 0
    assert _mean_level(_centre(view.canvas.composed())) < 0.5
    metrics = _measure(qtbot, view)
    assert math.isinf(metrics.psnr_db) and metrics.ssim == pytest.approx(1.0)


def test_rungs_differ_in_every_mode(qtbot, view, compared_game, tmp_path: Path) -> None:
    _open(qtbot, view, compared_game, "360p", "720p")  # A = 720p reference, B = 360p
    assert "720p" in view.canvas._labels[0] and "360p" in view.canvas._labels[1]
    frame_a, frame_b = view.canvas.frames()
    # 360p is rendered at the reference's size (upscaled by mpv) before comparison.
    assert (frame_b.width(), frame_b.height()) == (1280, 720)
    assert view.pair.state(1).pts == pytest.approx(view.pair.state(0).pts, abs=1e-3)

    canvas = view.canvas
    canvas.show_single(0)
    only_a = _centre(canvas.composed())
    canvas.show_single(1)
    only_b = _centre(canvas.composed())
    assert only_a != only_b
    canvas.set_mode(CompareMode.WIPE)
    canvas.set_wipe(1.0)
    assert _centre(canvas.composed()) == only_a  # the split at the right edge: all A
    canvas.set_wipe(0.0)
    assert _centre(canvas.composed()) == only_b  # at the left edge: all B
    canvas.set_wipe(0.5)
    half = canvas.composed()
    w, h = half.width(), half.height()
    left_of_split = QRect(w // 4, h // 4, w // 5, h // 2)
    right_of_split = QRect(w // 2 + w // 20, h // 4, w // 5, h // 2)
    canvas.show_single(0)
    whole_a = canvas.composed()
    canvas.show_single(1)
    whole_b = canvas.composed()
    # (a clipped, scaled draw may round a pixel differently: compare by mean difference)
    assert _distance(half, whole_a, left_of_split) < 0.5 < _distance(half, whole_b, left_of_split)
    assert _distance(half, whole_b, right_of_split) < 0.5 < _distance(half, whole_a, right_of_split)

    canvas.set_mode(CompareMode.DIFFERENCE)
    assert _mean_level(_centre(canvas.composed())) > 2  # not black: the rungs differ

    metrics = _measure(qtbot, view)
    assert 25 < metrics.psnr_db < 50 and 0.7 < metrics.ssim < 0.999
    assert "PSNR" in view.metrics_label.text()

    paths = view.controller.export_frames(tmp_path / "export")
    assert len(paths) == 2 and all(Path(p).exists() for p in paths)
    assert "_A_720p" in paths[0] and "_B_" in paths[1] and "360p" in paths[1]
    assert "f000150" in paths[0]
    for path in paths:
        image = QImage(path)
        assert (image.width(), image.height()) == (1280, 720)
    assert QImage(paths[0]) != QImage(paths[1])


def _key(view: CompareView, key: Qt.Key, text: str = "", mods=Qt.KeyboardModifier.NoModifier):
    view.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, key, mods, text))


def test_keys_modes_steps_and_zoom(qtbot, view, compared_game) -> None:
    _open(qtbot, view, compared_game, "720p", "v1")
    _key(view, Qt.Key.Key_D, "d")
    assert view.canvas.mode == CompareMode.DIFFERENCE
    _key(view, Qt.Key.Key_S, "s")
    assert view.canvas.mode == CompareMode.SIDE_BY_SIDE
    _key(view, Qt.Key.Key_B, "b")
    assert view.canvas.mode == CompareMode.SINGLE and view.canvas.shown_side == 1
    _key(view, Qt.Key.Key_T, "t")
    assert view.canvas.shown_side == 0
    _key(view, Qt.Key.Key_W, "w")
    assert view.canvas.mode == CompareMode.WIPE
    with qtbot.waitSignal(view.pair.synced, timeout=15_000):
        _key(view, Qt.Key.Key_Period, ".")
    assert view.pair.state(0).frame == view.pair.state(1).frame == FRAME + 1
    with qtbot.waitSignal(view.pair.synced, timeout=15_000):
        _key(view, Qt.Key.Key_Left, "", Qt.KeyboardModifier.ShiftModifier)
    assert view.pair.state(0).frame == view.pair.state(1).frame == FRAME + 1 - 24

    before = _centre(view.canvas.composed())
    _key(view, Qt.Key.Key_Plus, "+")
    assert view.canvas.zoom == pytest.approx(1.5) and view.zoom_label.text() == "1.50×"
    zoomed = _centre(view.canvas.composed())
    assert zoomed != before
    view.canvas.pan_by(40, 0)
    assert _centre(view.canvas.composed()) != zoomed
    view.canvas.set_zoom(3.0, QPointF(100, 100))
    assert view.canvas.zoom == 3.0
    _key(view, Qt.Key.Key_0, "0")
    assert view.canvas.zoom == 1.0 and _centre(view.canvas.composed()) == before


def test_space_plays_frame_locked_and_l_switches_to_free_play(qtbot, view, compared_game):
    _open(qtbot, view, compared_game, "360p", "v1")
    assert view.pair.frame_locked and view.lock_button.isChecked()
    locked: list[float] = []
    view.pair.locked_frame.connect(locked.append)
    _key(view, Qt.Key.Key_Space, " ")
    qtbot.waitUntil(lambda: len(locked) >= 24, timeout=20_000)
    assert "Frame-locked play at" in view.message.text()
    with qtbot.waitSignal(view.pair.synced, timeout=15_000):
        _key(view, Qt.Key.Key_Space, " ")
    a, b = view.pair.state(0), view.pair.state(1)
    assert a.frame == b.frame >= FRAME + 24
    _key(view, Qt.Key.Key_L, "l")
    assert not view.pair.frame_locked and not view.lock_button.isChecked()
    count = len(locked)
    _key(view, Qt.Key.Key_Space, " ")
    qtbot.waitUntil(lambda: view.pair.time > b.pts + 0.5, timeout=10_000)
    assert len(locked) == count  # free play: no frame-locked steps
    with qtbot.waitSignal(view.pair.synced, timeout=15_000):
        _key(view, Qt.Key.Key_Space, " ")
    assert view.pair.in_lockstep()


def test_a_source_that_starts_differently_is_aligned_by_offset(qtbot, view, compared_game):
    _open(qtbot, view, compared_game, "720p", "source")  # A = source.mp4, B = 720p
    a, b = view.pair.state(0), view.pair.state(1)
    assert a.pts == pytest.approx(b.pts, abs=1e-3)  # same PTS...
    assert (a.frame, b.frame) == (FRAME, FRAME - 2)  # ...but not the same picture
    misaligned = _measure(qtbot, view)
    assert view.pair.first_frame_offset() == 2
    with qtbot.waitSignal(view.pair.synced, timeout=15_000):
        view.align_starts()
    assert view.pair.offset(1) == 2 and view.offsets[1].value() == 2
    a, b = view.pair.state(0), view.pair.state(1)
    assert a.frame == b.frame == FRAME and b.pts - a.pts == pytest.approx(2 / 24, abs=1e-3)
    qtbot.wait(150)
    aligned = _measure(qtbot, view)
    assert aligned.psnr_db > misaligned.psnr_db + 3 and aligned.psnr_db > 33


def test_unknown_rendition_is_reported(qtbot, view, compared_game) -> None:
    with qtbot.waitSignal(view.controller.error, timeout=20_000) as blocker:
        view.controller.open_compare(compared_game.game_id, "1080p", "v1", 0)
    assert "1080p" in blocker.args[0] and "720p" in blocker.args[0]
    assert "1080p" in view.message.text()


def test_parse_metrics_reads_inf_and_rejects_garbage() -> None:
    text = (
        "[Parsed_psnr_2 @ 0x1] PSNR r:inf g:inf b:inf average:inf min:inf max:inf\n"
        "[Parsed_ssim_3 @ 0x2] SSIM R:1.000000 (inf) G:1.000000 (inf) All:1.000000 (inf)\n"
    )
    metrics = parse_metrics(text)
    assert math.isinf(metrics.psnr_db) and metrics.ssim == 1.0
    assert metrics.label == "PSNR ∞ dB · SSIM 1.0000"
    from services.errors import MediaError

    with pytest.raises(MediaError):
        parse_metrics("Error opening input files")


def test_the_source_side_is_the_catalogs_source_by_the_layout_rule(qtbot) -> None:
    """Compare opens the source the catalog found (``GameDetail.source_key``, the rule the
    spot-check uses, ``source_prefix`` form included) and reads the typed ledger's rate."""
    from dataclasses import replace
    from types import SimpleNamespace

    from console.gui.compare_controller import _frame_rate, comparable_names
    from services.catalog import GameDetail, GameSummary
    from services.errors import NotFound
    from tests.test_catalog import ledger_for

    game = GameDetail(GameSummary("g"), (), (), "", None, source_key="mezzanine/g.mov")
    assert comparable_names(game) == ["source"]
    assert comparable_names(replace(game, source_key=None)) == []
    catalog = SimpleNamespace(source_prefix="mezzanine/")
    controller = CompareController(catalog, lambda key: f"http://gw/{key}")  # type: ignore[arg-type]
    assert controller._source(game, "source").url == "http://gw/mezzanine/g.mov"
    with pytest.raises(NotFound, match=r"no source object \(games/g/source\.\* or mezzanine/g\.\*"):
        controller._source(replace(game, source_key=None), "source")
    assert _frame_rate(game) is None
    assert _frame_rate(replace(game, ledger=ledger_for("g"))) == 24.0


def test_the_key_help_is_generated_from_the_compare_key_table(view) -> None:
    from PySide6.QtWidgets import QLabel

    from player.compare_keys import COMPARE_KEY_BINDINGS, COMPARE_KEYS
    from views.compare_view import KEY_HELP

    assert KEY_HELP == (
        "Space/P play/pause · L frame-locked play · ,/. frame back/forward · ←/→ 5 s · "
        "↑/↓ 60 s · Shift+←/→ 1 s exact · Home start · W wipe · S side by side · "
        "D difference · A/B show one side · Tab/T swap A/B · +/− zoom · 0 fit · M PSNR/SSIM · "
        "drag: split (wipe) or pan · wheel: zoom"
    )
    assert any(label.text() == KEY_HELP for label in view.findChildren(QLabel))
    # Every binding runs something: a relative seek carries its seconds, the rest a handler.
    handled = set(view._key_actions)
    assert {b.action for b in COMPARE_KEY_BINDINGS if b.seconds is None} <= handled
    no_mods, shift = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier
    assert COMPARE_KEYS.binding_for(Qt.Key.Key_W, shift).action == "mode_wipe"  # W or w
    assert COMPARE_KEYS.binding_for(Qt.Key.Key_Equal, no_mods).action == "zoom_in"
    assert COMPARE_KEYS.binding_for(Qt.Key.Key_I, no_mods) is None  # no stats overlay here
    # A held key repeats zoom but does not toggle play again and again.
    held = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Plus, no_mods, "+", True)
    assert view.handle_key(held) and view.canvas.zoom == pytest.approx(1.5)
    view.canvas.reset_view()
    playing = view.pair.playing
    assert view.handle_key(QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, no_mods, " ", True))
    assert view.pair.playing == playing
