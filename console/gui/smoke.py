"""The end-to-end check: `python main.py smoke --screenshot out.png`.

Opens the real window on the demo stack (or ``--profile``) and drives it the way an
operator does, with input events on its widgets (``QTest`` mouse clicks and key presses),
never by calling a controller: waits for every State cell to fill, types a game id into the
filter, clicks the game, clicks a rung (else v1) in its renditions and "▶ Play", watches two
seconds of frames through the gateway, presses Right (+5 s) until 80 % of the duration,
pauses with Space, grabs the window to a PNG, and succeeds only if frames were rendered
after the seek.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from console.gui.app import make_application, start_gui_loop
from console.gui.composition import build_console
from services.catalog import GameState
from services.errors import describe

SEEK_STEP_S = 5.0  # what Right does (player.keys)


class SmokeFailure(RuntimeError):
    """A step of the smoke check did not happen in time; the message says which."""


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 50 ms on the running loop; raise ``SmokeFailure`` on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def pick_rendition_row(renditions) -> int | None:
    """The row of a rung when the game has one, else of its v1 rendition; never a broken
    one. ``renditions`` are the detail's ``Rendition`` rows in table order."""
    playable = [
        (i, r) for i, r in enumerate(renditions) if r.playlist is not None and not r.missing
    ]
    media = [(i, r) for i, r in playable if r.kind == "media"]
    rungs = [(i, r) for i, r in media if r.name != "v1"]
    chosen = (rungs or media or [(None, None)])[0]
    return chosen[0]


def click_row(view, row: int) -> None:
    """Left click in the middle of ``row``'s first cell of a table view."""
    index = view.model().index(row, 0)
    view.scrollTo(index)
    QTest.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        view.visualRect(index).center(),
    )


def press(key: Qt.Key) -> QWidget:
    """Press ``key`` on the widget that has the keyboard focus (what a keyboard does);
    returns that widget. Raises ``SmokeFailure`` when nothing has the focus."""
    target = QApplication.focusWidget()
    if target is None:
        raise SmokeFailure(f"no widget has the keyboard focus for {key.name}")
    QTest.keyClick(target, key)
    return target


async def smoke(screenshot: str, profile: str | None) -> str:
    """Run the check; returns a one-line summary. Raises ``SmokeFailure``."""
    app = make_application()
    console = await build_console(app, profile)
    try:
        window, player = console.window, console.player
        panel, detail_panel = window.catalog_panel, window.detail_panel
        window.activateWindow()  # the operator's first click does this; no window manager here
        await wait_for(window.isActiveWindow, 10, "the window to take the keyboard focus")
        await wait_for(lambda: panel.model.rowCount() > 0, 120, "the first catalog page")
        await wait_for(
            lambda: all(panel.model.game(r).state for r in range(panel.model.rowCount())),
            60,
            "every State cell to fill",
        )
        games = panel.shown_games()
        order = {GameState.PARTIAL: 0, GameState.V15: 0, GameState.V1: 1}
        candidates = sorted((g for g in games if g.state in order), key=lambda g: order[g.state])
        if not candidates:
            raise SmokeFailure("no playable game in the catalog")
        game = candidates[0]
        QTest.keyClicks(panel.filter_edit, game.id)
        await wait_for(lambda: panel.model.rowCount() == 1, 10, f"the filter to show {game.id}")
        click_row(panel.table, 0)
        await wait_for(
            lambda: detail_panel.detail is not None and detail_panel.detail.summary.id == game.id,
            30,
            f"the detail of {game.id}",
        )
        row = pick_rendition_row(detail_panel.detail.renditions)
        if row is None:
            raise SmokeFailure(f"{game.id} has no playable rendition")
        rendition = detail_panel.detail.renditions[row]
        click_row(detail_panel.renditions, row)
        await wait_for(
            lambda: detail_panel.selected_rendition() == rendition,
            5,
            f"the {rendition.name} row to be selected",
        )
        QTest.mouseClick(detail_panel.play_button, Qt.MouseButton.LeftButton)
        video = window.player_panel.video
        await wait_for(lambda: video.frames_rendered > 0, 30, "the first frame after Play")
        await asyncio.sleep(2.0)
        duration = player.duration or 0.0
        if duration <= 0:
            raise SmokeFailure("the player reports no duration")
        press(Qt.Key.Key_I)  # the statistics overlay, for the screenshot
        await wait_for(window.player_panel.stats.isVisible, 5, "I to show the statistics")
        before_seek = video.frames_rendered
        target = 0.8 * duration
        while player.position < target - 0.5:
            expected = min(duration, player.position + SEEK_STEP_S) - 0.5
            press(Qt.Key.Key_Right)
            await wait_for(lambda e=expected: player.position >= e, 20, "a Right (+5 s) seek")
        await wait_for(
            lambda: video.frames_rendered >= before_seek + 5, 20, "frames after the seek to 80 %"
        )
        await asyncio.sleep(0.5)
        press(Qt.Key.Key_Space)
        await wait_for(lambda: player.paused, 5, "Space to pause")
        await asyncio.sleep(0.3)
        if not window.grab().save(screenshot, "PNG"):
            raise SmokeFailure(f"could not write {screenshot}")
        return (
            f"OK: {game.id} {rendition.name}: {video.frames_rendered - before_seek} "
            f"frames after seeking to {player.position:.1f} s of {duration:.1f} s "
            f"with Right; screenshot {screenshot}"
        )
    finally:
        await console.aclose()
        console.window.close()


def run_smoke(screenshot: str, profile: str | None = None, *, cues: bool = False) -> int:
    """CLI wrapper: prints the summary; exit 0 on success, 1 on failure, 2 without display.
    ``cues`` runs the ad-break check (``console.gui.cue_smoke``) instead."""
    started = start_gui_loop()
    if started is None:
        return 2
    _app, loop = started
    if cues:
        from console.gui.cue_smoke import cue_smoke as check
    else:
        check = smoke
    with loop:
        try:
            print(loop.run_until_complete(check(screenshot, profile)))
            return 0
        except SmokeFailure as exc:
            print(f"SMOKE FAILED: {exc}", file=sys.stderr)
        except Exception as exc:
            print(f"SMOKE FAILED: {describe(exc)}", file=sys.stderr)
    return 1
