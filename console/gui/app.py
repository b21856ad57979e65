"""The GUI process: display check, log file, QApplication, the qasync loop and the one run
of it that lasts the whole session (``run_gui``). What the window is made of is
``console.gui.composition``.

Order matters (docs/platform.md): the QApplication first, then ``LC_NUMERIC=C``, then
libmpv (imported by the composition only once the application exists).
"""

from __future__ import annotations

import asyncio
import locale
import logging
import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from console import APP_TITLE, __version__
from console.paths import data_dir, resources_dir
from services.errors import describe

log = logging.getLogger("console")


def display_problem() -> str | None:
    """A sentence when no display is usable (Linux without X/Wayland and no offscreen)."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "No display found (neither DISPLAY nor WAYLAND_DISPLAY is set): the console needs a "
        "desktop session. On a headless machine run it under a virtual display: "
        "`xvfb-run -a make run`."
    )


def setup_logging() -> None:
    """Log to ``<data dir>/console.log`` (tracebacks go there, never to the operator)."""
    logging.basicConfig(
        filename=data_dir() / "console.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the console's style; sets ``LC_NUMERIC=C`` for libmpv."""
    app = QApplication.instance() or QApplication(argv or sys.argv)
    app.setApplicationName(APP_TITLE)
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "video-ops-console.png")))
    app.setStyleSheet((resources_dir() / "styles" / "console.qss").read_text(encoding="utf-8"))
    locale.setlocale(locale.LC_NUMERIC, "C")
    return app


def start_gui_loop():
    """Check the display, log to the data dir, create the application and its qasync loop.

    Returns ``(app, loop)``, or None after printing why there is no usable display.
    """
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return None
    setup_logging()
    import qasync

    app = make_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return app, loop


def run_gui(profile: str | None = None) -> int:
    """Open the console; returns the process exit code (2: no display, 1: start failed).

    The whole session is **one** ``run_until_complete``: ending a qasync run makes Qt's
    ``exec()`` return, which emits ``aboutToQuit`` (the player shuts its libmpv core down)
    and runs the pending callbacks once more with no running loop (tasks spawned meanwhile
    die with "no running event loop"). So the loop must not stop between start-up and exit.
    """
    started = start_gui_loop()
    if started is None:
        return 2
    app, loop = started
    with loop:
        return loop.run_until_complete(gui_session(app, profile))


async def gui_session(app: QApplication, profile: str | None = None) -> int:
    """Build the console, run it until its last window closes, then close it cleanly.

    Returns the exit code: 0, or 1 when start-up failed (the reason is printed)."""
    closed = asyncio.Event()
    # the loop ends when this coroutine returns, not when Qt sees the last window close
    app.setQuitOnLastWindowClosed(False)
    app.lastWindowClosed.connect(closed.set)
    from console.gui.composition import build_console

    # SIGINT/SIGTERM end the session, also while it is still starting (a slow start on a
    # busy machine must not turn a polite SIGTERM into a kill). Python runs signal handlers
    # only between bytecodes: the timer wakes it up regularly.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: closed.set())
    wake = QTimer(interval=250)
    wake.timeout.connect(lambda: None)
    wake.start()
    try:
        console = await build_console(app, profile)
    except Exception as exc:
        wake.stop()
        log.exception("start-up failed")
        print(f"The console could not start: {describe(exc)}", file=sys.stderr)
        return 1
    await closed.wait()
    console.window.close()  # when a signal ended the session (no-op once closed)
    wake.stop()
    await console.aclose()
    return 0
