"""A demo service's HTTP server: werkzeug's threaded WSGI server in a daemon thread, on
loopback, without per-request access logs (the cue service and the viewer side use it)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the per-request access log line. (werkzeug's
    server closes every connection, whatever the HTTP version.)"""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class HttpThread:
    """Serves ``app`` on ``host:port`` (0 = a free port) in a daemon thread named ``name``.
    ``url`` is ``http://HOST:PORT`` once started; ``stop()`` is idempotent."""

    def __init__(self, app, name: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.name, self.host, self.port = app, name, host, port
        self.url = ""
        self._httpd: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Bind and serve; returns ``url``. Raises OSError (port in use)."""
        self._httpd = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{self.host}:{self._httpd.server_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving (safe to call twice)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
