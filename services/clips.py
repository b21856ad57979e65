"""Clips: media playlists cut from a stored rendition, and checks of server clip playlists.

No Qt here. A clip never creates media: it is an RFC 8216 media playlist (VOD, with
``EXT-X-ENDLIST``, ``EXT-X-TARGETDURATION`` and the rendition's ``EXT-X-MAP``) listing
the stored segments that cover the operator's [in, out] interval, so it plays anywhere the
rendition plays. Segment URIs are written as in the stored playlist (relative to the
rendition's directory): the clip file is valid beside the rendition's playlist. When the
in point falls inside the first segment, ``EXT-X-START:TIME-OFFSET=…,PRECISE=YES``
(§4.3.5.2) tells players where the operator's clip begins.

:func:`check_clip` answers "does this server clip reference only what we store?": every
URI of a clip playlist (pasted URL or file) is mapped to a bucket key and compared with the
stored rendition (``missing``: not in the store; ``extra``: stored, but not part of that
rendition; ``foreign``: not an object of this game at all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from services.errors import NotFound, PlaylistError, ServiceError
from services.hls import MediaPlaylist, Segment, parse_playlist, referenced_keys, resolve_key
from services.layout import GAMES_PREFIX, MASTER, MASTER_V1
from services.storage import Storage

__all__ = [
    "Clip",
    "ClipCheck",
    "ClipError",
    "ClipItem",
    "build_clip",
    "check_clip",
    "fetch_clip_text",
    "rendition_playlist_key",
]

#: Tolerance (seconds) when comparing a clip's EXTINF with the stored one.
DURATION_TOLERANCE_S = 0.001


class ClipError(ServiceError):
    """An in/out interval that cannot make a clip (empty, reversed, outside the media)."""


@dataclass(frozen=True)
class Clip:
    """A clip of a stored media playlist.

    Attributes:
        playlist_key: bucket key of the rendition's media playlist it was cut from.
        in_s, out_s: the operator's in and out points (seconds on the rendition timeline).
        start_s, end_s: what the clip covers: from the start of its first segment to the
            end of its last (seconds on the rendition timeline; ``start_s <= in_s``).
        segments: the stored segments covering [in_s, out_s], in order.
        keys: bucket keys the clip references: the init section first (fMP4), then the
            segments.
        text: the clip media playlist (RFC 8216), UTF-8 text.
    """

    playlist_key: str
    in_s: float
    out_s: float
    start_s: float
    end_s: float
    segments: tuple[Segment, ...]
    keys: tuple[str, ...]
    text: str

    @property
    def duration_s(self) -> float:
        """Seconds the clip playlist lasts (sum of its EXTINF)."""
        return self.end_s - self.start_s

    @property
    def init_key(self) -> str | None:
        """Bucket key of the init section (fMP4), else ``None``."""
        return self.keys[0] if len(self.keys) > len(self.segments) else None

    @property
    def segment_keys(self) -> tuple[str, ...]:
        """Bucket keys of the segments, in order."""
        return self.keys[len(self.keys) - len(self.segments) :]


def _format_duration(seconds: float) -> str:
    return f"{seconds:.6f}"


def build_clip(playlist_key: str, playlist: MediaPlaylist, in_s: float, out_s: float) -> Clip:
    """The clip of ``playlist`` (stored at ``playlist_key``) covering [``in_s``, ``out_s``].

    Seconds are on the rendition timeline (0 = start of its first segment). A segment is
    included when it overlaps the interval; ``in_s == out_s`` gives the one segment
    holding that instant. Raises :class:`ClipError` when ``in_s > out_s``, either is not
    finite or negative, the interval starts at or after the end of the media, or the
    playlist has no segments.
    """
    if not (math.isfinite(in_s) and math.isfinite(out_s)) or in_s < 0 or out_s < 0:
        raise ClipError(f"In and out points must be positive seconds, not {in_s!r}/{out_s!r}.")
    if in_s > out_s:
        raise ClipError(f"The in point ({in_s:.3f} s) is after the out point ({out_s:.3f} s).")
    segments = playlist.segments
    if not segments:
        raise ClipError(f"{playlist_key} has no segments to cut a clip from.")
    total = segments[-1].start + segments[-1].duration
    if in_s >= total:
        raise ClipError(f"The in point ({in_s:.3f} s) is past the end ({total:.3f} s).")
    chosen = [s for s in segments if s.start < out_s + 1e-9 and s.start + s.duration > in_s + 1e-9]
    if not chosen:  # in == out exactly on the last segment's end is excluded above
        chosen = [next(s for s in segments if s.start <= in_s < s.start + s.duration)]
    first, last = chosen[0], chosen[-1]
    start, end = first.start, last.start + last.duration
    target = max(1, math.ceil(max(s.duration for s in chosen) - 1e-9))
    version = max(playlist.version or 3, 6 if playlist.init_uri else 3)
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{version}",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{first.sequence}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"# clip of {playlist_key}: in {in_s:.3f} s, out {out_s:.3f} s; "
        f"covers {start:.3f}-{end:.3f} s ({len(chosen)} segments)",
    ]
    if in_s - start > 1e-6:
        lines.append(f"#EXT-X-START:TIME-OFFSET={in_s - start:.3f},PRECISE=YES")
    if playlist.init_uri:
        lines.append(f'#EXT-X-MAP:URI="{playlist.init_uri}"')
    for index, segment in enumerate(chosen):
        if segment.discontinuity and index:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{_format_duration(segment.duration)},")
        if segment.byterange:
            lines.append(f"#EXT-X-BYTERANGE:{segment.byterange}")
        lines.append(segment.uri)
    lines.append("#EXT-X-ENDLIST")
    text = "\n".join(lines) + "\n"
    clip_playlist = parse_playlist(text, f"clip of {playlist_key}")  # our own RFC check
    assert isinstance(clip_playlist, MediaPlaylist)
    keys = tuple(referenced_keys(playlist_key, clip_playlist))
    return Clip(playlist_key, float(in_s), float(out_s), start, end, tuple(chosen), keys, text)


# -- checking a server clip -----------------------------------------------------------------


@dataclass(frozen=True)
class ClipItem:
    """One URI of a checked clip playlist.

    Attributes:
        uri: as written in the clip.
        key: the bucket key it maps to (``None`` when it cannot be mapped to this game).
        status: ``"ok"`` (a stored object of the rendition), ``"missing"`` (no such
            object in the store), ``"extra"`` (a stored object that is not part of the
            rendition: another rung's or v1's segment) or ``"foreign"`` (a URI outside this
            game).
        size: the stored object's size in bytes, when stored.
        note: a detail such as an EXTINF that differs from the stored one.
    """

    uri: str
    key: str | None
    status: str
    size: int | None = None
    note: str = ""


@dataclass(frozen=True)
class ClipCheck:
    """The verdict on a clip playlist against the stored rendition ``playlist_key``."""

    playlist_key: str
    items: tuple[ClipItem, ...]

    def with_status(self, status: str) -> list[ClipItem]:
        return [i for i in self.items if i.status == status]

    @property
    def ok(self) -> bool:
        """``True`` when every URI is a stored object of the rendition, with its EXTINF."""
        return all(i.status == "ok" and not i.note for i in self.items)

    def summary(self) -> str:
        """One sentence for the operator."""
        counts = {s: len(self.with_status(s)) for s in ("ok", "missing", "extra", "foreign")}
        notes = sum(1 for i in self.items if i.note)
        if self.ok:
            return f"OK: all {counts['ok']} objects are stored in {self.playlist_key}."
        parts = [f"{n} {status}" for status, n in counts.items() if n and status != "ok"]
        if notes:
            parts.append(f"{notes} with a different duration")
        return f"NOT OK ({', '.join(parts)}) against {self.playlist_key}."

    def as_json(self) -> dict:
        """A JSON-ready dict: ``ok``, ``rendition``, ``items`` (uri, key, status, size, note)."""
        return {
            "ok": self.ok,
            "rendition": self.playlist_key,
            "items": [
                {"uri": i.uri, "key": i.key, "status": i.status, "size": i.size, "note": i.note}
                for i in self.items
            ],
        }


async def rendition_playlist_key(storage: Storage, game_id: str, rendition: str) -> str:
    """The stored media playlist key of ``rendition`` (``"v1"`` or a rung name) of a game.

    v1 is ``master.v1.m3u8`` once a game is backfilled, else ``master.m3u8``. Raises
    ``NotFound`` when that playlist is not stored.
    """
    prefix = f"{GAMES_PREFIX}{game_id}/"
    if rendition == "v1":
        for name in (MASTER_V1, MASTER):
            try:
                await storage.head(prefix + name)
            except NotFound:
                continue
            if name == MASTER_V1:
                return prefix + name
            body = await storage.get(prefix + name)
            if isinstance(parse_playlist(body.data, prefix + name), MediaPlaylist):
                return prefix + name
        raise NotFound(f"Game {game_id} has no v1 media playlist.", prefix + MASTER)
    key = f"{prefix}abr/{rendition}/index.m3u8"
    try:
        await storage.head(key)
    except NotFound as exc:
        raise NotFound(f"Game {game_id} has no rung {rendition!r} ({key}).", key) from exc
    return key


def _key_of(uri: str, base_key: str, game_prefix: str) -> str | None:
    """The bucket key ``uri`` points to: relative URIs resolve against ``base_key``; for an
    absolute URL, the part of its path from ``games/<id>/`` on (CDN, gateway or S3 URL)."""
    key = resolve_key(base_key, uri)
    if key is not None:
        return key
    path = unquote(urlsplit(uri).path)
    at = path.find(game_prefix)
    return path[at:] if at >= 0 else None


def _base_key(clip_location: str | None, playlist_key: str, game_prefix: str) -> str:
    """Where the clip's relative URIs resolve from: its own location when that is inside the
    game (a URL or key under ``games/<id>/``), else beside the rendition's playlist."""
    if clip_location:
        path = unquote(urlsplit(clip_location).path)
        at = path.find(game_prefix)
        if at >= 0:
            return path[at:]
    return playlist_key


async def check_clip(
    storage: Storage,
    clip_text: str | bytes,
    game_id: str,
    rendition: str,
    *,
    clip_location: str | None = None,
) -> ClipCheck:
    """Check a clip playlist against the stored ``rendition`` (``"v1"`` or a rung) of
    ``game_id``: every URI it references must be a stored object of that rendition.

    ``clip_location`` (the clip's URL or key) resolves its relative URIs; without it they
    resolve beside the rendition's playlist. Reads the rendition's playlist and lists the
    game's objects (no segment is downloaded). Raises ``PlaylistError`` for a clip that is
    not an RFC 8216 media playlist, ``NotFound`` for an unknown game/rendition, and
    storage errors as they come.
    """
    game_prefix = f"{GAMES_PREFIX}{game_id}/"
    playlist_key = await rendition_playlist_key(storage, game_id, rendition)
    stored = parse_playlist((await storage.get(playlist_key)).data, playlist_key)
    if not isinstance(stored, MediaPlaylist):
        raise PlaylistError("is not a media playlist", uri=playlist_key)
    clip = parse_playlist(clip_text, clip_location or "clip")
    if not isinstance(clip, MediaPlaylist):
        raise PlaylistError(
            "is a multivariant playlist; a clip is a media playlist (RFC 8216 §4.3.3)",
            uri=clip_location or "clip",
        )
    expected_durations = {resolve_key(playlist_key, s.uri): s.duration for s in stored.segments}
    expected = set(referenced_keys(playlist_key, stored))
    listing = await storage.list_all(game_prefix)
    sizes = {o.key: o.size for o in listing.objects}
    base = _base_key(clip_location, playlist_key, game_prefix)
    entries: list[tuple[str, float | None]] = []
    if clip.init_uri:
        entries.append((clip.init_uri, None))
    entries.extend((s.uri, s.duration) for s in clip.segments)
    items = [
        _check_item(uri, duration, base, game_prefix, expected, expected_durations, sizes)
        for uri, duration in entries
    ]
    return ClipCheck(playlist_key, tuple(items))


def _check_item(
    uri: str,
    duration: float | None,
    base: str,
    game_prefix: str,
    expected: set[str],
    expected_durations: dict[str | None, float],
    sizes: dict[str, int],
) -> ClipItem:
    key = _key_of(uri, base, game_prefix)
    if key is None or not key.startswith(game_prefix):
        return ClipItem(uri, key, "foreign", note="not an object of this game")
    size = sizes.get(key)
    if size is None:
        where = "listed by the rendition" if key in expected else "not part of the rendition"
        return ClipItem(uri, key, "missing", None, f"not stored ({where})")
    if key not in expected:
        return ClipItem(uri, key, "extra", size, "stored, but not part of the rendition")
    note = ""
    stored = expected_durations.get(key)
    if duration is not None and stored is not None:
        if abs(duration - stored) > DURATION_TOLERANCE_S:
            note = f"EXTINF {duration:.3f} s, stored {stored:.3f} s"
    return ClipItem(uri, key, "ok", size, note)


async def fetch_clip_text(url: str, *, timeout_s: float = 15.0, max_bytes: int = 4 << 20) -> str:
    """GET a clip playlist from ``url`` (http/https). Raises ``ServiceError`` subclasses:
    ``Unreachable`` (network), ``NotFound`` (404), ``PlaylistError`` (too large, not text)."""
    import httpx

    from services.errors import Unreachable

    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client:
            answer = await client.get(url)
    except httpx.HTTPError as exc:
        raise Unreachable(f"Could not fetch {url}: {exc}.") from exc
    if answer.status_code == 404:
        raise NotFound(f"{url} does not exist (HTTP 404).")
    if answer.status_code >= 400:
        raise ServiceError(f"{url} answered HTTP {answer.status_code}.")
    if len(answer.content) > max_bytes:
        raise PlaylistError(f"is larger than {max_bytes} bytes; not a playlist", uri=url)
    try:
        return answer.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlaylistError("is not UTF-8 text; not a playlist", uri=url) from exc
