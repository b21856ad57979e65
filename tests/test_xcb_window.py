"""The operator's path in the real window: xcb platform under Xvfb, the console started by
its real entry point on fresh dirs (the embedded demo stack seeds itself), driven only by X
input events (xdotool through XTEST), for the OpenGL and the software render paths.

What it asserts is what an operator sees: every State cell leaves "…" soon after the
listing; a click on a game shows its detail; a click on a rendition and on "▶ Play" draws
frames (the video widget's counter advances and the pixels the X server shows are not one
flat colour); Right (+5 s) seeks. This is the test that caught the console running its
qasync loop twice (Play loaded nothing, states stayed "…").
"""

from __future__ import annotations

import pytest

from tests.x11_support import ConsoleProcess, XServer

#: seconds for the first start: the demo stack seeds 8 games from the bundled clip
FIRST_START_S = 240
#: seconds from the first listed row to every State cell filled
STATES_FILLED_S = 20
PENDING = "…"


@pytest.fixture(scope="module")
def xserver():
    with XServer() as server:
        yield server


def _rows_ready(state: dict) -> bool:
    rows = state["catalog"]["rows"]
    return bool(rows) and all(r["state"] not in (None, "", PENDING) for r in rows)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("render", ["gl", "sw"])
def test_operator_plays_a_rendition_and_seeks_with_the_keyboard(xserver, tmp_path, render):
    console = ConsoleProcess(xserver, tmp_path, {"VIDEO_OPS_RENDER": render})
    try:
        listed = console.wait(
            lambda s: s["window"]["visible"] and s["catalog"]["rows"],
            FIRST_START_S,
            "the first catalog rows",
        )
        assert listed["video"]["kind"] == ("MpvGLWidget" if render == "gl" else "MpvSoftwareWidget")
        state = console.wait(_rows_ready, STATES_FILLED_S, "every State cell to leave '…'")
        states = {r["id"]: r["state"] for r in state["catalog"]["rows"]}
        assert set(states.values()) >= {"v1", "partial", "broken"}, states
        # the other tabs' start-up loads ran too (they died with the probes on the old loop)
        console.wait(
            lambda s: s["assets"]["rows"] > 0 and s["cues"]["channels"] >= 2,
            30,
            "the failed assets and the cue channels",
        )

        game = next(r for r in state["catalog"]["rows"] if r["state"] == "v1")
        xserver.click(*game["centre"])
        state = console.wait(
            lambda s: (
                any(r["name"] == "v1" for r in s["detail"]["renditions"])
                and s["detail"]["play_enabled"]
            ),
            30,
            f"the detail of {game['id']}",
        )
        v1 = next(r for r in state["detail"]["renditions"] if r["name"] == "v1")
        xserver.click(*v1["centre"])
        console.wait(lambda s: s["detail"]["selected"], 10, "the v1 row selected")
        before = state["video"]["frames_rendered"]
        xserver.click(*state["detail"]["play_button"])

        playing = console.wait(
            lambda s: s["video"]["frames_rendered"] >= before + 24 and s["player"]["duration"] > 0,
            60,
            "frames drawn after Play",
        )
        assert game["id"] in playing["player"]["title"]
        assert playing["player"]["time"] != "--:-- / --:--"
        drawn = console.wait(
            lambda s: s["video"]["grab"].get("std", 0) > 8,
            20,
            "a picture on screen (not one flat colour)",
        )
        assert drawn["video"]["grab"]["max"] - drawn["video"]["grab"]["min"] > 40

        start = console.wait(lambda s: s["player"]["position"] > 0.5, 30, "playback to advance")
        xserver.key("Right", "Right")
        target = start["player"]["position"] + 9.0
        seeked = console.wait(
            lambda s: s["player"]["position"] >= target, 30, "the keyboard seek (+10 s)"
        )
        console.wait(
            lambda s: s["video"]["frames_rendered"] >= seeked["video"]["frames_rendered"] + 12,
            30,
            "frames after the seek",
        )
        assert not console.state()["banner"], console.state()["banner"]
        xserver.screenshot(tmp_path / f"playing-{render}.png")
    finally:
        code = console.stop()
    assert code == 0, console.output()
