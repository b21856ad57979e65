"""HLS playlists: RFC 8216 checks with line numbers, then the m3u8 library for the model.

The m3u8 library is lenient (it accepts a playlist without ``#EXTM3U``, a ``NaN`` target
duration, a URI without ``#EXTINF``...), so ``parse_playlist`` first runs the structural
rules of RFC 8216 that matter to playback and raises ``PlaylistError`` with the 1-based line
and the section of the rule; only a playlist that passes them is handed to m3u8.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from posixpath import dirname, join, normpath
from urllib.parse import unquote, urlsplit

import m3u8

from services.errors import PlaylistError

_DECIMAL_INTEGER = re.compile(r"^\d+$")
_DECIMAL_FLOAT = re.compile(r"^\d+(\.\d+)?$")
_MEDIA_ONLY_TAGS = (
    "#EXTINF",
    "#EXT-X-TARGETDURATION",
    "#EXT-X-MEDIA-SEQUENCE",
    "#EXT-X-ENDLIST",
    "#EXT-X-PLAYLIST-TYPE",
    "#EXT-X-MAP",
    "#EXT-X-BYTERANGE",
    "#EXT-X-DISCONTINUITY",
)
_MULTIVARIANT_ONLY_TAGS = (
    "#EXT-X-STREAM-INF",
    "#EXT-X-I-FRAME-STREAM-INF",
    "#EXT-X-MEDIA:",
    "#EXT-X-SESSION-DATA",
    "#EXT-X-SESSION-KEY",
    "#EXT-X-CONTENT-STEERING",
)
_BANDWIDTH_ATTRIBUTE = re.compile(r"(^|,)\s*BANDWIDTH=")


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


def _check_structure(text: str, uri: str | None) -> None:
    """Raise ``PlaylistError`` (with line) for the RFC 8216 rules m3u8 does not enforce.

    Leading blank lines and a byte-order mark are tolerated (line numbers then count from
    the ``#EXTM3U`` line); everything else follows the RFC.
    """

    def fail(message: str, line: int) -> None:
        raise PlaylistError(message, uri=uri, line=line)

    lines = text.lstrip("\ufeff \t\r\n").splitlines()
    if not lines or lines[0].strip() != "#EXTM3U":
        fail("the first line must be #EXTM3U (RFC 8216 §4.3.1.1); not an HLS playlist", 1)
    target: int | None = None
    target_line = 0
    has_media = has_multivariant = False
    pending_extinf: int | None = None
    pending_stream_inf: int | None = None
    endlist_line: int | None = None
    segments = variants = 0
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            tag, _, value = line.partition(":")
            if line.startswith(_MEDIA_ONLY_TAGS):
                has_media = True
            if line.startswith(_MULTIVARIANT_ONLY_TAGS):
                has_multivariant = True
            if tag == "#EXT-X-TARGETDURATION":
                if not _DECIMAL_INTEGER.match(value.strip()):
                    fail(
                        f"EXT-X-TARGETDURATION must be a non-negative integer, got {value!r} "
                        "(RFC 8216 §4.3.3.1)",
                        number,
                    )
                target, target_line = int(value), number
            elif tag == "#EXT-X-MEDIA-SEQUENCE" and not _DECIMAL_INTEGER.match(value.strip()):
                fail(
                    f"EXT-X-MEDIA-SEQUENCE must be a non-negative integer, got {value!r} "
                    "(RFC 8216 §4.3.3.2)",
                    number,
                )
            elif tag == "#EXT-X-VERSION" and not _DECIMAL_INTEGER.match(value.strip()):
                fail(f"EXT-X-VERSION must be an integer, got {value!r} (§4.3.1.2)", number)
            elif tag == "#EXTINF":
                duration = value.split(",", 1)[0].strip()
                if not _DECIMAL_FLOAT.match(duration):
                    fail(
                        f"EXTINF duration must be a decimal number, got {duration!r} (§4.3.2.1)",
                        number,
                    )
                if pending_extinf is not None:
                    fail(
                        "EXTINF without a segment URI before the next EXTINF (§4.3.2.1)",
                        pending_extinf,
                    )
                if target is not None and round(float(duration)) > target:
                    fail(
                        f"EXTINF {duration} s exceeds EXT-X-TARGETDURATION {target} s "
                        "(RFC 8216 §4.3.3.1)",
                        number,
                    )
                pending_extinf = number
            elif tag == "#EXT-X-STREAM-INF":
                if not _BANDWIDTH_ATTRIBUTE.search(value):
                    fail("EXT-X-STREAM-INF without BANDWIDTH (RFC 8216 §4.3.4.2)", number)
                pending_stream_inf = number
            elif tag == "#EXT-X-ENDLIST":
                if pending_extinf is not None:
                    fail("EXTINF without a segment URI before EXT-X-ENDLIST", pending_extinf)
                endlist_line = number
            continue
        # a URI line
        if pending_stream_inf is not None:
            pending_stream_inf = None
            variants += 1
            continue
        if pending_extinf is None:
            fail(f"segment URI {line!r} has no EXTINF before it (RFC 8216 §4.3.2.1)", number)
        if endlist_line is not None:
            fail(f"segment {line!r} after EXT-X-ENDLIST (RFC 8216 §4.3.3.4)", number)
        pending_extinf = None
        segments += 1
    if pending_extinf is not None:
        fail("the last EXTINF has no segment URI", pending_extinf)
    if pending_stream_inf is not None:
        fail("the last EXT-X-STREAM-INF has no URI (RFC 8216 §4.3.4.2)", pending_stream_inf)
    if has_media and has_multivariant:
        fail("mixes media-playlist and multivariant tags (RFC 8216 §4.1)", target_line or 1)
    if not has_multivariant and variants == 0:
        if target is None:
            fail("media playlist without EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1)", 1)
        if segments == 0 and endlist_line is not None:
            fail("finished playlist lists no segments", endlist_line)


def parse_playlist(text: str | bytes, uri: str | None = None) -> Playlist:
    """Parse an HLS playlist into a ``MediaPlaylist`` or ``MultivariantPlaylist``.

    ``uri`` (the object key or URL) is only used in messages and kept on the result.
    Raises ``PlaylistError`` (with the line number where one applies) when the text is not
    UTF-8, breaks a rule of RFC 8216 checked above, or m3u8 cannot parse it.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PlaylistError("not UTF-8 text (RFC 8216 §4.1); not a playlist", uri=uri) from exc
    _check_structure(text, uri)
    try:
        parsed = m3u8.loads(text)
    except Exception as exc:  # m3u8 raises ParseError, ValueError, AttributeError...
        line = getattr(exc, "lineno", None)
        raise PlaylistError(f"cannot parse: {exc}", uri=uri, line=line) from exc
    if parsed.is_variant:
        return MultivariantPlaylist(
            uri=uri,
            version=_int_or_none(parsed.version),
            variants=tuple(_variant(p) for p in parsed.playlists),
            independent_segments=bool(parsed.is_independent_segments),
        )
    segments: list[Segment] = []
    start = 0.0
    sequence = int(parsed.media_sequence or 0)
    for index, seg in enumerate(s for s in parsed.segments if s.uri):  # skip LL-HLS parts tail
        duration = float(seg.duration or 0.0)
        if not math.isfinite(duration) or duration < 0:
            raise PlaylistError(f"segment {seg.uri!r} has an invalid duration", uri=uri)
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
