"""The backfill's input: the game's v1 media playlist, checked and probed.

The v1 rendition is read through the local playback gateway (no download to disk); before
any encode, every object the v1 playlist references must be in the store (a missing
segment would only be a warning to ffmpeg, docs/platform.md), and the video stream is probed
for its size, sample aspect ratio and frame rate (the GOP is counted in frames).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from services.errors import MediaError
from services.hls import MediaPlaylist, parse_playlist, referenced_keys
from services.media_tools.probe import RenditionProbe, probe_rendition


@dataclass(frozen=True)
class SourceRendition:
    """The v1 media playlist a backfill encodes from.

    ``key`` is its store key (``games/{id}/master.m3u8``, or ``master.v1.m3u8`` when a v1.5
    game is re-encoded), ``data`` its exact bytes and ``sha256`` their hex digest;
    ``duration`` is the sum of its EXTINF in seconds.
    """

    key: str
    data: bytes
    sha256: str
    playlist: MediaPlaylist

    @property
    def duration(self) -> float:
        return self.playlist.duration


def read_source(key: str, data: bytes) -> SourceRendition:
    """Parse the v1 playlist bytes. Raises ``PlaylistError`` when malformed and
    ``MediaError`` when it is a multivariant playlist or has no segment."""
    playlist = parse_playlist(data, uri=key)
    if not isinstance(playlist, MediaPlaylist):
        raise MediaError(f"{key} is a multivariant playlist, not a v1 media playlist.")
    if not playlist.segments:
        raise MediaError(f"{key} lists no segment: nothing to encode.")
    return SourceRendition(key, data, hashlib.sha256(data).hexdigest(), playlist)


def missing_objects(source: SourceRendition, stored_keys: Iterable[str]) -> list[str]:
    """The keys the v1 playlist references (init section and segments) that are not in
    ``stored_keys``, in playlist order."""
    stored = set(stored_keys)
    return [k for k in referenced_keys(source.key, source.playlist) if k not in stored]


async def probe_source(url: str, *, hide: str = "", timeout_s: float = 60.0) -> RenditionProbe:
    """Probe the source at ``url`` (a gateway URL of the v1 playlist) for its streams
    (``services.media_tools.probe``, no packets); ``hide`` (the gateway's secret URL
    prefix) is removed from ffprobe's words. The backfill uses ``width``, ``height``,
    ``sample_aspect``, ``frame_rate``/``fps``, ``codec`` and ``has_audio``.

    Raises ``MediaError`` when there is no decodable video stream (the message carries
    ffprobe's own words) or no usable frame rate, ``BadConfig`` when ffprobe is missing,
    ``ToolTimeout`` (a ``ServiceError``) when ffprobe takes over ``timeout_s`` seconds.
    """
    failure = "The v1 source cannot be decoded"
    video = await probe_rendition(url, hide=hide, timeout_s=timeout_s, failure=failure)
    if not video.width:
        raise MediaError(f"{failure}: ffprobe says {'no video stream'!r}.")
    if video.frame_rate <= 0 or video.frame_rate > 240:
        raise MediaError(f"The v1 source has no usable frame rate ({video.frame_rate}).")
    return video


def require_no_missing(source: SourceRendition, stored_keys: Iterable[str]) -> None:
    """Raise ``MediaError`` naming the missing objects when the v1 rendition is incomplete."""
    missing = missing_objects(source, stored_keys)
    if missing:
        names = ", ".join(k.rsplit("/", 1)[-1] for k in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MediaError(
            f"The v1 rendition is incomplete: {names}{more} missing from the store. "
            "The game is broken; nothing was encoded or written."
        )
