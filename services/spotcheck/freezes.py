"""``quality.freezes``: runs of repeated (identical or near-identical) frames in a rung that
the reference does not have (issue 17). A one-frame freeze at a segment boundary is the
classic splice bug: a segment whose first frame repeats the previous segment's last.

Motion is ffmpeg's ``scdet`` figure (``lavfi.scd.mafd``: the mean absolute difference of a
frame to the previous one), logged for the reference and every rung in the metrics run
(``services.spotcheck.stream_logs``). A rung frame is frozen when its motion is under
``freeze_motion_ratio`` (per rung, ladder file) of the reference's motion at the same
frame while the reference itself moves (at least ``FREEZE_MOTION_FLOOR``): a still shot
is still in both and never counts. ``freezedetect`` is not used: its single noise floor
cannot tell a repeated frame re-coded as an IDR (measured 0.23 against the reference's
1.87) from the demo clip's natural near-stills (0.13-0.5), and it reports nothing shorter
than two frames. Consecutive frozen frames form a run; more than ``max_frozen_frames``
frozen frames fail the rung, naming each run's time, frame and segment.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from services.hls import MediaPlaylist
from services.ladder import Rung
from services.spotcheck.checks import Check, check
from services.spotcheck.rules import FREEZE_MOTION_FLOOR, LISTED_FINDINGS
from services.spotcheck.stream_logs import MotionSeries


@dataclass(frozen=True)
class FrozenRun:
    """Frozen rung frames in a row: from reference frame ``frame`` (``start`` seconds from
    the first frame) for ``frames`` frames; ``ratio`` the lowest motion ratio in the run."""

    frame: int
    start: float
    frames: int
    ratio: float


def frozen_runs(
    rung: MotionSeries, reference: MotionSeries, ratio: float, frame_s: float
) -> tuple[list[FrozenRun], float | None, int]:
    """The rung's frozen runs, the lowest motion ratio seen where the reference moves
    (None when it never does) and the reference frame holding it. Rung frames are placed on
    the reference frame nearest their time; one further than half a frame has no match."""
    times = reference.times
    runs: list[FrozenRun] = []
    lowest: float | None = None
    lowest_frame = -1
    open_run: list[tuple[int, float]] = []

    def close() -> None:
        if open_run:
            first = open_run[0][0]
            runs.append(FrozenRun(first, times[first], len(open_run), min(r for _, r in open_run)))
            open_run.clear()

    for j in range(1, len(rung.times)):
        i = _nearest(times, rung.times[j])
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
        if value < ratio:
            if open_run and open_run[-1][0] != i - 1:
                close()
            open_run.append((i, value))
        else:
            close()
    close()
    return runs, lowest, lowest_frame


def _nearest(times: tuple[float, ...], t: float) -> int | None:
    if not times:
        return None
    at = bisect.bisect_left(times, t)
    if at == 0:
        return 0
    if at == len(times):
        return len(times) - 1
    return at if times[at] - t < t - times[at - 1] else at - 1


def _segment_of(playlist: MediaPlaylist | None, t: float, frame_s: float) -> str:
    if playlist is None:
        return ""
    for segment in playlist.segments:
        if abs(t - segment.start) <= frame_s / 2:
            return f", the first frame of {segment.uri}"
        if segment.start <= t < segment.start + segment.duration:
            return f", in {segment.uri}"
    return ""


def check_freezes(
    rung_motion: MotionSeries,
    reference_motion: MotionSeries,
    rung: Rung,
    frame_s: float,
    playlist: MediaPlaylist | None,
) -> tuple[Check, list[FrozenRun]]:
    """``quality.freezes`` of one rung (module docstring); also returns its frozen runs."""
    runs, lowest, lowest_frame = frozen_runs(
        rung_motion, reference_motion, rung.freeze_motion_ratio, frame_s
    )
    frozen = sum(r.frames for r in runs)
    limit = rung.max_frozen_frames
    rule = (
        f"a frame is frozen under {rung.freeze_motion_ratio:.2f} of the reference's motion "
        f"where the reference moves (>= {FREEZE_MOTION_FLOOR} levels)"
    )
    if lowest is None:
        measured = [f"no frame where the reference moves; {rule}"]
    else:
        measured = [
            f"{frozen} frozen frames in {len(runs)} runs (limit {limit}); lowest motion "
            f"ratio {lowest:.2f} at reference frame {lowest_frame} "
            f"({reference_motion.times[lowest_frame]:.3f} s); {rule}"
        ]
    reasons: list[str] = []
    if frozen > limit:
        for run in sorted(runs, key=lambda r: (-r.frames, r.ratio))[:LISTED_FINDINGS]:
            where = _segment_of(playlist, run.start, frame_s)
            reasons.append(
                f"{run.frames} frozen frame{'s' if run.frames > 1 else ''} from "
                f"{run.start:.3f} s (reference frame {run.frame}{where}) that the reference "
                f"does not have: motion ratio {run.ratio:.2f}"
            )
        if len(runs) > LISTED_FINDINGS:
            reasons.append(f"and {len(runs) - LISTED_FINDINGS} more runs")
    return check("quality.freezes", reasons, measured), runs
