"""The one ffprobe wrapper: what a rendition's container says of its streams, and (on
request) the timing of every video packet.

A rendition here is anything ffprobe opens through the playback gateway: a rung playlist,
the v1 playlist, a source file. ffprobe reads the container only (no decode):

- always the streams: the video stream's codec, coded size, sample aspect ratio and
  declared frame rate, and whether there is an audio stream (what the backfill needs
  before it encodes);
- with ``packets=True`` also packet PTS, duration and keyframe flag of the video stream
  and the first audio PTS (what the spot-check's structure and timing checks need). This
  reads the whole rendition, so only ask for it when the packets are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction

from services.errors import MediaError
from services.media_tools.binaries import ffprobe_exe
from services.media_tools.runner import run_tool

_STREAM_ENTRIES = (
    "stream=index,codec_type,codec_name,width,height,sample_aspect_ratio,"
    "r_frame_rate,avg_frame_rate"
)
_PACKET_ENTRIES = "packet=stream_index,pts_time,duration_time,flags"


@dataclass(frozen=True)
class VideoPacket:
    """One video packet: ``pts`` and ``duration`` in seconds, ``key`` its keyframe flag."""

    pts: float
    duration: float
    key: bool


@dataclass(frozen=True)
class RenditionProbe:
    """One rendition's streams.

    ``width`` x ``height`` coded size in pixels (0 when unknown), ``codec`` ffprobe's name
    (e.g. ``h264``), ``sample_aspect`` the SAR (1.0 when unset), ``frame_rate`` the video
    stream's declared rate as an exact fraction in frames/s (``r_frame_rate``, else
    ``avg_frame_rate``; 0 when unknown), ``has_audio``. Read with ``packets=True`` only:
    ``packets`` (video, in presentation order; empty otherwise) and ``audio_start`` (first
    audio PTS in seconds; None without audio or without packets).
    """

    width: int
    height: int
    codec: str
    sample_aspect: float
    frame_rate: Fraction
    has_audio: bool
    packets: tuple[VideoPacket, ...] = ()
    audio_start: float | None = None

    @property
    def fps(self) -> float:
        """The declared frame rate in frames/s (0.0 when unknown)."""
        return float(self.frame_rate)

    @property
    def frames(self) -> int:
        """Number of video packets read (frames)."""
        return len(self.packets)

    @property
    def video_start(self) -> float:
        """First video PTS in seconds (0.0 without packets)."""
        return self.packets[0].pts if self.packets else 0.0

    @property
    def frame_duration(self) -> float:
        """Seconds per frame (the median packet duration; 1/24 s when unknown)."""
        durations = sorted(p.duration for p in self.packets if p.duration > 0)
        return durations[len(durations) // 2] if durations else 1 / 24

    @property
    def measured_fps(self) -> float:
        """Frames/s measured from the packets: 1 / ``frame_duration``."""
        return 1.0 / self.frame_duration

    @property
    def duration(self) -> float:
        """Video duration in seconds: last PTS + its duration - first PTS."""
        if not self.packets:
            return 0.0
        last = self.packets[-1]
        return last.pts + (last.duration or self.frame_duration) - self.video_start

    @property
    def av_offset(self) -> float | None:
        """First audio PTS - first video PTS, seconds (None without audio)."""
        return None if self.audio_start is None else self.audio_start - self.video_start

    def keyframe_times(self) -> list[float]:
        """PTS of the keyframes relative to the first video PTS, seconds."""
        return [p.pts - self.video_start for p in self.packets if p.key]


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _fraction(text: str) -> Fraction:
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


async def probe_rendition(
    url: str,
    *,
    hide: str = "",
    name: str = "",
    packets: bool = False,
    timeout_s: float | None = None,
    failure: str = "",
) -> RenditionProbe:
    """Probe the rendition at ``url`` (a gateway URL or a local path) with ffprobe.

    ``hide`` (the gateway's secret URL prefix) is removed from ffprobe's words; ``packets``
    also reads every video packet (module docstring); ``timeout_s`` bounds the run
    (seconds, None: no limit). ``failure`` starts the error sentence (default
    ``"{name} cannot be read"``, ``name`` a key, else "the rendition").

    Raises ``MediaError`` when ffprobe fails or finds no video stream (the message
    carries ffprobe's last words), ``BadConfig`` when ffprobe is not installed,
    ``ToolTimeout`` (a ``ServiceError``) when ``timeout_s`` runs out.
    """
    argv = [ffprobe_exe(), "-v", "error", "-print_format", "json", "-show_entries", _STREAM_ENTRIES]
    if packets:
        argv += ["-show_entries", _PACKET_ENTRIES]
    result = await run_tool([*argv, url], hide=hide, timeout_s=timeout_s)
    try:
        document = json.loads(result.stdout or b"{}")
    except json.JSONDecodeError:
        document = {}
    streams = document.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if result.code != 0 or video is None:
        failure = failure or f"{name or 'the rendition'} cannot be read"
        raise MediaError(f"{failure}: ffprobe says {result.said('no video stream')!r}.")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video_packets: list[VideoPacket] = []
    audio_start: float | None = None
    for packet in document.get("packets", []):
        pts = _float(packet.get("pts_time"))
        if pts is None:
            continue
        index = packet.get("stream_index")
        if index == video.get("index"):
            duration = _float(packet.get("duration_time")) or 0.0
            video_packets.append(VideoPacket(pts, duration, "K" in packet.get("flags", "")))
        elif audio is not None and index == audio.get("index"):
            audio_start = pts if audio_start is None else min(audio_start, pts)
    video_packets.sort(key=lambda p: p.pts)
    rate = _fraction(video.get("r_frame_rate", "0")) or _fraction(video.get("avg_frame_rate", "0"))
    sar = _fraction((video.get("sample_aspect_ratio") or "1:1").replace(":", "/")) or Fraction(1)
    return RenditionProbe(
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        codec=str(video.get("codec_name", "?")),
        sample_aspect=float(sar),
        frame_rate=rate,
        has_audio=audio is not None,
        packets=tuple(video_packets),
        audio_start=audio_start,
    )
