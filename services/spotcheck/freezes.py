"""``quality.freezes``: runs of repeated (identical or near-identical) frames in a rung that
the reference does not have (issue 17). A one-frame freeze at a segment boundary is the
classic splice bug: a segment whose first frame repeats the previous segment's last.

A rung frame is frozen when both hold, measured in the one metrics run:

- it barely moves where the reference moves: its motion (ffmpeg ``scdet``'s
  ``lavfi.scd.mafd``, the mean absolute difference to the previous frame) is under
  ``freeze_motion_ratio`` (per rung, ladder file) of the reference's at the same frame,
  and the reference's is at least ``FREEZE_MOTION_FLOOR``;
- it shows the reference's previous frame rather than its own: its PSNR against the
  reference's previous frame beats its PSNR against its own frame by
  ``FREEZE_PSNR_GAIN_DB`` (a blurred or starved frame moves little too, but still shows
  its own moment).

A still shot is still in both and never counts. ``freezedetect`` is not used: its single
noise floor cannot tell a repeated frame re-coded as an IDR (measured motion 0.23 against
the reference's 1.87) from the demo clip's natural near-stills (0.13-0.5) or a heavy blur
(0.25-0.37), and it reports nothing shorter than two frames. Consecutive frozen frames form
a run; more than ``max_frozen_frames`` frozen frames fail the rung, naming each run's time,
reference frame and segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from services.hls import MediaPlaylist
from services.ladder import Rung
from services.spotcheck.checks import Check, check
from services.spotcheck.rules import FREEZE_MOTION_FLOOR, FREEZE_PSNR_GAIN_DB, LISTED_FINDINGS
from services.spotcheck.stream_logs import MotionSeries
from services.spotcheck.timeline import nearest


@dataclass(frozen=True)
class FrozenRun:
    """Frozen rung frames in a row: from reference frame ``frame`` (``start`` seconds from
    the first frame) for ``frames`` frames; ``ratio`` the lowest motion ratio in the run,
    ``gain`` its largest previous-frame PSNR gain (dB)."""

    frame: int
    start: float
    frames: int
    ratio: float
    gain: float


def frozen_runs(
    rung: MotionSeries,
    reference: MotionSeries,
    psnr: Sequence[float],
    previous_psnr: Sequence[float],
    ratio: float,
    frame_s: float,
) -> tuple[list[FrozenRun], float | None, int, float]:
    """The rung's frozen runs, the lowest motion ratio seen where the reference moves
    (None when it never does), the reference frame holding it and the largest
    previous-frame PSNR gain seen there (dB, -inf when none). ``psnr`` and
    ``previous_psnr`` (dB) are per rung frame, in the order of ``rung``'s frames: against
    the reference's frame and its previous one. Rung frames are placed on the reference
    frame nearest their time; one further than half a frame has no match."""
    times = reference.times
    runs: list[FrozenRun] = []
    lowest: float | None = None
    lowest_frame = -1
    highest_gain = -math.inf
    open_run: list[tuple[int, float, float]] = []

    def close() -> None:
        if open_run:
            first = open_run[0][0]
            ratio_low = min(r for _, r, _ in open_run)
            gain_high = max(g for _, _, g in open_run)
            runs.append(FrozenRun(first, times[first], len(open_run), ratio_low, gain_high))
            open_run.clear()

    for j in range(1, len(rung.times)):
        i = nearest(times, rung.times[j])
        if i is None or i == 0 or abs(times[i] - rung.times[j]) > frame_s / 2:
            close()
            continue
        moving = reference.mafd[i]
        if moving < FREEZE_MOTION_FLOOR:
            close()
            continue
        value = rung.mafd[j] / moving
        if lowest is None or value < lowest:
            lowest, lowest_frame = value, i
        gain = _at(previous_psnr, j) - _at(psnr, j)
        if gain > highest_gain:
            highest_gain = gain
        if value < ratio and gain >= FREEZE_PSNR_GAIN_DB:
            if open_run and open_run[-1][0] != i - 1:
                close()
            open_run.append((i, value, gain))
        else:
            close()
    close()
    return runs, lowest, lowest_frame, highest_gain


def _at(values: Sequence[float], index: int) -> float:
    """``values[index]``; NaN when out of range (a NaN gain never counts)."""
    return values[index] if 0 <= index < len(values) else math.nan


def _segment_at(playlist: MediaPlaylist | None, t: float, frame_s: float) -> tuple[str, bool]:
    """The URI of the segment holding time ``t`` (seconds) and whether ``t`` is its first
    frame; ``("", False)`` when unknown."""
    if playlist is None:
        return "", False
    for segment in playlist.segments:
        if abs(t - segment.start) <= frame_s / 2:
            return segment.uri, True
        if segment.start <= t < segment.start + segment.duration:
            return segment.uri, False
    return "", False


def _segment_of(playlist: MediaPlaylist | None, t: float, frame_s: float) -> str:
    uri, first = _segment_at(playlist, t, frame_s)
    if not uri:
        return ""
    return f", the first frame of {uri}" if first else f", in {uri}"


def check_freezes(
    rung_motion: MotionSeries,
    reference_motion: MotionSeries,
    psnr: Sequence[float],
    previous_psnr: Sequence[float],
    rung: Rung,
    frame_s: float,
    playlist: MediaPlaylist | None,
) -> tuple[Check, list[FrozenRun]]:
    """``quality.freezes`` of one rung (module docstring; ``psnr``, ``previous_psnr`` as in
    ``frozen_runs``); also returns its frozen runs."""
    runs, lowest, lowest_frame, gain = frozen_runs(
        rung_motion, reference_motion, psnr, previous_psnr, rung.freeze_motion_ratio, frame_s
    )
    frozen = sum(r.frames for r in runs)
    limit = rung.max_frozen_frames
    rule = (
        f"a frame is frozen under {rung.freeze_motion_ratio:.2f} of the reference's motion "
        f"where the reference moves (>= {FREEZE_MOTION_FLOOR} levels) and "
        f">= {FREEZE_PSNR_GAIN_DB:.0f} dB nearer the reference's previous frame"
    )
    if lowest is None:
        measured = [f"no frame where the reference moves; {rule}"]
    else:
        measured = [
            f"{frozen} frozen frames in {len(runs)} runs (limit {limit}); lowest motion "
            f"ratio {lowest:.2f} at reference frame {lowest_frame} "
            f"({reference_motion.times[lowest_frame]:.3f} s), largest previous-frame gain "
            f"{gain:+.1f} dB; {rule}"
        ]
    reasons: list[str] = []
    subjects: list[str] = []
    if frozen > limit:
        subjects = sorted({u for r in runs if (u := _segment_at(playlist, r.start, frame_s)[0])})
        for run in sorted(runs, key=lambda r: (-r.frames, r.ratio))[:LISTED_FINDINGS]:
            where = _segment_of(playlist, run.start, frame_s)
            reasons.append(
                f"{run.frames} frozen frame{'s' if run.frames > 1 else ''} from "
                f"{run.start:.3f} s (reference frame {run.frame}{where}) that the reference "
                f"does not have: motion ratio {run.ratio:.2f}, {run.gain:+.1f} dB nearer the "
                "reference's previous frame"
            )
        if len(runs) > LISTED_FINDINGS:
            reasons.append(f"and {len(runs) - LISTED_FINDINGS} more runs")
    return check("quality.freezes", reasons, measured, subjects=subjects), runs
