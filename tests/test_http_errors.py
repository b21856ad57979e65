"""The shared httpx → ``services.errors`` mapping (``services.http_errors``) over real HTTP:
the demo assets API and the demo cue service for the answers of their contracts (docs/contracts.md
§1.2, §1.3), a tiny local http.server for what they never answer (a redirect, an
undocumented status, a body that is not JSON or does not decode), and sockets that refuse
or never answer for the transport failures."""

from __future__ import annotations

import gzip
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from console.demo.assets_api import READONLY_TOKEN
from services.assets import ASSETS_API
from services.cues import CUE_API
from services.errors import (
    AccessDenied,
    BadConfig,
    BadResponse,
    Conflict,
    NotFound,
    Rejected,
    Unreachable,
    UpstreamError,
)
from services.http_errors import HttpApi, json_answer, request_error, status_error
from tests.conftest import closed_port

pytestmark = pytest.mark.timeout(120)

ASSETS_TOKEN = "http-errors-assets-token-91c4"
CUE_TOKEN = "http-errors-cue-token-5d0e"


def _assert_clean(error: Exception, url: str, *secrets: str) -> None:
    """Messages name method and path, never the host, the port or a token."""
    port = url.rsplit(":", 1)[-1]
    text = str(error)
    assert "127.0.0.1" not in text and port not in text
    assert all(secret not in text for secret in secrets)


@pytest.fixture
def assets_http(start_assets):
    server = start_assets(ASSETS_TOKEN)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield server, http


def test_the_assets_api_answers_map_to_typed_errors(assets_http):
    server, http = assets_http
    auth = {"Authorization": f"Bearer {ASSETS_TOKEN}"}
    what = "GET /api/video-assets"

    listing = http.get(
        "/api/video-assets", params={"status": "completed", "limit": 1}, headers=auth
    )
    assert status_error(ASSETS_API, listing, what) is None
    completed = json_answer(ASSETS_API, listing, what)["items"][0]["post_id"]

    denied = status_error(ASSETS_API, http.get("/api/video-assets"), what)
    assert isinstance(denied, AccessDenied)
    assert "HTTP 401" in str(denied) and what in str(denied)
    assert "check the profile's assets API token" in str(denied)

    post = "POST /api/video-assets/retry"
    read_only = http.post(
        "/api/video-assets/retry",
        json={"postId": completed},
        headers={"Authorization": f"Bearer {READONLY_TOKEN}", "Idempotency-Key": "k-ro"},
    )
    forbidden = status_error(ASSETS_API, read_only, post)
    assert isinstance(forbidden, AccessDenied)
    assert "HTTP 403" in str(forbidden) and "may only read" in str(forbidden)

    missing = http.get("/api/video-assets/no-such-post", headers=auth)
    with pytest.raises(NotFound) as not_found:
        json_answer(ASSETS_API, missing, "GET /api/video-assets/no-such-post")
    assert not_found.value.key == "GET /api/video-assets/no-such-post"
    assert "HTTP 404" in str(not_found.value) and "no video asset" in str(not_found.value)

    changed = http.post(
        "/api/video-assets/retry",
        json={"postId": completed},
        headers={**auth, "Idempotency-Key": "k-409"},
    )
    conflict = status_error(ASSETS_API, changed, post)
    assert isinstance(conflict, Conflict) and conflict.current_status == "completed"
    assert "HTTP 409" in str(conflict) and "status is now completed" in str(conflict)

    bad_filter = http.get("/api/video-assets", params={"status": "exploded"}, headers=auth)
    rejected = status_error(ASSETS_API, bad_filter, what)
    assert isinstance(rejected, Rejected)
    assert "HTTP 400" in str(rejected) and "unknown status 'exploded'" in str(rejected)

    reused = http.post(
        "/api/video-assets/retry",
        json={"postId": "another-post"},
        headers={**auth, "Idempotency-Key": "k-409"},
    )
    unprocessable = status_error(ASSETS_API, reused, post)
    assert isinstance(unprocessable, Rejected)
    assert "HTTP 422" in str(unprocessable) and "already used" in str(unprocessable)

    for error in (denied, forbidden, not_found.value, conflict, rejected, unprocessable):
        _assert_clean(error, server.url, ASSETS_TOKEN, READONLY_TOKEN)


def test_the_cue_service_answers_map_to_typed_errors(start_cues):
    server = start_cues(CUE_TOKEN)
    auth = {"Authorization": f"Bearer {CUE_TOKEN}"}
    what = "POST /cue"
    with httpx.Client(base_url=server.url, timeout=10) as http:
        unknown = http.post("/cue", json={"channel": "demo/nope", "duration": 30}, headers=auth)
        too_long = http.post(
            "/cue", json={"channel": "demo/sports1", "duration": 601}, headers=auth
        )
        malformed = http.post("/cue", content=b"{not json", headers=auth)
        no_break = http.post("/cue", json={"channel": "demo/sports1", "type": "stop"}, headers=auth)
        server.desk.set_faults(fail_cues=1)
        failing = http.post("/cue", json={"channel": "demo/sports1", "duration": 30}, headers=auth)

    channel = status_error(CUE_API, unknown, what, not_found="does not know this channel")
    assert isinstance(channel, NotFound) and channel.key == what
    assert str(channel).startswith("The cue service does not know this channel (POST /cue, HTTP")
    assert "unknown channel" in str(channel)
    duration = status_error(CUE_API, too_long, what)
    assert isinstance(duration, Rejected) and "HTTP 422" in str(duration)
    assert "duration" in str(duration)
    body = status_error(CUE_API, malformed, what)
    assert isinstance(body, Rejected) and "malformed JSON" in str(body)
    nothing = status_error(CUE_API, no_break, what)
    assert isinstance(nothing, Conflict) and "no ad break" in str(nothing)
    assert nothing.current_status is None
    upstream = status_error(CUE_API, failing, what)
    assert isinstance(upstream, UpstreamError) and "HTTP 503" in str(upstream)
    for error in (channel, duration, body, nothing, upstream):
        _assert_clean(error, server.url, CUE_TOKEN)
    assert all(not t.breaks for t in server.desk.timelines.values())


class _Odd(BaseHTTPRequestHandler):
    """Answers what the contracts do not document, by path."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/redirect":
            self._send(302, b"", Location="https://elsewhere.test/")
        elif self.path == "/teapot":
            self._send(418, b'{"error": "short and stout"}', **{"Content-Type": "application/json"})
        elif self.path == "/not-json":
            self._send(200, b"<html>maintenance</html>", **{"Content-Type": "text/html"})
        elif self.path == "/bare-409":
            self._send(409, b"")
        elif self.path == "/bad-gzip":
            self._send(200, b"this is not gzip", **{"Content-Encoding": "gzip"})
        else:
            self._send(200, gzip.compress(b'{"ok": true}'), **{"Content-Encoding": "gzip"})

    def _send(self, code: int, body: bytes, **headers: str) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def odd_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Odd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_undocumented_answers_are_bad_responses(odd_server):
    api = HttpApi("test API")
    with httpx.Client(base_url=odd_server, timeout=10, follow_redirects=False) as http:
        redirect = status_error(api, http.get("/redirect"), "GET /redirect")
        teapot = status_error(api, http.get("/teapot"), "GET /teapot")
        with pytest.raises(BadResponse) as not_json:
            json_answer(api, http.get("/not-json"), "GET /not-json")
        bare = status_error(api, http.get("/bare-409"), "GET /bare-409")
        assert json_answer(api, http.get("/gzip"), "GET /gzip") == {"ok": True}
        with pytest.raises(httpx.DecodingError) as undecodable:
            http.get("/bad-gzip")
    assert isinstance(redirect, BadResponse)
    assert "redirect (HTTP 302)" in str(redirect) and "test API URL" in str(redirect)
    assert "elsewhere.test" not in str(redirect)
    assert isinstance(teapot, BadResponse) and "HTTP 418" in str(teapot)
    assert "does not document: short and stout" in str(teapot)
    assert "invalid JSON" in str(not_json.value) and "GET /not-json" in str(not_json.value)
    assert isinstance(bare, Conflict) and bare.current_status is None
    assert "it changed meanwhile" in str(bare)
    decoding = request_error(api, undecodable.value, "GET /bad-gzip")
    assert isinstance(decoding, BadResponse) and "DecodingError" in str(decoding)
    for error in (redirect, teapot, not_json.value, bare, decoding):
        _assert_clean(error, odd_server)


def test_no_answer_is_unreachable_and_a_bad_scheme_is_bad_config():
    api = HttpApi("test API")
    refused_url = f"http://127.0.0.1:{closed_port()}"
    with httpx.Client(timeout=2) as http, pytest.raises(httpx.TransportError) as refused:
        http.get(refused_url + "/x")
    unreachable = request_error(api, refused.value, "GET /x", note="; 2 attempts")
    assert isinstance(unreachable, Unreachable)
    assert str(unreachable).startswith("Cannot reach the test API (GET /x): ConnectError")
    assert str(unreachable).endswith("; 2 attempts.")
    _assert_clean(unreachable, refused_url)

    listener = socket.socket()  # accepts the connection, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        silent_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with httpx.Client(timeout=0.3) as http, pytest.raises(httpx.TimeoutException) as late:
            http.get(silent_url + "/y")
    finally:
        listener.close()
    timed_out = request_error(api, late.value, "GET /y", timeout_s=0.3)
    assert isinstance(timed_out, Unreachable) and "no answer within 0.3 s" in str(timed_out)
    _assert_clean(timed_out, silent_url)

    with httpx.Client() as http, pytest.raises(httpx.UnsupportedProtocol) as scheme:
        http.get("ftp://127.0.0.1/z")
    config = request_error(api, scheme.value, "GET /z")
    assert isinstance(config, BadConfig) and "test API URL is not usable" in str(config)
