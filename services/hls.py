"""HLS playlists: RFC 8216 checks with line numbers, then the m3u8 library for the model.

The m3u8 library is lenient (it accepts a playlist without ``#EXTM3U``, a ``NaN`` target
duration, a URI without ``#EXTINF``...) and raises its own exceptions on some inputs, so
``parse_playlist`` first runs the rules of ``services.hls_rules`` (``PlaylistError`` with the
1-based line and the section of the rule); m3u8 then reads only the tags the model holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from posixpath import dirname, join, normpath
from urllib.parse import unquote, urlsplit

import m3u8

from services.errors import PlaylistError
from services.hls_rules import check_playlist
from services.hls_syntax import decode_text


@dataclass(frozen=True)
class Segment:
    """One media segment: ``uri`` as written, ``duration`` in seconds (EXTINF), ``sequence``
    its media sequence number, ``start`` its offset from the playlist start in seconds."""

    uri: str
    duration: float
    sequence: int
    start: float
    discontinuity: bool = False
    byterange: str | None = None


@dataclass(frozen=True)
class MediaPlaylist:
    """A media playlist (RFC 8216 §4.3.3): segments of one rendition.

    ``target_duration`` in seconds, ``init_uri`` the EXT-X-MAP URI (fMP4) or None (TS),
    ``endlist`` True for a finished (VOD) playlist. ``duration`` is the sum of EXTINF (s).
    """

    uri: str | None
    version: int | None
    target_duration: int
    media_sequence: int
    segments: tuple[Segment, ...]
    init_uri: str | None
    endlist: bool
    playlist_type: str | None

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)

    @property
    def kind(self) -> str:
        return "media"


@dataclass(frozen=True)
class Variant:
    """One EXT-X-STREAM-INF entry (RFC 8216 §4.3.4.2): ``bandwidth`` and
    ``average_bandwidth`` in bits/s, ``resolution`` (width, height) in pixels, ``frame_rate``
    in frames/s."""

    uri: str
    bandwidth: int
    average_bandwidth: int | None
    resolution: tuple[int, int] | None
    codecs: str | None
    frame_rate: float | None


@dataclass(frozen=True)
class MultivariantPlaylist:
    """A multivariant (master) playlist (RFC 8216 §4.3.4): the ladder's variant streams."""

    uri: str | None
    version: int | None
    variants: tuple[Variant, ...]
    independent_segments: bool

    @property
    def kind(self) -> str:
        return "multivariant"


Playlist = MediaPlaylist | MultivariantPlaylist


def parse_playlist(text: str | bytes, uri: str | None = None) -> Playlist:
    """Parse an HLS playlist into a ``MediaPlaylist`` or ``MultivariantPlaylist``.

    ``uri`` (the object key or URL) is only used in messages and kept on the result.
    Raises ``PlaylistError`` (with the line number where one applies) when the text is not
    UTF-8 or breaks a rule of RFC 8216 (``services.hls_rules``); nothing else escapes.
    A playlist with multivariant tags only (e.g. EXT-X-SESSION-DATA) is a multivariant
    playlist with no variants.
    """
    checked = check_playlist(decode_text(text, uri), uri)
    try:
        parsed = m3u8.loads(checked.model_text)
    except Exception as exc:  # a rule hls_rules misses; say so without m3u8's own words
        raise PlaylistError(
            "cannot be read although it passes the RFC 8216 checks; inspect it in a validator "
            f"({type(exc).__name__})",
            uri=uri,
            line=getattr(exc, "lineno", None),
        ) from exc
    if checked.kind == "multivariant":
        return MultivariantPlaylist(
            uri=uri,
            version=_int_or_none(parsed.version),
            variants=tuple(_variant(p) for p in parsed.playlists),
            independent_segments=bool(parsed.is_independent_segments),
        )
    segments: list[Segment] = []
    start = 0.0
    sequence = int(parsed.media_sequence or 0)
    for index, seg in enumerate(s for s in parsed.segments if s.uri):
        duration = float(seg.duration or 0.0)
        segments.append(
            Segment(
                uri=seg.uri,
                duration=duration,
                sequence=sequence + index,
                start=start,
                discontinuity=bool(seg.discontinuity),
                byterange=seg.byterange,
            )
        )
        start += duration
    init_uri = None
    if parsed.segment_map:
        init_uri = parsed.segment_map[0].uri
    return MediaPlaylist(
        uri=uri,
        version=_int_or_none(parsed.version),
        target_duration=int(parsed.target_duration or 0),
        media_sequence=sequence,
        segments=tuple(segments),
        init_uri=init_uri,
        endlist=bool(parsed.is_endlist),
        playlist_type=(parsed.playlist_type or None) and str(parsed.playlist_type).upper(),
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _variant(playlist: m3u8.Playlist) -> Variant:
    info = playlist.stream_info
    return Variant(
        uri=playlist.uri,
        bandwidth=int(info.bandwidth or 0),
        average_bandwidth=int(info.average_bandwidth) if info.average_bandwidth else None,
        resolution=tuple(info.resolution) if info.resolution else None,
        codecs=info.codecs,
        frame_rate=float(info.frame_rate) if info.frame_rate else None,
    )


def resolve_key(playlist_key: str, uri: str) -> str | None:
    """The bucket key a playlist URI points to, resolved against the playlist's own key
    (RFC 8216 §4.1: relative URIs resolve against the playlist). The path is
    percent-decoded, as the gateway decodes request paths. None for absolute URLs."""
    if urlsplit(uri).scheme or uri.startswith("//"):
        return None
    path = unquote(uri.split("?", 1)[0].split("#", 1)[0])
    if path.startswith("/"):
        return normpath(path.lstrip("/"))
    return normpath(join(dirname(playlist_key), path))


def referenced_keys(playlist_key: str, playlist: Playlist) -> list[str]:
    """Bucket keys a playlist references directly: its init section and segments (media),
    or its variant playlists (multivariant). Absolute URLs are left out."""
    uris: list[str]
    if isinstance(playlist, MultivariantPlaylist):
        uris = [v.uri for v in playlist.variants]
    else:
        uris = ([playlist.init_uri] if playlist.init_uri else []) + [
            s.uri for s in playlist.segments
        ]
    keys = [resolve_key(playlist_key, u) for u in uris]
    return [k for k in keys if k]
