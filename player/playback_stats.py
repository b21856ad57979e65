"""Playback statistics read from libmpv's observed properties (no Qt, no mpv import).

:class:`player.controller.Player` observes the properties in :data:`STATS_PROPERTIES`,
caches their last values on the GUI thread and polls :func:`read_stats` every
``STATS_INTERVAL_MS``; a snapshot that differs from the previous one is emitted as
``Player.stats_changed``. The rules for mpv's gaps live here: ``container-fps`` is absent
for EDL timelines and ``estimated-vf-fps`` disappears while paused (the last known rate is
kept), ``video-bitrate`` needs two keyframes, and the HLS variant is the selected video
track of a multivariant source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "STATS_INTERVAL_MS",
    "STATS_PROPERTIES",
    "PlaybackStats",
    "VariantInfo",
    "frame_rate",
    "number",
    "read_stats",
    "selected_variant",
]

#: Period of the stats poll (milliseconds).
STATS_INTERVAL_MS = 500
#: The mpv properties :func:`read_stats` reads (the player observes them).
STATS_PROPERTIES = (
    "video-params",
    "video-format",
    "container-fps",
    "estimated-vf-fps",
    "video-bitrate",
    "frame-drop-count",
    "decoder-frame-drop-count",
    "track-list",
    "demuxer-cache-state",
)


@dataclass(frozen=True)
class VariantInfo:
    """The HLS variant mpv selected in a multivariant playlist.

    Attributes:
        width, height: coded size of the variant's video track (pixels), if known.
        bandwidth_bps: the variant's bitrate in bits/s when mpv exposes it (``hls-bitrate``).
        index: 1-based position of the selected video track among the variants.
        count: number of video variants mpv sees.
    """

    width: int | None
    height: int | None
    bandwidth_bps: int | None
    index: int
    count: int

    @property
    def label(self) -> str:
        """Short text such as ``"1280x720 @ 2500 kbit/s (1/4)"``."""
        size = f"{self.width}x{self.height}" if self.width and self.height else "?"
        rate = f" @ {self.bandwidth_bps / 1000:.0f} kbit/s" if self.bandwidth_bps else ""
        return f"{size}{rate} ({self.index}/{self.count})"


@dataclass(frozen=True)
class PlaybackStats:
    """A snapshot of what is playing, emitted by ``Player.stats_changed``.

    Attributes:
        width, height: decoded picture size in pixels (``None`` before the first frame).
        video_codec: short codec name, e.g. ``"h264"``.
        fps: frames per second (container rate, else mpv's estimate).
        video_bitrate_bps: measured video bitrate in bits/s (``None`` until mpv has
            measured one, which takes two keyframes).
        dropped_frames: frames dropped by the decoder plus by the video output.
        variant: the selected HLS variant for a multivariant source, else ``None``.
        cache_seconds: seconds of media buffered ahead of the playback position.
    """

    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    fps: float | None = None
    video_bitrate_bps: float | None = None
    dropped_frames: int = 0
    variant: VariantInfo | None = None
    cache_seconds: float | None = None


def number(value: Any) -> float | None:
    """``value`` as a finite float; ``None`` for booleans, ``None``, text that is not a
    number, NaN and infinities (mpv reports unknown values in all these ways)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def frame_rate(props: Mapping[str, Any], last: float | None = None) -> float | None:
    """Frames per second: the container's rate, else mpv's estimate (known once a frame
    is decoded, also for EDL timelines), else ``last``; ``None`` while unknown."""
    return number(props.get("container-fps")) or number(props.get("estimated-vf-fps")) or last


def selected_variant(tracks: Sequence[Mapping[str, Any]]) -> VariantInfo | None:
    """The selected video track of mpv's ``track-list`` as a :class:`VariantInfo`
    (``None`` when no video track is selected)."""
    videos = [t for t in tracks if t.get("type") == "video"]
    for index, track in enumerate(videos, start=1):
        if track.get("selected"):
            bitrate = number(track.get("hls-bitrate"))
            return VariantInfo(
                width=track.get("demux-w"),
                height=track.get("demux-h"),
                bandwidth_bps=int(bitrate) if bitrate else None,
                index=index,
                count=len(videos),
            )
    return None


def read_stats(
    props: Mapping[str, Any], *, multivariant: bool, last: PlaybackStats
) -> PlaybackStats:
    """A :class:`PlaybackStats` from the last values of :data:`STATS_PROPERTIES`.

    ``multivariant``: the source is an HLS multivariant playlist (the variant is then
    reported); ``last``: the previous snapshot of the same file (its fps is kept when mpv
    reports none, e.g. while paused).
    """
    params = props.get("video-params") or {}
    fps = frame_rate(props, last.fps)
    drops = int(number(props.get("frame-drop-count")) or 0) + int(
        number(props.get("decoder-frame-drop-count")) or 0
    )
    cache = props.get("demuxer-cache-state") or {}
    return PlaybackStats(
        width=int(params["w"]) if params.get("w") else None,
        height=int(params["h"]) if params.get("h") else None,
        video_codec=props.get("video-format") or None,
        fps=round(fps, 3) if fps else None,
        video_bitrate_bps=number(props.get("video-bitrate")),
        dropped_frames=drops,
        variant=selected_variant(props.get("track-list") or []) if multivariant else None,
        cache_seconds=number(cache.get("cache-duration")),
    )
