"""What ffprobe says of one rendition (a rung playlist, the v1 playlist or a source file)
read through the playback gateway: its streams and the timing of every video packet.

One ffprobe per rendition reads the container only (no decode): packet PTS, duration and
keyframe flag of the video stream, the first audio PTS, and the video stream's codec and
coded size. Everything the structure and timing checks need comes from this one read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.errors import MediaError
from services.ffmpeg_tools import ffprobe_exe
from services.spotcheck.process import run_tool


@dataclass(frozen=True)
class VideoPacket:
    """One video packet: ``pts`` and ``duration`` in seconds, ``key`` its keyframe flag."""

    pts: float
    duration: float
    key: bool


@dataclass(frozen=True)
class RenditionProbe:
    """One rendition's streams: ``packets`` (video, in presentation order), ``width`` x
    ``height`` (coded, pixels), ``codec`` (ffprobe's name, e.g. ``h264``), ``has_audio``,
    ``audio_start`` (first audio PTS in seconds, None without audio)."""

    packets: tuple[VideoPacket, ...]
    width: int
    height: int
    codec: str
    has_audio: bool
    audio_start: float | None

    @property
    def frames(self) -> int:
        return len(self.packets)

    @property
    def video_start(self) -> float:
        return self.packets[0].pts if self.packets else 0.0

    @property
    def frame_duration(self) -> float:
        """Seconds per frame (the median packet duration; 1/24 s when unknown)."""
        durations = sorted(p.duration for p in self.packets if p.duration > 0)
        return durations[len(durations) // 2] if durations else 1 / 24

    @property
    def fps(self) -> float:
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


async def probe_rendition(url: str, *, hide: str = "", name: str = "") -> RenditionProbe:
    """Probe ``url``; ``name`` (a key) is used in messages. Raises ``MediaError`` when
    ffprobe fails or finds no video stream (ffprobe's words, ``hide`` removed)."""
    argv = [
        ffprobe_exe(), "-v", "error", "-print_format", "json",
        "-show_entries", "stream=index,codec_type,codec_name,width,height",
        "-show_entries", "packet=stream_index,pts_time,duration_time,flags",
        url,
    ]  # fmt: skip
    result = await run_tool(argv, hide=hide)
    try:
        document = json.loads(result.stdout or b"{}")
    except json.JSONDecodeError:
        document = {}
    streams = document.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if result.code != 0 or video is None:
        said = result.warnings[-1] if result.warnings else "no video stream"
        raise MediaError(f"{name or 'the rendition'} cannot be read: ffprobe says {said!r}.")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    packets: list[VideoPacket] = []
    audio_start: float | None = None
    for packet in document.get("packets", []):
        pts = _float(packet.get("pts_time"))
        if pts is None:
            continue
        index = packet.get("stream_index")
        if index == video.get("index"):
            duration = _float(packet.get("duration_time")) or 0.0
            packets.append(VideoPacket(pts, duration, "K" in packet.get("flags", "")))
        elif audio is not None and index == audio.get("index"):
            audio_start = pts if audio_start is None else min(audio_start, pts)
    packets.sort(key=lambda p: p.pts)
    return RenditionProbe(
        packets=tuple(packets),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        codec=str(video.get("codec_name", "?")),
        has_audio=audio is not None,
        audio_start=audio_start,
    )
