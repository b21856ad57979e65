"""Quality checks of one rung against the reference (issue 4, docs/architecture.md §4).

- ``quality.metrics``: pooled mean PSNR (dB), SSIM and VMAF at least the rung's
  ``min_psnr_db``/``min_ssim``/``min_vmaf`` from the ladder file;
- ``quality.frames``: the rung has exactly the reference's frame count;
- ``quality.duration``: video duration within ``DURATION_TOLERANCE_FRAMES`` frames;
- ``quality.av_offset``: the A/V offset (first audio PTS - first video PTS) against the
  reference's is what a clean encode measures (the ladder's ``av_offset_shift_ms``) within
  ``max_av_offset_error_ms``, and the rung's offset is its sibling rungs' (the median of
  every rung's, itself included) within one AAC frame: every rung carries the same audio
  encode, so one rung whose audio moved stands out even when the shift against the
  reference is small.
Per-frame values come from ``services.spotcheck.metrics`` in rung frame order and are
placed on the reference's frames by presentation time (``on_reference_frames``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from services.ladder import Ladder, Rung
from services.media_tools.probe import RenditionProbe
from services.spotcheck.checks import Check, FrameSeries, Pooled, check
from services.spotcheck.metrics import RungFrameMetrics
from services.spotcheck.rules import (
    DURATION_TOLERANCE_FRAMES,
    FRAME_COUNT_TOLERANCE,
    LOW_PERCENTILE,
)
from services.spotcheck.timeline import nearest

NAN = float("nan")


def pool(values: Sequence[float]) -> Pooled | None:
    """Mean, min and 5th percentile (nearest rank) of the finite ``values``."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return None
    rank = max(1, math.ceil(LOW_PERCENTILE / 100 * len(finite)))
    return Pooled(sum(finite) / len(finite), finite[0], finite[rank - 1], len(finite))


def on_reference_frames(
    metrics: RungFrameMetrics, rung: RenditionProbe, reference: RenditionProbe
) -> FrameSeries:
    """Place the rung's per-frame values on the reference's frames: rung frame ``j`` goes
    to the reference frame nearest its PTS (both relative to their first video PTS); a
    reference frame no rung frame lands on (a dropped frame) gets NaN."""
    ref_times = [p.pts - reference.video_start for p in reference.packets]
    rung_times = [p.pts - rung.video_start for p in rung.packets]
    size = len(ref_times)
    psnr, ssim, vmaf = [NAN] * size, [NAN] * size, [NAN] * size
    for j in range(len(metrics.vmaf)):
        found = nearest(ref_times, rung_times[j]) if j < len(rung_times) else None
        index = j if found is None else found
        if 0 <= index < size and math.isnan(vmaf[index]):
            psnr[index], ssim[index], vmaf[index] = (
                metrics.psnr_db[j],
                metrics.ssim[j],
                metrics.vmaf[j],
            )
    return FrameSeries(tuple(ref_times), tuple(psnr), tuple(ssim), tuple(vmaf))


def pooled_series(series: FrameSeries) -> dict[str, Pooled]:
    out: dict[str, Pooled] = {}
    for name in ("psnr_db", "ssim", "vmaf"):
        pooled = pool(getattr(series, name))
        if pooled is not None:
            out[name] = pooled
    return out


def check_metrics(pooled: dict[str, Pooled], rung: Rung) -> Check:
    reasons: list[str] = []
    for name, label, unit, minimum, digits in (
        ("psnr_db", "PSNR", " dB", rung.min_psnr_db, 2),
        ("ssim", "SSIM", "", rung.min_ssim, 4),
        ("vmaf", "VMAF", "", rung.min_vmaf, 2),
    ):
        value = pooled.get(name)
        if value is None:
            reasons.append(f"no {label} values were measured")
        elif value.mean < minimum:
            reasons.append(
                f"pooled {label} {value.mean:.{digits}f}{unit} is below the ladder's "
                f"{minimum:.{digits}f}{unit} for {rung.name}"
            )
    return check("quality.metrics", reasons)


def check_frames(rung: RenditionProbe, reference: RenditionProbe) -> Check:
    delta = rung.frames - reference.frames
    if abs(delta) <= FRAME_COUNT_TOLERANCE:
        return check("quality.frames", [])
    what = "dropped" if delta < 0 else "extra"
    return check(
        "quality.frames",
        [
            f"{rung.frames} frames, the reference has {reference.frames} "
            f"({abs(delta)} {what} frames)"
        ],
    )


def check_duration(rung: RenditionProbe, reference: RenditionProbe) -> Check:
    delta = rung.duration - reference.duration
    limit = DURATION_TOLERANCE_FRAMES * reference.frame_duration
    if abs(delta) <= limit + 1e-6:
        return check("quality.duration", [])
    return check(
        "quality.duration",
        [
            f"video lasts {rung.duration:.3f} s, the reference {reference.duration:.3f} s "
            f"({delta:+.3f} s, limit ±{limit:.3f} s)"
        ],
    )


def check_av_offset(
    rung: RenditionProbe,
    reference: RenditionProbe,
    ladder: Ladder,
    siblings: Sequence[float] = (),
) -> Check:
    """``quality.av_offset`` of ``rung`` (module docstring); ``siblings`` are the A/V
    offsets (seconds) of every rung of the game that has audio, this one included (the
    median of all, so one rung whose audio moved does not drag the others' verdicts)."""
    name = "quality.av_offset"
    if rung.av_offset is None or reference.av_offset is None:
        if rung.has_audio != reference.has_audio:
            which = "has no audio" if not rung.has_audio else "has audio the reference lacks"
            return check(name, [f"the rung {which}"])
        return check(name, [])
    mine, theirs = 1000 * rung.av_offset, 1000 * reference.av_offset
    delta = mine - theirs
    error = delta - ladder.av_offset_shift_ms
    limit = ladder.max_av_offset_error_ms
    measured = [
        f"A/V offset {mine:+.1f} ms, the reference {theirs:+.1f} ms ({delta:+.1f} ms; clean "
        f"encodes {ladder.av_offset_shift_ms:+.1f} ms)"
    ]
    reasons = []
    if abs(error) > limit:
        side = "late" if error > 0 else "early"
        reasons.append(
            f"audio {abs(error):.0f} ms {side}: A/V offset {mine:+.0f} ms, the reference "
            f"{theirs:+.0f} ms ({delta:+.0f} ms where a clean encode measures "
            f"{ladder.av_offset_shift_ms:+.0f} ms, limit ±{limit:.0f} ms)"
        )
    if len(siblings) > 1:
        median = 1000 * statistics.median(siblings)
        apart = mine - median
        tolerance = 1000 * ladder.audio_frame_s
        measured.append(f"the rungs' median {median:+.1f} ms ({apart:+.1f} ms)")
        if abs(apart) > tolerance:
            reasons.append(
                f"A/V offset {mine:+.0f} ms, the other rungs {median:+.0f} ms ({apart:+.0f} ms, "
                f"limit ±{tolerance:.0f} ms: every rung carries the same audio encode)"
            )
    return check(name, reasons, measured)


def timing_measures(rung: RenditionProbe, reference: RenditionProbe) -> dict[str, object]:
    """The compared figures for the report (frames; seconds)."""

    def offset(p: RenditionProbe) -> float | None:
        return None if p.av_offset is None else round(p.av_offset, 4)

    return {
        "frames": rung.frames,
        "reference_frames": reference.frames,
        "duration_s": round(rung.duration, 4),
        "reference_duration_s": round(reference.duration, 4),
        "av_offset_s": offset(rung),
        "reference_av_offset_s": offset(reference),
        "width": rung.width,
        "height": rung.height,
    }
