"""The ad-break end-to-end check: `python main.py smoke --cues --screenshot out.png`.

Opens the real window on the demo stack (or ``--profile``), switches to the Cues tab, plays
the first channel live in the player, starts a 20 s break (no dialog: this is the check),
grabs the window to the PNG once every variant shows the marker and the ad pod plays, then
waits for the full verification (CUE-IN, segments after it) and grabs ``*-verified.png``.
Fails when the break is not verified.
"""

from __future__ import annotations

import asyncio

from console.gui.app import make_application
from console.gui.composition import build_console
from console.gui.smoke import SmokeFailure, wait_for

BREAK_SECONDS = 20
PLAYER_LAG_S = 9.0


async def cue_smoke(screenshot: str, profile: str | None) -> str:
    """Run the check; returns a one-line summary. Raises ``SmokeFailure``."""
    console = await build_console(make_application(), profile)
    try:
        window, cues = console.window, console.cues
        if not cues.available:
            raise SmokeFailure(f"no cue service: {cues.problem}")
        window.show_section(window.cues_panel)
        panel = window.cues_panel
        await wait_for(lambda: panel.channel_box.count() > 0, 30, "the channel list")
        channel = panel.channel_box.currentText()
        video = window.player_panel.video
        cues.preview(channel)
        await wait_for(lambda: video.frames_rendered > 0, 30, "the first live frame")
        finished = []
        cues.verification_finished.connect(finished.append)
        panel.duration.setValue(BREAK_SECONDS)
        cues.start_break(channel, BREAK_SECONDS)
        status = window.cue_status_panel

        def every_variant(word: str) -> bool:
            rows = range(status.table.rowCount())
            return bool(rows) and all(word in status.table.item(r, 2).text() for r in rows)

        await wait_for(lambda: every_variant("marker seen"), 30, "the marker on every variant")
        await asyncio.sleep(PLAYER_LAG_S)  # the player plays a few segments behind the edge
        if not window.grab().save(screenshot, "PNG"):
            raise SmokeFailure(f"could not write {screenshot}")
        await wait_for(lambda: bool(finished), BREAK_SECONDS + 30, "the verification")
        after = screenshot.removesuffix(".png") + "-verified.png"
        window.grab().save(after, "PNG")
        verification = finished[0]
        if not verification.ok:
            raise SmokeFailure(f"break on {channel}: {verification.summary()}")
        return f"OK: break on {channel} {verification.summary()}; screenshots {screenshot}, {after}"
    finally:
        await console.aclose()
        console.window.close()
