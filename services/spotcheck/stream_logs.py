"""What the metrics ffmpeg logs beside PSNR/SSIM/VMAF (``services.spotcheck.metrics``), read
back: per-frame motion and the IDR and audio packets of a rendition.

- motion: ``metadata=mode=print`` lines of ``scdet`` (ffmpeg filter doc, "scdet": frame
  metadata ``lavfi.scd.mafd``, the mean absolute difference to the previous frame in 8-bit
  levels), one ``frame:N pts:P pts_time:T`` line then ``lavfi.scd.mafd=V`` per frame;
  times are seconds from the rendition's first frame (the chain starts with
  ``setpts=PTS-STARTPTS``);
- packets: ffmpeg's ``framecrc`` muxer (ffmpeg formats doc, "framecrc"): header lines
  ``#tb N: num/den`` and ``#media_type N: video|audio``, then one
  ``stream, dts, pts, duration, size, crc`` line per packet. Video packets there are IDRs
  only (``filter_units=pass_types=5``); timestamps are the input's own (``-copyts``), so
  they compare with ffprobe's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from services.errors import MediaError

_FRAME = re.compile(r"^frame:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[0-9.]+)")
_MAFD = re.compile(r"^lavfi\.scd\.mafd=(-?[0-9.]+)")
_TIME_BASE = re.compile(r"^#tb (\d+): (\d+)/(\d+)")
_MEDIA_TYPE = re.compile(r"^#media_type (\d+): (\w+)")


@dataclass(frozen=True)
class MotionSeries:
    """Per decoded frame, in presentation order: ``times`` (seconds from the first frame)
    and ``mafd`` (mean absolute difference to the previous frame, 8-bit levels; the first
    frame's is 0). Equal lengths."""

    times: tuple[float, ...]
    mafd: tuple[float, ...]


@dataclass(frozen=True)
class PacketLog:
    """A rendition's logged packets, seconds on its own timeline: ``idr_times`` the PTS of
    its IDR video packets (sorted; empty when no video was logged), ``audio_start`` the
    first audio PTS, ``audio_end`` the last audio packet's PTS + duration, ``audio_frame``
    the median audio packet duration (None without audio)."""

    idr_times: tuple[float, ...]
    audio_start: float | None
    audio_end: float | None
    audio_frame: float | None


def read_motion(path: Path, name: str) -> MotionSeries:
    """Parse a motion log. Raises ``MediaError`` naming ``name`` (a rung or "the
    reference") when the file is missing or holds no frame."""
    times: list[float] = []
    mafd: list[float] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise MediaError(f"The motion log of {name} is unreadable ({exc}).") from exc
    for line in lines:
        frame = _FRAME.match(line)
        if frame:
            times.append(float(frame.group(3)))
            mafd.append(0.0)
            continue
        value = _MAFD.match(line)
        if value and mafd:
            mafd[-1] = float(value.group(1))
    if not times:
        raise MediaError(f"The motion log of {name} holds no frame.")
    return MotionSeries(tuple(times), tuple(mafd))


def read_packet_log(path: Path, name: str) -> PacketLog:
    """Parse a ``framecrc`` packet log. Raises ``MediaError`` naming ``name`` when the file
    is missing or malformed."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise MediaError(f"The packet log of {name} is unreadable ({exc}).") from exc
    bases: dict[int, Fraction] = {}
    kinds: dict[int, str] = {}
    idr: list[float] = []
    audio: list[tuple[float, float]] = []
    try:
        for line in lines:
            if line.startswith("#"):
                if base := _TIME_BASE.match(line):
                    bases[int(base.group(1))] = Fraction(int(base.group(2)), int(base.group(3)))
                elif kind := _MEDIA_TYPE.match(line):
                    kinds[int(kind.group(1))] = kind.group(2)
                continue
            fields = [f.strip() for f in line.split(",")]
            if len(fields) < 5:
                continue
            stream = int(fields[0])
            base = bases[stream]
            pts, duration = float(int(fields[2]) * base), float(int(fields[3]) * base)
            if kinds.get(stream) == "video":
                idr.append(pts)
            elif kinds.get(stream) == "audio":
                audio.append((pts, duration))
    except (ValueError, KeyError) as exc:
        raise MediaError(f"The packet log of {name} is malformed ({exc}).") from exc
    if not audio:
        return PacketLog(tuple(sorted(idr)), None, None, None)
    audio.sort()
    durations = sorted(d for _, d in audio if d > 0)
    frame = durations[len(durations) // 2] if durations else None
    last_pts, last_duration = audio[-1]
    return PacketLog(
        tuple(sorted(idr)),
        audio[0][0],
        last_pts + (last_duration or frame or 0.0),
        frame,
    )
