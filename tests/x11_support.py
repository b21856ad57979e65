"""A private X server (Xvfb) and real input events (xdotool) for tests of the real window.

``XServer`` starts ``Xvfb`` on a display number it picks itself (``-displayfd``);
``XServer.click`` / ``key`` send input through the XTEST extension, the path a physical
mouse and keyboard take, so Qt receives them from the X server exactly as an operator's.
``ConsoleProcess`` starts ``tests/xcb_console.py`` (the console's real entry point with an
observer) on that display and reads the observer's JSON snapshots.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "xcb_console.py"


class XServer:
    """One ``Xvfb`` (1600x1000x24). Use as a context manager; ``display`` is ``":N"``."""

    def __init__(self, size: str = "1600x1000x24") -> None:
        for tool in ("Xvfb", "xdotool"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not installed (make test installs it)")
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.process.kill()
            raise RuntimeError("Xvfb did not report a display number")
        self.display = f":{number}"

    def __enter__(self) -> XServer:
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()

    def _xdotool(self, *args: str) -> None:
        subprocess.run(
            ["xdotool", *args],
            env={**os.environ, "DISPLAY": self.display},
            check=True,
            timeout=30,
        )

    def click(self, x: int, y: int, *, double: bool = False) -> None:
        """Move the pointer to screen ``(x, y)`` and click the left button (twice)."""
        self._xdotool("mousemove", "--sync", str(x), str(y))
        self._xdotool("click", *(["--repeat", "2", "--delay", "80"] if double else []), "1")

    def key(self, *keys: str) -> None:
        """Press and release each X keysym (``"Right"``, ``"space"``, ``"ctrl+3"``)."""
        self._xdotool("key", "--delay", "60", *keys)

    def screenshot(self, path: Path) -> None:
        """The whole screen as PNG (through Qt in a child process: no ImageMagick needed)."""
        code = (
            "import sys\nfrom PySide6.QtGui import QGuiApplication\n"
            "app = QGuiApplication(sys.argv)\n"
            "app.primaryScreen().grabWindow(0).save(sys.argv[1], 'PNG')\n"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(path)],
            env={**os.environ, "DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"},
            check=True,
            timeout=60,
        )


class ConsoleProcess:
    """The console on ``server``'s display, with fresh data/config dirs under ``home``.

    ``env`` adds variables (e.g. ``VIDEO_OPS_RENDER``). ``state()`` is the latest observer
    snapshot; ``wait(predicate, timeout, what)`` waits for one that satisfies it.
    """

    def __init__(self, server: XServer, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.state_path = home / "window.json"
        self.env = {
            **os.environ,
            "DISPLAY": server.display,
            "QT_QPA_PLATFORM": "xcb",
            "VIDEO_OPS_AUDIO": "null",
            "VIDEO_OPS_DATA_DIR": str(home / "data"),
            "VIDEO_OPS_CONFIG_DIR": str(home / "config"),
            **(env or {}),
        }
        self.log = (home / "console.out").open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(HARNESS), str(self.state_path)],
            cwd=PROJECT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def wait(self, predicate: Callable[[dict], bool], timeout: float, what: str) -> dict:
        """The first snapshot for which ``predicate`` holds; fails after ``timeout`` s with
        the last snapshot and the console's output."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the console exited ({self.process.returncode}) "
                    f"waiting for {what}:\n{self.output()}"
                )
            last = self.state()
            if last is not None:
                with contextlib.suppress(LookupError, TypeError):
                    if predicate(last):
                        return last
            time.sleep(0.05)
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for {what}; last snapshot: "
            f"{json.dumps(last)[:3000]}\nconsole output:\n{self.output()}"
        )

    def output(self) -> str:
        self.log.flush()
        return (self.home / "console.out").read_text(errors="replace")[-4000:]

    def stop(self) -> int:
        """SIGTERM (the console closes its window and shuts down); its exit code. Also stops
        the demo stack it started in its data dir."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        subprocess.run(
            [sys.executable, "main.py", "demo", "stop"],
            cwd=PROJECT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        self.log.close()
        return self.process.returncode
