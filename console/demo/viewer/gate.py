"""The demo gate: the v1 Worker in front of the bucket (docs/contracts.md §1.5).

``GET``/``HEAD /games/{id}/{key}`` streams ``games/{id}/{key}`` from the bucket (``Range``
passed through: 206 + ``Content-Range``) to a request that carries a credential for that
game, checked **before** the object is looked up (so a refusal says nothing about what is
stored):

1. ``?token=<jwt>``: a game token (``{"game": id}``) or a phase-2 session token whose
   ``ent`` lists the game or its league (``meta.json``'s ``league``); the answer then sets
   the per-game cookie ``gate_session`` (``Path=/games/{id}/; Max-Age=300; HttpOnly;
   SameSite=Lax``, RFC 6265 §4.1; production adds ``Secure``), so the player's requests for
   the relative URIs of the playlist carry it;
2. else that cookie, valid for request paths under its signed ``path`` claim.

Default deny: anything else (no credential, a bad signature, an expired token, another
game's token or cookie, ``ent`` without this game) is **403** with a small JSON body
``{"error": "forbidden", "reason": …}`` and no media. A path outside ``games/{id}/`` or
with ``..`` is 404. The planted mistakes of ``mistakes`` change exactly what they say.
Token and cookie values are never logged.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from console.demo.viewer.mistakes import Mistakes, MistakeSwitch
from services.viewer_tokens import (
    COOKIE_NAME,
    COOKIE_TTL_S,
    TokenRejected,
    cookie_grants,
    game_path,
    issue_cookie,
    token_grants,
    verify,
)

log = logging.getLogger("console.demo.viewer")

_GAME_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".json": "application/json",
}
_CHUNK = 256 * 1024


def json_response(status: int, doc: dict[str, Any], headers: dict[str, str] | None = None):
    """A small JSON answer (refusals and errors: never media)."""
    return Response(
        json.dumps(doc) + "\n", status=status, mimetype="application/json", headers=headers
    )


def forbidden(reason: str) -> Response:
    """The gate's refusal: 403, ``{"error": "forbidden", "reason": reason}``."""
    return json_response(403, {"error": "forbidden", "reason": reason})


def split_game_path(path: str) -> tuple[str, str] | None:
    """``/games/{id}/{rest}`` → ``(id, rest)``; None when it is not one game's object path
    (no id, no rest, ``..`` or an empty segment)."""
    if not path.startswith("/games/"):
        return None
    game_id, slash, rest = path[len("/games/") :].partition("/")
    if not slash or not rest or not _GAME_ID.match(game_id):
        return None
    if any(part in ("", ".", "..") for part in rest.split("/")):
        return None
    return game_id, rest


def content_type(key: str) -> str:
    """Content-Type by extension (RFC 8216 §4 for playlists)."""
    for ext, ctype in _TYPES.items():
        if key.endswith(ext):
            return ctype
    return "application/octet-stream"


def drop_variant(text: str, rung: str) -> str:
    """A multivariant playlist without the variant whose URI is under ``abr/{rung}/`` (the
    planted "dropped rung"); a media playlist is returned as it is."""
    lines = text.splitlines()
    out: list[str] = []
    skip_next = False
    for index, line in enumerate(lines):
        if skip_next:
            skip_next = False
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.startswith("#EXT-X-STREAM-INF") and following.startswith(f"abr/{rung}/"):
            skip_next = True
            continue
        out.append(line)
    return "\n".join(out) + "\n"


class Gate:
    """The gate over one bucket: ``s3`` a boto3 client, ``key`` the HS256 signing key,
    ``switch`` the planted mistakes. ``handle(request)`` answers one request."""

    def __init__(self, s3: Any, bucket: str, key: str, switch: MistakeSwitch) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.switch = switch
        self._leagues: dict[str, str] = {}
        self._lock = threading.Lock()

    def league_of(self, game_id: str) -> str:
        """The game's league from its ``meta.json`` ('' when absent), cached."""
        with self._lock:
            if game_id in self._leagues:
                return self._leagues[game_id]
        league = ""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=f"games/{game_id}/meta.json")
            league = str(json.loads(body["Body"].read()).get("league") or "")
        except Exception:  # no meta: no league entitlement can name it
            league = ""
        with self._lock:
            self._leagues[game_id] = league
        return league

    def authorize(
        self, request: Request, game_id: str, rest: str, mistakes: Mistakes
    ) -> tuple[bool, str, str | None]:
        """``(allowed, reason, cookie scope to set or None)`` for one request."""
        if mistakes.unprotected_rung.get(game_id) and rest.startswith(
            f"abr/{mistakes.unprotected_rung[game_id]}/"
        ):
            return True, "unprotected", None
        token = request.args.get("token")
        if token:
            try:
                claims = verify(self.key, token)
            except TokenRejected as exc:
                return False, exc.reason, None
            if not token_grants(claims, game_id, self.league_of(game_id)):
                return False, "not entitled to this game", None
            scope = "/games/" if game_id in mistakes.cookie_path else game_path(game_id)
            return True, "token", scope
        cookie = request.cookies.get(COOKIE_NAME)
        if cookie:
            try:
                claims = verify(self.key, cookie)
            except TokenRejected as exc:
                return False, f"cookie {exc.reason}", None
            if not cookie_grants(claims, request.path):
                return False, "cookie not valid for this path", None
            return True, "cookie", None
        return False, "no credential", None

    def handle(self, request: Request) -> Response:
        """Answer ``GET``/``HEAD /games/{id}/{key}`` (module docstring)."""
        if request.method not in ("GET", "HEAD"):
            return json_response(405, {"error": "method not allowed"}, {"Allow": "GET, HEAD"})
        parts = split_game_path(request.path)
        if parts is None:
            return json_response(404, {"error": "not a game object path"})
        game_id, rest = parts
        mistakes = self.switch.current()
        allowed, reason, scope = self.authorize(request, game_id, rest, mistakes)
        if not allowed:
            return forbidden(reason)
        response = self._object(request, f"games/{game_id}/{rest}", mistakes, game_id, rest)
        if scope is not None and response.status_code < 400:
            response.set_cookie(
                COOKIE_NAME,
                issue_cookie(self.key, scope),
                max_age=COOKIE_TTL_S,
                path=scope,
                httponly=True,
                samesite="Lax",
            )
        return response

    def _object(
        self, request: Request, key: str, mistakes: Mistakes, game_id: str, rest: str
    ) -> Response:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        ranged = request.headers.get("Range")
        dropped = mistakes.dropped_rung.get(game_id) if rest == "master.m3u8" else None
        if ranged and not dropped:
            params["Range"] = ranged
        try:
            answer = self.s3.get_object(**params)
        except self.s3.exceptions.NoSuchKey:
            return json_response(404, {"error": "not found"})
        except Exception as exc:
            code = _status_of(exc)
            return json_response(code, {"error": "store error", "status": code})
        if dropped:
            text = drop_variant(answer["Body"].read().decode("utf-8", "replace"), dropped)
            return Response(text, mimetype="application/vnd.apple.mpegurl")
        status = 206 if answer.get("ContentRange") else 200
        headers = {
            "Content-Length": str(answer.get("ContentLength", 0)),
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=60",
        }
        if answer.get("ContentRange"):
            headers["Content-Range"] = answer["ContentRange"]
        if answer.get("ETag"):
            headers["ETag"] = answer["ETag"]
        body: Iterator[bytes] | list[bytes] = (
            [] if request.method == "HEAD" else _chunks(answer["Body"].iter_chunks(_CHUNK))
        )
        if request.method == "HEAD":
            answer["Body"].close()
        return Response(body, status=status, headers=headers, content_type=content_type(key))


def _chunks(source: Iterator[bytes]) -> Iterator[bytes]:
    yield from source


def _status_of(exc: Exception) -> int:
    """The HTTP status a botocore error carries (416 for a bad Range), else 502."""
    answer = getattr(exc, "response", None) or {}
    status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if isinstance(status, int) and 400 <= status < 600 else 502
