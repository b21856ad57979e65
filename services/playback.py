"""What the player loads, and how a media playlist becomes something libmpv can seek in.

No Qt and no mpv here: this module only builds strings and frozen dataclasses, so the
catalog, the clip builder and the CLI can prepare a :class:`PlaybackSource` without a GUI.

Why media playlists are played as mpv EDL
-----------------------------------------
libmpv 0.35.1 (Debian 12) plays fMP4 HLS through FFmpeg's ``hls`` demuxer. A seek to a
position outside the demuxer cache makes that demuxer read fragments without their
``moov`` context: playback "ends" at once with garbage (docs/platform.md). mpv's own EDL
timeline with the ``!mp4_dash`` header avoids the FFmpeg HLS demuxer altogether: mpv
reads the init segment once, knows every segment's start from the summed ``length``
values, opens only the segment that covers a seek target and demuxes it with the init
segment prepended. Seeking anywhere (and back) is then exact, whatever the cache size.

Multivariant (master) playlists keep playing as HLS so mpv can pick a variant (ABR);
seeking there is only reliable inside the demuxer cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from services.hls import MediaPlaylist, MultivariantPlaylist, resolve_key

SourceKind = Literal["media", "multivariant"]

__all__ = [
    "PlaybackSource",
    "SourceKind",
    "edl_for_segments",
    "edl_quote",
    "media_source",
    "multivariant_source",
]


@dataclass(frozen=True)
class PlaybackSource:
    """What the player loads.

    Attributes:
        url: what mpv opens: an ``edl://`` URL for a media playlist (see
            :func:`edl_for_segments`), or the gateway ``http://`` URL of a multivariant
            playlist.
        title: the human-readable name shown in the player (game, rung, clip).
        duration: total duration in seconds when known (sum of ``EXTINF``), else ``None``.
        kind: ``"media"`` (one rendition, seekable anywhere) or ``"multivariant"``
            (adaptive, mpv picks the variant; seeking is reliable inside the cache only).
        playlist_url: the ``http://`` URL of the playlist itself (for copy / display), or
            ``None`` when the source was built from segments only.
        live: a live (sliding-window, no ``EXT-X-ENDLIST``) playlist: the player panel
            shows LIVE instead of a seek bar. Playback joins three target durations from
            the live edge (ffmpeg's default, RFC 8216 §6.3.3).

    Raises:
        ValueError: on an empty ``url``, an unknown ``kind`` or a negative/NaN ``duration``.
    """

    url: str
    title: str
    duration: float | None = None
    kind: SourceKind = "media"
    playlist_url: str | None = None
    live: bool = False

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("PlaybackSource.url is empty")
        if self.kind not in ("media", "multivariant"):
            raise ValueError(f"unknown PlaybackSource.kind {self.kind!r}")
        if self.duration is not None and not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"invalid duration {self.duration!r} (seconds)")


def edl_quote(value: str) -> str:
    """Quote one EDL parameter value with mpv's length prefix: ``%<bytes>%<value>``.

    mpv's EDL syntax separates parameters with ``,`` and entries with ``;``; URLs contain
    ``:``, ``,``, ``;`` or ``=``. The ``%N%`` form, where N is the UTF-8 byte length of the
    value that follows, carries any value verbatim.
    """
    return f"%{len(value.encode('utf-8'))}%{value}"


def _format_seconds(seconds: float) -> str:
    # repr() is the shortest exact round-trip form; mpv parses it with strtod.
    return repr(float(seconds))


def edl_for_segments(
    init_url: str | None, segments: Sequence[tuple[str, float]], timeline_start: float = 0.0
) -> str:
    """Build the ``edl://`` URL that plays a media playlist as one seekable timeline.

    Args:
        init_url: absolute URL of the ``EXT-X-MAP`` init segment of an fMP4 playlist, or
            ``None`` for an MPEG-TS playlist (mpv then takes the track layout from the
            first segment).
        segments: ``(absolute segment URL, EXTINF duration in seconds)`` in playlist order.
        timeline_start: seconds at which the first segment starts on the rendition's
            timeline (a clip cut from the middle of a rendition). With ``!mp4_dash`` mpv
            keeps each segment's own timestamps but picks the segment to open from the
            summed ``length`` values, so the first entry's length is extended by this
            much: positions, seeks and the duration then agree with the timestamps.

    Returns:
        ``edl://!mp4_dash,init=%N%<init>;%N%<seg>,length=<s>;...``. Both forms use the
        ``!mp4_dash`` header so mpv opens segments lazily (one request per segment it
        actually plays or seeks into, none up front). With TS segments, mpv uses the
        segments' own timestamps, so positions are only exact when the first segment's
        timestamps start at 0; the platform's renditions are fMP4.

    Raises:
        ValueError: if ``segments`` is empty, a URL is empty, or a duration is not a
            positive finite number of seconds.
    """
    if not segments:
        raise ValueError("a media playlist needs at least one segment")
    if init_url is not None and not init_url:
        raise ValueError("init_url is empty")
    header = "!mp4_dash"
    if init_url is not None:
        header += f",init={edl_quote(init_url)}"
    if not math.isfinite(timeline_start) or timeline_start < 0:
        raise ValueError(f"invalid timeline start {timeline_start!r} s")
    entries = [header]
    for index, (url, duration) in enumerate(segments):
        if not url:
            raise ValueError(f"segment {index} has an empty URL")
        seconds = float(duration)
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"segment {index} ({url}) has a non-positive duration {duration!r} s")
        if index == 0:
            seconds += float(timeline_start)
        entries.append(f"{edl_quote(url)},length={_format_seconds(seconds)}")
    return "edl://" + ";".join(entries)


def media_source(
    title: str,
    init_url: str | None,
    segments: Sequence[tuple[str, float]],
    playlist_url: str | None = None,
    timeline_start: float = 0.0,
) -> PlaybackSource:
    """A :class:`PlaybackSource` for one rendition (media playlist or clip preview).

    ``segments`` are ``(absolute URL, duration in seconds)``; the duration of the source
    is their sum plus ``timeline_start`` (where a clip's first segment starts on its
    rendition's timeline, see :func:`edl_for_segments`). Raises ``ValueError`` like
    :func:`edl_for_segments`.
    """
    url = edl_for_segments(init_url, segments, timeline_start)
    total = float(timeline_start) + math.fsum(float(d) for _, d in segments)
    return PlaybackSource(
        url=url, title=title, duration=total, kind="media", playlist_url=playlist_url
    )


def multivariant_source(
    title: str, playlist_url: str, duration: float | None = None, *, live: bool = False
) -> PlaybackSource:
    """A :class:`PlaybackSource` for a multivariant (master) playlist played as HLS (ABR).

    ``playlist_url`` is the ``http://`` URL mpv opens; ``duration`` in seconds when known;
    ``live`` for a live channel (see :class:`PlaybackSource`). Raises ``ValueError`` on an
    empty URL.
    """
    return PlaybackSource(
        url=playlist_url,
        title=title,
        duration=duration,
        kind="multivariant",
        playlist_url=playlist_url,
        live=live,
    )


def source_for_playlist(
    title: str,
    playlist_key: str,
    playlist: MediaPlaylist | MultivariantPlaylist,
    url_for: Callable[[str], str],
) -> PlaybackSource:
    """What the player loads for a stored playlist: a media playlist becomes an EDL of its
    init section and segments (seekable anywhere on libmpv 0.35), a multivariant one plays
    as HLS. ``url_for(key)`` maps a bucket key to a URL the player can fetch (the playback
    gateway's); URIs are resolved against ``playlist_key`` (RFC 8216 §4.1).
    Raises ``ValueError`` like :func:`edl_for_segments`.
    """
    playlist_url = url_for(playlist_key)
    if isinstance(playlist, MultivariantPlaylist):
        return multivariant_source(title, playlist_url)

    def absolute(uri: str) -> str:
        key = resolve_key(playlist_key, uri)
        return url_for(key) if key else uri

    init = absolute(playlist.init_uri) if playlist.init_uri else None
    segments = [(absolute(s.uri), s.duration) for s in playlist.segments]
    return media_source(title, init, segments, playlist_url)
