"""The running assets API: ``AssetsApiServer`` (HTTP thread, worker thread, database),
``start_assets_api()``, and the demo stack's service (``create_service()``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from console.demo.assets_api.constants import DB_FILE, DEMO_TOKEN, READONLY_TOKEN, log
from console.demo.assets_api.routes import create_app
from console.demo.assets_api.store import Database, prepare
from console.demo.assets_api.worker import tick as lifecycle_tick

if TYPE_CHECKING:
    from console.demo.registry import ServiceContext


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class AssetsApiServer:
    """A running demo assets API (see the package docstring).

    ``url`` is ``http://HOST:PORT``; ``token`` the bearer token with write access;
    ``db_path`` the SQLite file. ``stop()`` stops the HTTP server and the worker and closes
    the database (idempotent). Use ``start_assets_api()`` to build one.
    """

    def __init__(
        self,
        db_path: Path,
        token: str,
        *,
        host: str,
        port: int,
        worker_tick_s: float,
        processing_after_s: float,
        settle_after_s: float,
        manifest_urls: Sequence[str],
    ) -> None:
        if not token:
            raise ValueError("the assets API needs a non-empty token")
        self.db_path = Path(db_path)
        self.token = token
        self.read_only_token = READONLY_TOKEN
        self.worker_tick_s = worker_tick_s
        self.processing_after_s = processing_after_s
        self.settle_after_s = settle_after_s
        self.manifest_urls = list(manifest_urls)
        self.db = Database(self.db_path)
        self.app = create_app(self.db, self.token)
        self.url = ""
        self._host = host
        self._port = port
        self._httpd: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._stopped = False

    # -- life cycle ----------------------------------------------------------------------

    def start(self, *, seed: bool = True, now: float | None = None) -> None:
        """Prepare the database (schema, seed when new), bind and start serving.

        ``now`` (Unix s) anchors the seed's times (default: the current time). Raises
        OSError (port in use, unwritable path) or sqlite3.Error.
        """
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        prepare(self.db, self.manifest_urls, seed=seed, now=time.time() if now is None else now)
        self._httpd = make_server(
            self._host, self._port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{self._host}:{self._httpd.server_port}"
        serve = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="assets-api-http",
            daemon=True,
        )
        worker = threading.Thread(target=self._work, name="assets-api-worker", daemon=True)
        self._threads = [serve, worker]
        serve.start()
        worker.start()

    def stop(self) -> None:
        """Stop serving and the worker, then close the database; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._httpd is not None and self._threads:
            self._httpd.shutdown()
        if self._httpd is not None:
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10.0)
        self.db.close()

    def __enter__(self) -> AssetsApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- worker --------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.wait(self.worker_tick_s):
            try:
                self.tick()
            except Exception:
                log.exception("assets API worker tick failed (will retry)")

    def tick(self, now: float | None = None) -> int:
        """Advance due retried assets one lifecycle step each; returns how many moved.
        ``now`` is a Unix time in seconds (default: the current time)."""
        return lifecycle_tick(
            self.db,
            time.time() if now is None else now,
            processing_after_s=self.processing_after_s,
            settle_after_s=self.settle_after_s,
            manifest_urls=self.manifest_urls,
        )


def start_assets_api(
    db_path: Path,
    token: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    worker_tick_s: float = 0.25,
    seed: bool = True,
    manifest_urls: Sequence[str] = (),
    processing_after_s: float = 1.0,
    settle_after_s: float = 2.0,
    now: float | None = None,
) -> AssetsApiServer:
    """Start the demo assets API on ``host:port`` (0 = a free port) over ``db_path``.

    ``token`` is the bearer token with write access (``READONLY_TOKEN`` is accepted for
    reads). A new database is seeded when ``seed`` is true, with times placed before ``now``
    (Unix s, default the current time); completed assets point at ``manifest_urls`` (e.g. the
    demo bucket's game masters) when given, else at ``https://cdn.example.com/...``.
    ``worker_tick_s`` is the worker's period; a retried asset becomes ``processing``
    ``processing_after_s`` after its retry and settles ``settle_after_s`` after that (all in
    seconds). Returns the running server; call ``stop()``. Raises OSError or sqlite3.Error.
    """
    server = AssetsApiServer(
        db_path,
        token,
        host=host,
        port=port,
        worker_tick_s=worker_tick_s,
        processing_after_s=processing_after_s,
        settle_after_s=settle_after_s,
        manifest_urls=manifest_urls,
    )
    try:
        server.start(seed=seed, now=now)
    except BaseException:
        server.stop()
        raise
    log.info("assets API on %s (db %s)", server.url, server.db_path)
    return server


# -- the demo stack's service ----------------------------------------------------------------


def demo_manifest_urls(ctx: ServiceContext) -> list[str]:
    """Path-style URLs of the demo bucket's playable game masters
    (``{endpoint}/{bucket}/games/{id}/master.m3u8``), the broken seed game left out; [] when
    the bucket cannot be listed (logged)."""
    from console.demo import seed as seedmod

    broken = {game.id for game in seedmod.DEMO_GAMES if game.kind == "broken"}
    try:
        s3 = ctx.s3_client()
        keys: list[str] = []
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=ctx.bucket, Prefix="games/")
        for page in pages:
            keys += [obj["Key"] for obj in page.get("Contents", [])]
    except Exception:
        log.exception("assets API: cannot list the demo bucket; CDN placeholders used")
        return []
    games = sorted(
        key.split("/")[1] for key in keys if key.count("/") == 2 and key.endswith("/master.m3u8")
    )
    return [
        f"{ctx.endpoint_url}/{ctx.bucket}/games/{game}/master.m3u8"
        for game in games
        if game not in broken
    ]


class AssetsApiService:
    """The assets API as a demo-stack service: ``state_key = "assets_api_url"``; its database
    is ``<demo_dir>/assets.sqlite3``; ``extra_state()`` publishes the demo token."""

    state_key = "assets_api_url"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.server: AssetsApiServer | None = None

    def start(self) -> str:
        """Start serving; returns the base URL. Raises OSError or sqlite3.Error."""
        self.server = start_assets_api(
            self.ctx.demo_dir / DB_FILE,
            DEMO_TOKEN,
            manifest_urls=demo_manifest_urls(self.ctx),
        )
        return self.server.url

    def extra_state(self) -> dict[str, str]:
        """Extra ``stack.json`` entries: the (non-secret) demo token."""
        return {"assets_api_token": DEMO_TOKEN}

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self.server is not None:
            self.server.stop()


def create_service(ctx: ServiceContext) -> AssetsApiService:
    """``SERVICE_FACTORIES`` entry: ``"console.demo.assets_api:create_service"``."""
    return AssetsApiService(ctx)
