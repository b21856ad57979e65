"""Run the console exactly as ``make run`` does (``console.cli.main([])``) with an observer
that publishes what the window shows, for tests that drive it with real X input events.

Usage (by ``tests/test_xcb_window.py``, under Xvfb with ``QT_QPA_PLATFORM=xcb``)::

    python tests/xcb_console.py STATE.json

Every 100 ms the observer writes ``STATE.json`` (atomically) with the texts of the catalog's
State cells, the detail panel's renditions, the player's label and time, the video widget's
frame counter, and the **screen** position of every widget the test clicks (row centres,
buttons, tabs), so the test side can aim ``xdotool`` at them. Twice a second it grabs the
video area from the X server (``QScreen.grabWindow``: the pixels on screen, not a widget
render) and reports its luma spread. Nothing here calls a controller: the observer only
reads.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QGuiApplication

import console.gui.composition as composition
from console.cli import main

SAMPLE_GRID = (32, 18)  # pixels sampled across the video area for the luma spread


def _centre(widget, rect=None) -> list[int]:
    """Screen coordinates of the centre of ``rect`` (widget coordinates) or the widget."""
    rect = rect if rect is not None else widget.rect()
    point = widget.mapToGlobal(rect.center())
    return [point.x(), point.y()]


def _luma_spread(widget) -> dict[str, float]:
    """Min, max and standard deviation of the luma of a grid of on-screen pixels."""
    origin = widget.mapToGlobal(QPoint(0, 0))
    width, height = widget.width(), widget.height()
    screen = QGuiApplication.screenAt(origin) or QGuiApplication.primaryScreen()
    image = screen.grabWindow(0, origin.x(), origin.y(), width, height).toImage()
    if image.isNull() or width < 2 or height < 2:
        return {"min": 0.0, "max": 0.0, "std": 0.0}
    lumas = []
    cols, rows = SAMPLE_GRID
    for j in range(rows):
        for i in range(cols):
            colour = image.pixelColor(
                (i * (image.width() - 1)) // (cols - 1), (j * (image.height() - 1)) // (rows - 1)
            )
            lumas.append(0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue())
    mean = sum(lumas) / len(lumas)
    std = (sum((v - mean) ** 2 for v in lumas) / len(lumas)) ** 0.5
    return {"min": min(lumas), "max": max(lumas), "std": std}


def _tabs(tab_widget) -> dict[str, list[int]]:
    bar = tab_widget.tabBar()
    return {
        tab_widget.tabText(i).replace("&", ""): _centre(bar, bar.tabRect(i))
        for i in range(tab_widget.count())
    }


def snapshot(console, grab: dict) -> dict:
    """What the window shows now (see the module docstring)."""
    window = console.window
    catalog = window.catalog_panel
    table = catalog.table
    rows = []
    for r in range(catalog.model.rowCount()):
        index = catalog.model.index(r, 0)
        rows.append(
            {
                "id": catalog.model.game(r).id,
                "state": catalog.model.data(index),
                "centre": _centre(table.viewport(), table.visualRect(index)),
            }
        )
    detail = window.detail_panel
    renditions = []
    for r in range(detail.renditions.rowCount()):
        item = detail.renditions.item(r, 0)
        renditions.append(
            {
                "name": item.text(),
                "centre": _centre(
                    detail.renditions.viewport(), detail.renditions.visualItemRect(item)
                ),
            }
        )
    panel = window.player_panel
    video = panel.video
    return {
        "pid": os.getpid(),
        "window": {"visible": window.isVisible(), "active": window.isActiveWindow()},
        "tabs": _tabs(window.sections),
        "catalog": {"rows": rows},
        "detail": {
            "header": detail.header.text(),
            "renditions": renditions,
            "selected": [i.row() for i in detail.renditions.selectionModel().selectedRows()],
            "play_button": _centre(detail.play_button),
            "play_enabled": detail.play_button.isEnabled(),
        },
        "player": {
            "title": panel.title.text(),
            "time": panel.time_label.text(),
            "position": console.player.position,
            "duration": console.player.duration,
            "paused": console.player.paused,
            "focus": type(QGuiApplication.focusObject()).__name__,
        },
        "video": {
            "frames_rendered": video.frames_rendered,
            "kind": type(video).__name__,
            "centre": _centre(video),
            "grab": grab,
        },
        "assets": {"rows": window.assets_panel.model.rowCount()},
        "cues": {"channels": window.cues_panel.channel_box.count()},
        "banner": window.banner.label.text() if window.banner.isVisible() else "",
    }


def observe(console, state_path: Path) -> None:
    """Start the observer's timers (kept alive by the console's window)."""
    grab: dict = {}
    tmp = state_path.with_suffix(".tmp")

    def write() -> None:
        tmp.write_text(json.dumps(snapshot(console, grab)), encoding="utf-8")
        tmp.replace(state_path)

    def regrab() -> None:
        grab.update(_luma_spread(console.window.player_panel.video))

    for interval, slot in ((100, write), (500, regrab)):
        timer = QTimer(console.window, interval=interval)
        timer.timeout.connect(slot)
        timer.start()


def run(state_path: Path) -> int:
    """``console.cli.main([])`` with the observer attached once the console is built."""
    build = composition.build_console

    async def build_and_observe(app, profile=None):
        console = await build(app, profile)
        observe(console, state_path)
        return console

    composition.build_console = build_and_observe
    return main([])


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
