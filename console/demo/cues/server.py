"""The running cue service: ``CueServer`` (werkzeug's threaded server in a daemon thread),
``start_cue_service()``, and the demo stack's service (``create_service()``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from console.demo.cues.constants import DEMO_TOKEN, SEGMENT_SECONDS, WINDOW_SEGMENTS, log
from console.demo.cues.desk import CueDesk
from console.demo.cues.media import ensure_media
from console.demo.cues.routes import create_app
from console.demo.http_thread import HttpThread

if TYPE_CHECKING:
    from console.demo.registry import ServiceContext


class CueServer:
    """A running demo cue service: ``url`` (``http://HOST:PORT``), ``token``, ``desk`` (the
    state, also for switching faults in tests). ``stop()`` is idempotent."""

    def __init__(self, desk: CueDesk, token: str, *, host: str, port: int) -> None:
        if not token:
            raise ValueError("the cue service needs a non-empty token")
        self.desk = desk
        self.token = token
        self.url = ""
        self._host = host
        self._port = port
        self._http: HttpThread | None = None

    def start(self) -> None:
        """Bind and serve in a daemon thread. Raises OSError (port in use)."""
        self._http = HttpThread(
            create_app(self.desk, self.token), "cue-service-http", host=self._host, port=self._port
        )
        self.url = self._http.start()

    def stop(self) -> None:
        """Stop serving (safe to call twice)."""
        if self._http is not None:
            self._http.stop()

    def __enter__(self) -> CueServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_cue_service(
    demo_dir: Path,
    token: str = DEMO_TOKEN,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    segment_seconds: float = SEGMENT_SECONDS,
    window: int = WINDOW_SEGMENTS,
    deplete_after_break: bool = False,
    clock: Callable[[], float] = time.time,
    extra_channels: int = 0,
) -> CueServer:
    """Start the demo cue service on ``host:port`` (0 = a free port).

    The channel media are packaged under ``demo_dir`` first when missing (seconds; see
    ``media``). ``token`` is the Bearer token of ``/cue``; ``segment_seconds``/``window``
    shape the live playlists; ``deplete_after_break`` starts with the depletion fault on;
    ``extra_channels`` adds ``demo/extra01``… (load tests). Returns the running server; call
    ``stop()``. Raises OSError or SeedError.
    """
    desk = CueDesk(
        ensure_media(demo_dir),
        clock=clock,
        segment_seconds=segment_seconds,
        window=window,
        deplete_after_break=deplete_after_break,
    )
    desk.add_channels(extra_channels)
    server = CueServer(desk, token, host=host, port=port)
    server.start()
    log.info("cue service on %s", server.url)
    return server


class CueService:
    """The cue service as a demo-stack service: ``state_key = "ssai_url"``; its media are
    cached under the demo dir; ``extra_state()`` publishes the demo token."""

    state_key = "ssai_url"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.server: CueServer | None = None

    def start(self) -> str:
        """Package the media when needed, then serve; returns the base URL."""
        self.server = start_cue_service(self.ctx.demo_dir)
        return self.server.url

    def extra_state(self) -> dict[str, str]:
        """Extra ``stack.json`` entries: the (non-secret) demo token."""
        return {"ssai_token": DEMO_TOKEN}

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def create_service(ctx: ServiceContext) -> CueService:
    """``SERVICE_FACTORIES`` entry: ``"console.demo.cues:create_service"``."""
    return CueService(ctx)
