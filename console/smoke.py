"""The end-to-end check: `python main.py smoke --screenshot out.png`.

Opens the real window on the demo stack (or ``--profile``), waits for the catalog, opens a
game, plays a rung (else v1) for two seconds through the gateway, seeks to 80 %, grabs the
window to a PNG, and succeeds only if frames were rendered after the seek.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

from console.app import build_console, make_application, start_gui_loop
from console.errors import describe
from services.catalog import GameDetail, GameState


class SmokeFailure(RuntimeError):
    """A step of the smoke check did not happen in time; the message says which."""


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 50 ms on the running loop; raise ``SmokeFailure`` on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def pick_rendition(detail: GameDetail):
    """A rung when the game has one, else its v1 rendition; never a broken one."""
    playable = [r for r in detail.renditions if r.playlist is not None and not r.missing]
    media = [r for r in playable if r.kind == "media"]
    rungs = [r for r in media if r.name != "v1"]
    return (rungs or media or [None])[0]


async def smoke(screenshot: str, profile: str | None) -> str:
    """Run the check; returns a one-line summary. Raises ``SmokeFailure``."""
    app = make_application()
    console = await build_console(app, profile)
    try:
        window, catalog, player = console.window, console.catalog, console.player
        panel = window.catalog_panel
        await wait_for(lambda: panel.model.rowCount() > 0, 120, "the first catalog page")
        await wait_for(
            lambda: all(panel.model.game(r).state for r in range(panel.model.rowCount())),
            60,
            "game states",
        )
        games = [panel.model.game(r) for r in range(panel.model.rowCount())]
        order = {GameState.PARTIAL: 0, GameState.V15: 0, GameState.V1: 1}
        candidates = sorted(
            (g for g in games if g.state in order), key=lambda g: order[g.state]
        )
        if not candidates:
            raise SmokeFailure("no playable game in the catalog")
        details: list[GameDetail] = []
        catalog.detail_loaded.connect(details.append)
        catalog.load_detail(candidates[0].id)
        await wait_for(lambda: bool(details), 30, f"the detail of {candidates[0].id}")
        rendition = pick_rendition(details[-1])
        if rendition is None:
            raise SmokeFailure(f"{candidates[0].id} has no playable rendition")
        video = window.player_panel.video
        window.detail_panel.show_detail(details[-1])
        player.load(catalog.playback_source(rendition, candidates[0].title))
        window.player_panel.toggle_stats()
        await wait_for(lambda: video.frames_rendered > 0, 30, "the first frame")
        await asyncio.sleep(2.0)
        duration = player.duration or 0.0
        if duration <= 0:
            raise SmokeFailure("the player reports no duration")
        before_seek = video.frames_rendered
        player.seek(0.8 * duration)
        await wait_for(
            lambda: (player.position or 0) >= 0.8 * duration - 0.5
            and video.frames_rendered >= before_seek + 5,
            20,
            "frames after the seek to 80 %",
        )
        await asyncio.sleep(0.5)
        player.pause()
        await asyncio.sleep(0.3)
        if not window.grab().save(screenshot, "PNG"):
            raise SmokeFailure(f"could not write {screenshot}")
        return (
            f"OK: {candidates[0].id} {rendition.name}: {video.frames_rendered - before_seek} "
            f"frames after seeking to {0.8 * duration:.1f} s of {duration:.1f} s; "
            f"screenshot {screenshot}"
        )
    finally:
        await console.aclose()
        console.window.close()


def run_smoke(screenshot: str, profile: str | None = None, *, cues: bool = False) -> int:
    """CLI wrapper: prints the summary; exit 0 on success, 1 on failure, 2 without display.
    ``cues`` runs the ad-break check (``console.cue_smoke``) instead."""
    started = start_gui_loop()
    if started is None:
        return 2
    _app, loop = started
    if cues:
        from console.cue_smoke import cue_smoke as check
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
