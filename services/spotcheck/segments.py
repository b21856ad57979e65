"""``quality.segments``: every segment of a rung against the rung's floors (issue 17).

A pooled mean over a three-hour game hides a fault in one segment (a 2 s blur is 0.02 % of
the frames), so each segment of the rung's playlist is measured on its own: the mean of its
per-frame PSNR (dB) and VMAF, and its 1st-percentile frame (``SEGMENT_PERCENTILE``,
nearest rank). The worst segment's mean must reach ``min_segment_psnr_db`` /
``min_segment_vmaf`` and the worst 1st-percentile frame ``min_frame_psnr_db`` /
``min_frame_vmaf`` (per rung, in the ladder file). A failure names the segment, its time
range and, for a frame, which one; the report keeps every segment's figures.

Frames are the reference frames the rung's values were placed on
(``quality.on_reference_frames``); a segment holds the frames presented from its start
(the sum of the EXTINF before it, RFC 8216 §4.3.2.1) up to the next segment's start, with
half a frame of slack; a frame the rung lacks (NaN) is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from services.hls import MediaPlaylist
from services.ladder import Rung
from services.spotcheck.checks import Check, FrameSeries, check
from services.spotcheck.rules import LISTED_FINDINGS, SEGMENT_PERCENTILE


@dataclass(frozen=True)
class SegmentQuality:
    """One segment's figures: ``index`` in the playlist, ``uri``, ``start``/``end`` in
    seconds, ``frames`` measured, and per metric the mean and the 1st-percentile value with
    the reference frame number holding it (``*_low_frame``); None without frames."""

    index: int
    uri: str
    start: float
    end: float
    frames: int
    psnr_db_mean: float | None
    psnr_db_low: float | None
    psnr_db_low_frame: int | None
    vmaf_mean: float | None
    vmaf_low: float | None
    vmaf_low_frame: int | None

    def as_json(self) -> dict[str, object]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "index": self.index,
            "uri": self.uri,
            "start_s": round(self.start, 4),
            "end_s": round(self.end, 4),
            "frames": self.frames,
            "psnr_db_mean": rounded(self.psnr_db_mean),
            "psnr_db_p1": rounded(self.psnr_db_low),
            "vmaf_mean": rounded(self.vmaf_mean),
            "vmaf_p1": rounded(self.vmaf_low),
        }


def _low(values: Sequence[tuple[int, float]]) -> tuple[float | None, int | None]:
    """The ``SEGMENT_PERCENTILE`` value (nearest rank) of ``(frame, value)`` pairs."""
    if not values:
        return None, None
    ordered = sorted(values, key=lambda pair: pair[1])
    rank = max(1, math.ceil(SEGMENT_PERCENTILE / 100 * len(ordered)))
    frame, value = ordered[rank - 1]
    return value, frame


def segment_quality(
    series: FrameSeries, playlist: MediaPlaylist, frame_s: float
) -> list[SegmentQuality]:
    """Each segment of ``playlist`` measured on ``series`` (``frame_s``: seconds per
    frame)."""
    slack = frame_s / 2
    segments = playlist.segments
    out: list[SegmentQuality] = []
    cursor = 0
    for index, segment in enumerate(segments):
        end = segments[index + 1].start if index + 1 < len(segments) else math.inf
        psnr: list[tuple[int, float]] = []
        vmaf: list[tuple[int, float]] = []
        while cursor < len(series.pts) and series.pts[cursor] < end - slack:
            if series.pts[cursor] >= segment.start - slack:
                if math.isfinite(series.psnr_db[cursor]):
                    psnr.append((cursor, series.psnr_db[cursor]))
                if math.isfinite(series.vmaf[cursor]):
                    vmaf.append((cursor, series.vmaf[cursor]))
            cursor += 1
        psnr_low, psnr_frame = _low(psnr)
        vmaf_low, vmaf_frame = _low(vmaf)
        out.append(
            SegmentQuality(
                index,
                segment.uri,
                segment.start,
                segment.start + segment.duration,
                max(len(psnr), len(vmaf)),
                sum(v for _, v in psnr) / len(psnr) if psnr else None,
                psnr_low,
                psnr_frame,
                sum(v for _, v in vmaf) / len(vmaf) if vmaf else None,
                vmaf_low,
                vmaf_frame,
            )
        )
    return out


def _span(s: SegmentQuality) -> str:
    return f"{s.uri} ({s.start:.3f}-{s.end:.3f} s)"


def check_segments(
    segments: list[SegmentQuality], rung: Rung, series: FrameSeries | None = None
) -> Check:
    """``quality.segments`` of one rung against its floors (module docstring)."""
    measured_segments = [s for s in segments if s.frames]
    if not measured_segments:
        return check("quality.segments", ["no segment has measured frames"])
    reasons: list[str] = []
    measured: list[str] = []
    subjects: set[str] = set()
    for label, key, unit, mean_floor, frame_floor in (
        ("VMAF", "vmaf", "", rung.min_segment_vmaf, rung.min_frame_vmaf),
        ("PSNR", "psnr_db", " dB", rung.min_segment_psnr_db, rung.min_frame_psnr_db),
    ):
        means = [s for s in measured_segments if getattr(s, f"{key}_mean") is not None]
        lows = [s for s in measured_segments if getattr(s, f"{key}_low") is not None]
        if not means:
            reasons.append(f"no {label} values were measured")
            continue
        worst = min(means, key=lambda s: getattr(s, f"{key}_mean"))
        worst_low = min(lows, key=lambda s: getattr(s, f"{key}_low"))
        low_frame = getattr(worst_low, f"{key}_low_frame")
        at = "" if series is None else f" at {series.pts[low_frame]:.3f} s"
        measured.append(
            f"worst segment by {label}: {_span(worst)} mean {getattr(worst, f'{key}_mean'):.2f}"
            f"{unit} (floor {mean_floor:.2f}{unit}); lowest 1st-percentile frame "
            f"{getattr(worst_low, f'{key}_low'):.2f}{unit} in {_span(worst_low)}, frame "
            f"{low_frame}{at} (floor {frame_floor:.2f}{unit})"
        )
        below = sorted(
            (s for s in means if getattr(s, f"{key}_mean") < mean_floor),
            key=lambda s: getattr(s, f"{key}_mean"),
        )
        found = [
            f"{_span(s)}: mean {label} {getattr(s, f'{key}_mean'):.2f}{unit} is below "
            f"the {rung.name} floor {mean_floor:.2f}{unit}"
            for s in below
        ]
        low_below = sorted(
            (s for s in lows if getattr(s, f"{key}_low") < frame_floor),
            key=lambda s: getattr(s, f"{key}_low"),
        )
        for s in low_below:
            frame = getattr(s, f"{key}_low_frame")
            when = "" if series is None else f" at {series.pts[frame]:.3f} s"
            found.append(
                f"{_span(s)}: 1st-percentile frame {label} {getattr(s, f'{key}_low'):.2f}{unit}"
                f" (frame {frame}{when}) is below the {rung.name} floor "
                f"{frame_floor:.2f}{unit}"
            )
        subjects.update(s.uri for s in (*below, *low_below))
        reasons += found[:LISTED_FINDINGS]
        if len(found) > LISTED_FINDINGS:
            reasons.append(f"and {len(found) - LISTED_FINDINGS} more {label} findings")
    return check("quality.segments", reasons, measured, subjects=sorted(subjects))
