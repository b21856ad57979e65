"""The ABR ladder as data: load and validate a ladder file, plan the rungs for a source.

A ladder file (TOML, ``resources/ladders/abr.toml``) names the ladder and its version, the
segment duration, the video/audio encoder settings and the rungs (height, bitrate, maxrate,
bufsize in bits/s, H.264 profile and level, audio bitrate, spot-check thresholds). See the
comments in that file for the rules it encodes (closed GOP = one segment, keyframes aligned
across rungs per Apple's HLS authoring spec §1.11, no upscaling) and where each spot-check
threshold comes from.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.errors import BadConfig

_H264_PROFILE_IDC = {"baseline": 66, "main": 77, "high": 100}


@dataclass(frozen=True)
class Rung:
    """One rung of the ladder. Bitrates in bits/s; ``height`` in pixels (the width follows
    the source's display aspect ratio); ``level`` is the H.264 level as written ("3.1").

    Spot-check thresholds (``services.spotcheck``): pooled means ``min_psnr_db`` (dB),
    ``min_ssim``, ``min_vmaf``; the worst segment's mean (``min_segment_psnr_db``,
    ``min_segment_vmaf``) and its 1st-percentile frame (``min_frame_psnr_db``,
    ``min_frame_vmaf``); a frame is frozen when its motion is below
    ``freeze_motion_ratio`` of the reference's, and at most ``max_frozen_frames`` may be;
    ``max_av_drift_ms`` (milliseconds) bounds the A/V drift beyond the AAC re-encode's own."""

    name: str
    height: int
    bitrate: int
    maxrate: int
    bufsize: int
    profile: str
    level: str
    audio_bitrate: int
    min_psnr_db: float
    min_ssim: float
    min_vmaf: float
    min_segment_psnr_db: float
    min_segment_vmaf: float
    min_frame_psnr_db: float
    min_frame_vmaf: float
    freeze_motion_ratio: float
    max_frozen_frames: int
    max_av_drift_ms: float


@dataclass(frozen=True)
class Ladder:
    """A validated ladder: ``segment_seconds`` is the segment (and GOP) duration in seconds;
    ``rungs`` are ordered from the tallest to the shortest; ``audio_priming_samples`` the
    samples the audio encoder adds before the first input sample (its priming).

    A/V offset rule of the spot-check (``quality.av_offset``, milliseconds): a rung's A/V
    offset minus the reference's is ``av_offset_shift_ms`` on a clean encode (measured by
    ``main.py ladder calibrate``) and may stray from it by ``max_av_offset_error_ms``."""

    name: str
    version: int
    segment_seconds: int
    video_encoder: str
    preset: str
    pix_fmt: str
    audio_encoder: str
    audio_channels: int
    audio_sample_rate: int
    audio_priming_samples: int
    rungs: tuple[Rung, ...]
    av_offset_shift_ms: float = 0.0
    max_av_offset_error_ms: float = 45.0

    @property
    def audio_frame_s(self) -> float:
        """One AAC frame (1024 samples) in seconds at the ladder's sample rate."""
        return 1024 / self.audio_sample_rate

    @property
    def label(self) -> str:
        """``"abr v1"``: the name and version recorded in ledgers and logs."""
        return f"{self.name} v{self.version}"

    def encoder_settings(self, rung: Rung) -> dict[str, Any]:
        """The encoder settings of ``rung`` as recorded in the ledger (bits/s, seconds)."""
        return {
            "video_encoder": self.video_encoder,
            "preset": self.preset,
            "pix_fmt": self.pix_fmt,
            "profile": rung.profile,
            "level": rung.level,
            "bitrate": rung.bitrate,
            "maxrate": rung.maxrate,
            "bufsize": rung.bufsize,
            "segment_seconds": self.segment_seconds,
            "gop": "closed, one per segment, IDR forced by frame number, no scene-cut",
            "audio_encoder": self.audio_encoder,
            "audio_bitrate": rung.audio_bitrate,
            "audio_channels": self.audio_channels,
            "audio_sample_rate": self.audio_sample_rate,
        }


@dataclass(frozen=True)
class PlannedRung:
    """A rung to produce from a given source: output ``width`` x ``height`` in pixels."""

    rung: Rung
    width: int
    height: int


@dataclass(frozen=True)
class SkippedRung:
    """A rung not produced, with the reason recorded in the ledger."""

    rung: Rung
    reason: str


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadConfig(f"Ladder file {where}: {key!r} must be a {kind.__name__}, got {value!r}.")
    return value


def _rung(table: dict[str, Any], where: str) -> Rung:
    name = _require(table, "name", str, where)
    spot = f"{where} rung {name!r}"
    rung = Rung(
        name=name,
        height=_require(table, "height", int, spot),
        bitrate=_require(table, "bitrate", int, spot),
        maxrate=_require(table, "maxrate", int, spot),
        bufsize=_require(table, "bufsize", int, spot),
        profile=_require(table, "profile", str, spot).lower(),
        level=_require(table, "level", str, spot),
        audio_bitrate=_require(table, "audio_bitrate", int, spot),
        min_psnr_db=_require(table, "min_psnr_db", float, spot),
        min_ssim=_require(table, "min_ssim", float, spot),
        min_vmaf=_require(table, "min_vmaf", float, spot),
        min_segment_psnr_db=_require(table, "min_segment_psnr_db", float, spot),
        min_segment_vmaf=_require(table, "min_segment_vmaf", float, spot),
        min_frame_psnr_db=_require(table, "min_frame_psnr_db", float, spot),
        min_frame_vmaf=_require(table, "min_frame_vmaf", float, spot),
        freeze_motion_ratio=_require(table, "freeze_motion_ratio", float, spot),
        max_frozen_frames=_require(table, "max_frozen_frames", int, spot),
        max_av_drift_ms=_require(table, "max_av_drift_ms", float, spot),
    )
    if rung.height < 64 or rung.height % 2:
        raise BadConfig(f"Ladder file {spot}: height must be even and at least 64.")
    if not 0 < rung.bitrate <= rung.maxrate or rung.bufsize <= 0:
        raise BadConfig(f"Ladder file {spot}: need 0 < bitrate <= maxrate and bufsize > 0.")
    if rung.profile not in _H264_PROFILE_IDC:
        raise BadConfig(f"Ladder file {spot}: profile must be one of {sorted(_H264_PROFILE_IDC)}.")
    try:
        level_number = float(rung.level)
    except ValueError:
        raise BadConfig(f"Ladder file {spot}: level {rung.level!r} is not like '3.1'.") from None
    if not 1 <= level_number <= 6.2:
        raise BadConfig(f"Ladder file {spot}: level {rung.level!r} is not an H.264 level.")
    if not 0 < rung.freeze_motion_ratio < 1 or rung.max_frozen_frames < 0:
        raise BadConfig(
            f"Ladder file {spot}: need 0 < freeze_motion_ratio < 1 and max_frozen_frames >= 0."
        )
    if rung.max_av_drift_ms < 0:
        raise BadConfig(f"Ladder file {spot}: max_av_drift_ms must be >= 0.")
    return rung


def load_ladder(path: Path) -> Ladder:
    """Read and validate a ladder TOML file.

    Raises ``BadConfig`` naming the file and the offending key when the file is missing,
    is not TOML, or breaks a rule (even heights, bitrate <= maxrate, a known profile, unique
    rung names, rungs from tallest to shortest, a whole number of seconds per segment,
    0 < ``freeze_motion_ratio`` < 1, non-negative frozen-frame and drift limits).
    """
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadConfig(f"Cannot read the ladder file {where}: {exc.strerror or exc}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BadConfig(f"The ladder file {where} is not valid TOML: {exc}.") from exc
    video = data.get("video") or {}
    audio = data.get("audio") or {}
    rungs = tuple(_rung(t, where) for t in data.get("rungs") or ())
    if not rungs:
        raise BadConfig(f"Ladder file {where}: no [[rungs]].")
    names = [r.name for r in rungs]
    if len(set(names)) != len(names):
        raise BadConfig(f"Ladder file {where}: rung names must be unique ({names}).")
    heights = [r.height for r in rungs]
    if heights != sorted(heights, reverse=True) or len(set(heights)) != len(heights):
        raise BadConfig(f"Ladder file {where}: rungs must go from the tallest to the shortest.")
    ladder = Ladder(
        name=_require(data, "name", str, where),
        version=_require(data, "version", int, where),
        segment_seconds=_require(data, "segment_seconds", int, where),
        video_encoder=_require(video, "encoder", str, where + " [video]"),
        preset=_require(video, "preset", str, where + " [video]"),
        pix_fmt=_require(video, "pix_fmt", str, where + " [video]"),
        audio_encoder=_require(audio, "encoder", str, where + " [audio]"),
        audio_channels=_require(audio, "channels", int, where + " [audio]"),
        audio_sample_rate=_require(audio, "sample_rate", int, where + " [audio]"),
        audio_priming_samples=_require(audio, "priming_samples", int, where + " [audio]"),
        rungs=rungs,
        av_offset_shift_ms=_require(audio, "av_offset_shift_ms", float, where + " [audio]"),
        max_av_offset_error_ms=_require(audio, "max_av_offset_error_ms", float, where + " [audio]"),
    )
    if ladder.max_av_offset_error_ms <= 0:
        raise BadConfig(f"Ladder file {where} [audio]: max_av_offset_error_ms must be > 0.")
    if not 1 <= ladder.segment_seconds <= 10:
        raise BadConfig(f"Ladder file {where}: segment_seconds must be 1-10 (RFC 8216 §4.3.3.1).")
    return ladder


def even(value: float) -> int:
    """``value`` rounded to the nearest even integer (H.264 4:2:0 needs even dimensions)."""
    return max(2, int(round(value / 2.0)) * 2)


def plan_rungs(
    ladder: Ladder, source_width: int, source_height: int, sample_aspect: float = 1.0
) -> tuple[list[PlannedRung], list[SkippedRung]]:
    """Which rungs to produce from a ``source_width`` x ``source_height`` source (pixels,
    ``sample_aspect`` its SAR) and at what size: each rung keeps the source's display aspect
    ratio with square pixels and even dimensions. Rungs taller than the source are skipped
    (no upscaling). Raises ``BadConfig`` when no rung fits (a source shorter than every rung).
    """
    planned: list[PlannedRung] = []
    skipped: list[SkippedRung] = []
    display_aspect = source_width * sample_aspect / source_height
    for rung in ladder.rungs:
        if rung.height > source_height:
            skipped.append(
                SkippedRung(rung, f"taller than the source ({source_height} px): no upscaling")
            )
            continue
        planned.append(PlannedRung(rung, even(rung.height * display_aspect), rung.height))
    if not planned:
        shortest = ladder.rungs[-1].height
        raise BadConfig(
            f"The source is {source_width}x{source_height}: shorter than the ladder's shortest "
            f"rung ({shortest} px), so {ladder.label} produces nothing for it."
        )
    return planned, skipped


def gop_frames(ladder: Ladder, fps: float) -> int:
    """Frames per GOP (= per segment) at ``fps`` frames/s: ``round(segment_seconds * fps)``."""
    if not math.isfinite(fps) or fps <= 0:
        raise BadConfig(f"The source frame rate {fps!r} is not usable.")
    return max(1, int(round(ladder.segment_seconds * fps)))


def avc_codec_string(profile_idc: int, constraint_flags: int, level_idc: int) -> str:
    """The RFC 6381 ``avc1.PPCCLL`` codec string from the avcC record's three bytes."""
    return f"avc1.{profile_idc:02x}{constraint_flags:02x}{level_idc:02x}"
