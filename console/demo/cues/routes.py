"""The cue service's Flask app: ``POST /cue`` (Bearer token), the channels' live playlists
and segments, the ad creative's playlists, ``GET /channels`` and ``POST /admin/faults``."""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from flask import Flask, Response, request, send_file
from werkzeug.exceptions import HTTPException

from console.demo.cues.constants import SEGMENT_SECONDS, VARIANTS, log
from console.demo.cues.desk import CueDesk
from console.demo.cues.faults import VIEWER_COOKIE, broken_for_new_client
from console.demo.cues.playlists import ad_playlist, multivariant

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
VARIANT_NAMES = frozenset(v.name for v in VARIANTS)


def _json(status: int, doc: Any, **headers: str) -> Response:
    response = Response(json.dumps(doc), status=status, mimetype="application/json")
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def _playlist(text: str, max_age: int) -> Response:
    response = Response(text, mimetype=PLAYLIST_TYPE)
    response.headers["Cache-Control"] = f"max-age={max_age}"
    return response


def create_app(desk: CueDesk, token: str) -> Flask:
    """The app over ``desk``; ``token`` guards ``/cue``, ``/channels`` and ``/admin``
    (playlists and segments are public, as a CDN serves them to viewers)."""
    app = Flask("console.demo.cues")

    def refused() -> Response | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return _json(401, {"error": "missing bearer token"}, WWW_Authenticate="Bearer")
        if not hmac.compare_digest(value.encode(), token.encode()):
            return _json(
                401,
                {"error": "invalid bearer token"},
                WWW_Authenticate='Bearer error="invalid_token"',
            )
        return None

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        return _json(err.code or 500, {"error": err.description or err.name})

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        log.exception("cue service: %s %s failed", request.method, request.path)
        return _json(500, {"error": f"internal error: {type(err).__name__}"})

    @app.post("/cue")
    def cue() -> Response:
        denied = refused()
        if denied is not None:
            return denied
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            return _json(400, {"error": "the Idempotency-Key header is longer than 255 characters"})
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError as exc:
            return _json(400, {"error": f"malformed JSON: {exc}"})
        status, doc, replayed = desk.cue(body, key, request.host_url.rstrip("/"))
        if status in (200, 201):
            log.info("cue %s → %s event %s", body, status, doc.get("eventId"))
        return _json(status, doc, **({"Idempotent_Replayed": "true"} if replayed else {}))

    @app.get("/channels")
    def channels() -> Response:
        denied = refused()
        if denied is not None:
            return denied
        return _json(200, {"channels": desk.channel_list(request.host_url.rstrip("/"))})

    @app.post("/admin/faults")
    def faults() -> Response:
        denied = refused()
        if denied is not None:
            return denied
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return _json(400, {"error": "the body must be a JSON object"})
        try:
            desk.set_live_faults(body)
        except ValueError as exc:
            return _json(422, {"error": str(exc)})
        return _json(
            200,
            desk.set_faults(
                deplete_after_break=body.get("deplete_after_break"),
                fail_cues=body.get("fail_cues"),
                fail_status=body.get("fail_status"),
            ),
        )

    @app.post("/admin/channels")
    def add_channels() -> Response:
        denied = refused()
        if denied is not None:
            return denied
        body = request.get_json(force=True, silent=True)
        try:
            channels = desk.add_channels(body.get("count") if isinstance(body, dict) else None)
        except ValueError as exc:
            return _json(422, {"error": str(exc)})
        return _json(200, {"channels": channels})

    def slowed(channel: str) -> None:
        delay_ms = desk.live_faults.slow_ms.get(channel, 0)
        if delay_ms:
            time.sleep(delay_ms / 1000)

    @app.get("/<org>/<name>/master.m3u8")
    def master(org: str, name: str) -> Response:
        if desk.resolve(f"{org}/{name}") is None:
            return _json(404, {"error": f"unknown channel {org}/{name}"})
        slowed(f"{org}/{name}")
        return _playlist(multivariant(desk.media), 60)

    @app.get("/<org>/<name>/<variant>.m3u8")
    def variant_playlist(org: str, name: str, variant: str) -> Response:
        channel = desk.resolve(f"{org}/{name}")
        if channel is None or variant not in VARIANT_NAMES:
            return _json(404, {"error": f"no playlist {org}/{name}/{variant}.m3u8"})
        slowed(channel)
        text = desk.playlist(channel, variant)
        new_client = VIEWER_COOKIE not in request.cookies
        if new_client and desk.live_faults.broken_join and desk.in_break(channel):
            text = broken_for_new_client(text)
        response = _playlist(text, 1)
        response.set_cookie(VIEWER_COOKIE, "1", path="/", httponly=True)
        return response

    @app.get("/ads/<creative>/<variant>.m3u8")
    def creative(creative: str, variant: str) -> Response:
        if creative != "creative-1" or variant not in VARIANT_NAMES:
            return _json(404, {"error": f"no ad playlist {creative}/{variant}.m3u8"})
        return _playlist(ad_playlist(desk.media, variant, SEGMENT_SECONDS), 3600)

    @app.get("/media/<source>/<variant>/<filename>")
    def segment(source: str, variant: str, filename: str) -> Response:
        count = {"content": desk.media.content_segments, "ad": desk.media.ad_segments}.get(source)
        index = filename.removeprefix("seg_").removesuffix(".ts")
        if count is None or variant not in VARIANT_NAMES or not index.isdigit():
            return _json(404, {"error": "no such segment"})
        if int(index) >= count or filename != f"seg_{int(index):05d}.ts":
            return _json(404, {"error": "no such segment"})
        path = desk.media.segment_path(source, variant, int(index))
        return send_file(path, mimetype="video/mp2t", max_age=3600)

    return app
