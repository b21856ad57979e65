"""The demo stack's viewer-facing side (docs/contracts.md §1.5): the gate (``gate``, the v1
Worker) and the playback and clip APIs (``playback_api``, the Django side) on one loopback
origin, over the demo bucket, with the planted-mistake switch (``mistakes``).

Hosted by the demo server next to S3 (``create_service()``: published in ``stack.json`` as
``viewer_url`` with the demo's non-secret signing key ``viewer_signing_key`` and API token
``viewer_api_token``, fixed loopback-only values like the other demo tokens); tests start
their own with ``start_viewer()``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from console.demo.http_thread import HttpThread
from console.demo.viewer.gate import Gate, json_response
from console.demo.viewer.mistakes import Mistakes, MistakeSwitch
from console.demo.viewer.playback_api import PlaybackApi

if TYPE_CHECKING:
    from console.demo.registry import ServiceContext

log = logging.getLogger("console.demo.viewer")

DEMO_SIGNING_KEY = "demo-viewer-signing-key-not-a-secret-loopback-only"
"""The demo's HS256 key (32+ bytes, RFC 7518 §3.2); not a secret: loopback only."""
PORT_FILE = "viewer.port"
DEMO_API_TOKEN = "demo-viewer-api-token"
"""The demo playback API's Bearer token; not a secret either."""

__all__ = ["DEMO_API_TOKEN", "DEMO_SIGNING_KEY", "Mistakes", "ViewerServer", "start_viewer"]


class ViewerServer:
    """A running gate + playback/clip API: ``url`` (``http://127.0.0.1:PORT``), ``switch``
    (the planted mistakes: ``switch.set(Mistakes(...))`` in tests). ``stop()`` is
    idempotent."""

    def __init__(self, s3: Any, bucket: str, signing_key: str, api_token: str, switch) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.signing_key = signing_key
        self.api_token = api_token
        self.switch = switch
        self.url = ""
        self._http: HttpThread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve in a daemon thread; returns ``url``. Raises OSError."""
        gate = Gate(self.s3, self.bucket, self.signing_key, self.switch)
        holder: dict[str, PlaybackApi] = {}

        @Request.application
        def app(request: Request) -> Response:
            try:
                if request.path.startswith("/games/"):
                    return gate.handle(request)
                if request.path.startswith("/api/games/"):
                    return holder["api"].handle(request)
            except Exception:
                log.exception("viewer service: %s failed", request.path)
                return json_response(500, {"error": "internal error"})
            return json_response(404, {"error": "not found"})

        self._http = HttpThread(app, "viewer-service-http", host=host, port=port)
        self.url = self._http.start()
        holder["api"] = PlaybackApi(gate, self.api_token, self.url)
        return self.url

    def stop(self) -> None:
        """Stop serving (safe to call twice)."""
        if self._http is not None:
            self._http.stop()

    def __enter__(self) -> ViewerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_viewer(
    s3: Any,
    bucket: str,
    *,
    signing_key: str = DEMO_SIGNING_KEY,
    api_token: str = DEMO_API_TOKEN,
    mistakes: Mistakes | None = None,
    switch: MistakeSwitch | None = None,
    port: int = 0,
) -> ViewerServer:
    """Start a gate + playback/clip API over ``bucket`` (``s3`` a boto3 client) on a free
    loopback port (or ``port``); ``mistakes`` plants a fixed set, ``switch`` reads them from a file.
    Returns the running server; call ``stop()``. Raises OSError."""
    server = ViewerServer(
        s3, bucket, signing_key, api_token, switch or MistakeSwitch(fixed=mistakes or Mistakes())
    )
    server.start(port=port)
    log.info("viewer service (gate + playback API) on %s", server.url)
    return server


class ViewerService:
    """The viewer side as a demo-stack service: ``state_key = "viewer_url"``; planted
    mistakes come from ``<demo dir>/viewer_mistakes.json`` (``main.py demo mistakes``)."""

    state_key = "viewer_url"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.server: ViewerServer | None = None

    def start(self) -> str:
        """Serve over the demo bucket on the port it had last time when that port is free
        (``<demo dir>/viewer.port``: playback URLs stay the same across restarts, as the
        audit's baseline expects of a real origin), else on a new one; returns the URL."""
        port_file = self.ctx.demo_dir / PORT_FILE
        try:
            port = int(port_file.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            port = 0
        switch = MistakeSwitch(self.ctx.demo_dir)
        try:
            self.server = start_viewer(
                self.ctx.s3_client(), self.ctx.bucket, switch=switch, port=port
            )
        except OSError:
            self.server = start_viewer(self.ctx.s3_client(), self.ctx.bucket, switch=switch)
        port_file.write_text(f"{self.server.url.rsplit(':', 1)[1]}\n", encoding="utf-8")
        return self.server.url

    def extra_state(self) -> dict[str, str]:
        """Extra ``stack.json`` entries: the (non-secret) demo signing key and API token."""
        return {"viewer_signing_key": DEMO_SIGNING_KEY, "viewer_api_token": DEMO_API_TOKEN}

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def create_service(ctx: ServiceContext) -> ViewerService:
    """``SERVICE_FACTORIES`` entry: ``"console.demo.viewer:create_service"``."""
    return ViewerService(ctx)
