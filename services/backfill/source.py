"""The backfill's input: the game's v1 media playlist, checked and probed.

The v1 rendition is read through the local playback gateway (no download to disk); before
any encode, every object the v1 playlist references must be in the store (a missing
segment would only be a warning to ffmpeg, PLATFORM.md), and the video stream is probed
for its size, sample aspect ratio and frame rate (the GOP is counted in frames).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from services.errors import MediaError, ServiceError
from services.ffmpeg_tools import ffprobe_exe
from services.hls import MediaPlaylist, parse_playlist, referenced_keys


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


@dataclass(frozen=True)
class SourceVideo:
    """What ffprobe says of the source's streams: ``width``/``height`` in pixels,
    ``sample_aspect`` the SAR, ``frame_rate`` as an exact fraction (frames/s), the video
    ``codec`` name and whether there is an audio stream."""

    width: int
    height: int
    sample_aspect: float
    frame_rate: Fraction
    codec: str
    has_audio: bool

    @property
    def fps(self) -> float:
        return float(self.frame_rate)


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


def _fraction(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return Fraction(0)
    return value


async def probe_source(url: str, *, hide: str = "", timeout_s: float = 60.0) -> SourceVideo:
    """Probe the source at ``url`` (a gateway URL of the v1 playlist) with ffprobe;
    ``hide`` (the gateway's secret URL prefix) is removed from ffprobe's words.

    Raises ``MediaError`` when there is no decodable video stream (the message carries
    ffprobe's own words), ``BadConfig`` when ffprobe is missing, ``ServiceError`` on timeout.
    """
    argv = [
        ffprobe_exe(), "-v", "error", "-print_format", "json",
        "-show_entries",
        "stream=codec_type,codec_name,width,height,sample_aspect_ratio,r_frame_rate,avg_frame_rate",
        url,
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ServiceError(f"ffprobe did not answer within {timeout_s:.0f} s.") from None
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    said_lines = err.decode(errors="replace").strip().splitlines()
    reason = [line.replace(hide, "") if hide else line for line in said_lines]
    try:
        streams = json.loads(out or b"{}").get("streams", [])
    except json.JSONDecodeError:
        streams = []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if process.returncode != 0 or video is None or not video.get("width"):
        said = reason[-1] if reason else "no video stream"
        raise MediaError(f"The v1 source cannot be decoded: ffprobe says {said!r}.")
    rate = _fraction(video.get("r_frame_rate", "0")) or _fraction(video.get("avg_frame_rate", "0"))
    if rate <= 0 or rate > 240:
        raise MediaError(f"The v1 source has no usable frame rate ({video.get('r_frame_rate')}).")
    sar = _fraction((video.get("sample_aspect_ratio") or "1:1").replace(":", "/")) or Fraction(1)
    return SourceVideo(
        width=int(video["width"]),
        height=int(video["height"]),
        sample_aspect=float(sar),
        frame_rate=rate,
        codec=str(video.get("codec_name", "?")),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
    )


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
