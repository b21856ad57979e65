"""The demo playback and clip APIs: the Django side of docs/contracts.md §1.5.

- ``GET /api/games/{id}/playback`` (``Authorization: Bearer <viewer API token>``) →
  ``{"manifest_url": "{origin}/games/{id}/master.m3u8", "token": <game token>}``: the same
  URL before and after the v1.5 backfill; 401 without the API token, 404 for no such game.
- ``GET /api/games/{id}/clip.m3u8?start=S&end=E[&rung=R]&token=<jwt>`` (seconds; ``R`` a
  rung name or ``v1``) → a media playlist (RFC 8216 §4.3.3, ``services.clips.build_clip``)
  over the stored segments of that rendition covering [S, E], URIs root-relative
  (``/games/{id}/abr/{R}/seg_….m4s``) so they are fetched through the gate; without ``rung``
  a multivariant clip whose variants are this endpoint per rung (a v1 game: the v1 clip).
  Gated like the rest: the token must grant the game (403 otherwise); an authorized answer
  also sets the gate cookie for ``/games/{id}/``. Nothing is written to the bucket.

The API and the gate share one origin, as production routes ``/api/*`` to Django and
``/games/*`` to the Worker.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from console.demo.viewer.gate import Gate, forbidden, json_response, split_game_path
from services.clips import ClipError, build_clip
from services.errors import PlaylistError
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist, resolve_key
from services.viewer_tokens import (
    COOKIE_NAME,
    COOKIE_TTL_S,
    TokenRejected,
    game_path,
    issue_cookie,
    issue_game_token,
    token_grants,
    verify,
)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


class PlaybackApi:
    """The API over ``gate``'s bucket and key; ``api_token`` guards ``/playback``;
    ``origin`` is the public base URL (``http://127.0.0.1:PORT``)."""

    def __init__(self, gate: Gate, api_token: str, origin: str) -> None:
        self.gate = gate
        self.api_token = api_token
        self.origin = origin.rstrip("/")

    def handle(self, request: Request) -> Response:
        """Answer ``/api/games/{id}/playback`` and ``/api/games/{id}/clip.m3u8``."""
        if request.method != "GET":
            return json_response(405, {"error": "method not allowed"}, {"Allow": "GET"})
        parts = split_game_path(request.path[len("/api") :])
        if parts is None or parts[1] not in ("playback", "clip.m3u8"):
            return json_response(404, {"error": "no such endpoint"})
        game_id, endpoint = parts
        if endpoint == "playback":
            return self.playback(request, game_id)
        return self.clip(request, game_id)

    def _read(self, key: str) -> bytes | None:
        try:
            return self.gate.s3.get_object(Bucket=self.gate.bucket, Key=key)["Body"].read()
        except self.gate.s3.exceptions.NoSuchKey:
            return None

    def _exists(self, key: str) -> bool:
        try:
            self.gate.s3.head_object(Bucket=self.gate.bucket, Key=key)
            return True
        except Exception:
            return False

    def playback(self, request: Request, game_id: str) -> Response:
        """``{manifest_url, token}`` for an API caller (Bearer token)."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.api_token:
            return json_response(401, {"error": "missing or invalid API token"})
        if not self._exists(f"games/{game_id}/master.m3u8"):
            return json_response(404, {"error": f"no game {game_id}"})
        return json_response(
            200,
            {
                "manifest_url": f"{self.origin}/games/{game_id}/master.m3u8",
                "token": issue_game_token(self.gate.key, game_id),
            },
        )

    def clip(self, request: Request, game_id: str) -> Response:
        """The clip playlist (module docstring)."""
        token = request.args.get("token", "")
        if not token:
            return forbidden("no credential")
        try:
            claims = verify(self.gate.key, token)
        except TokenRejected as exc:
            return forbidden(exc.reason)
        if not token_grants(claims, game_id, self.gate.league_of(game_id)):
            return forbidden("not entitled to this game")
        try:
            start, end = float(request.args["start"]), float(request.args["end"])
        except (KeyError, ValueError):
            return json_response(400, {"error": "start and end (seconds) are required"})
        if not (math.isfinite(start) and math.isfinite(end)):
            return json_response(400, {"error": "start and end must be finite seconds"})
        rung = request.args.get("rung", "")
        try:
            text = (
                self._media_clip(game_id, rung, start, end)
                if rung
                else self._multivariant_clip(game_id, start, end, token)
            )
        except (ClipError, PlaylistError) as exc:
            return json_response(400, {"error": str(exc)})
        if text is None:
            return json_response(404, {"error": f"game {game_id} has no rendition {rung!r}"})
        response = Response(text, mimetype=PLAYLIST_TYPE)
        scope = "/games/" if game_id in self.gate.switch.current().cookie_path else None
        scope = scope or game_path(game_id)
        response.set_cookie(
            COOKIE_NAME,
            issue_cookie(self.gate.key, scope),
            max_age=COOKIE_TTL_S,
            path=scope,
            httponly=True,
            samesite="Lax",
        )
        return response

    def _rendition_key(self, game_id: str, rung: str) -> str | None:
        prefix = f"games/{game_id}/"
        if rung != "v1":
            key = f"{prefix}abr/{rung}/index.m3u8"
            return key if self._exists(key) else None
        if self._exists(prefix + "master.v1.m3u8"):
            return prefix + "master.v1.m3u8"
        data = self._read(prefix + "master.m3u8")
        if data is not None and isinstance(parse_playlist(data, "master"), MediaPlaylist):
            return prefix + "master.m3u8"
        return None

    def _media_clip(self, game_id: str, rung: str, start: float, end: float) -> str | None:
        key = self._rendition_key(game_id, rung)
        data = self._read(key) if key else None
        if key is None or data is None:
            return None
        playlist = parse_playlist(data, key)
        if not isinstance(playlist, MediaPlaylist):
            raise PlaylistError("is not a media playlist", uri=key)
        rooted = replace(
            playlist,
            init_uri=_rooted(key, playlist.init_uri) if playlist.init_uri else None,
            segments=tuple(replace(s, uri=_rooted(key, s.uri)) for s in playlist.segments),
        )
        text = build_clip(key, rooted, start, end).text
        if game_id in self.gate.switch.current().foreign_clip:
            text = self._foreign(text, game_id)
        return text

    def _foreign(self, text: str, game_id: str) -> str:
        """The planted mistake: the clip's last segment replaced by another game's."""
        other = self._other_game(game_id)
        if other is None:
            return text
        lines = text.splitlines()
        last = max(i for i, line in enumerate(lines) if line and not line.startswith("#"))
        name = lines[last].rsplit("/", 1)[-1]
        lines[last] = f"/games/{other}/{name}"
        return "\n".join(lines) + "\n"

    def _other_game(self, game_id: str) -> str | None:
        answer = self.gate.s3.list_objects_v2(
            Bucket=self.gate.bucket, Prefix="games/", Delimiter="/", MaxKeys=50
        )
        ids = [p["Prefix"][len("games/") :].rstrip("/") for p in answer.get("CommonPrefixes", [])]
        return next((i for i in ids if i != game_id), None)

    def _multivariant_clip(self, game_id: str, start: float, end: float, token: str) -> str | None:
        key = f"games/{game_id}/master.m3u8"
        data = self._read(key)
        if data is None:
            return None
        master = parse_playlist(data, key)
        if isinstance(master, MediaPlaylist):
            return self._media_clip(game_id, "v1", start, end)
        assert isinstance(master, MultivariantPlaylist)
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
        for variant in master.variants:
            rung = (resolve_key(key, variant.uri) or "").split("/")[-2:-1]
            if not rung:
                continue
            attributes: list[str] = [f"BANDWIDTH={variant.bandwidth}"]
            if variant.average_bandwidth:
                attributes.append(f"AVERAGE-BANDWIDTH={variant.average_bandwidth}")
            if variant.resolution:
                attributes.append(f"RESOLUTION={variant.resolution[0]}x{variant.resolution[1]}")
            if variant.codecs:
                attributes.append(f'CODECS="{variant.codecs}"')
            query: dict[str, Any] = {"start": start, "end": end, "rung": rung[0], "token": token}
            lines += [
                f"#EXT-X-STREAM-INF:{','.join(attributes)}",
                f"/api/games/{game_id}/clip.m3u8?{urlencode(query)}",
            ]
        return "\n".join(lines) + "\n"


def _rooted(playlist_key: str, uri: str) -> str:
    """A playlist URI as a root-relative path to its object (``/games/{id}/…``)."""
    key = resolve_key(playlist_key, uri)
    return f"/{key}" if key else uri
