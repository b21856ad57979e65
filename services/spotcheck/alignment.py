"""``structure.alignment``: every rung's segments start on the ladder's segment grid, so a
player can switch rungs at any boundary (Apple HLS authoring spec: keyframes aligned
across variants; RFC 8216 §6.2.4: a client switching variants relies on matching
segment timelines).

The grid is the ladder's, on the reference's timeline: the backfill forces an IDR on every
``gop``-th frame (``services.ladder.gop_frames``: ``segment_seconds`` x the frame rate), so
segment ``k`` starts at reference frame ``k * gop``, at that frame's presentation time from
the reference's first frame. Measuring each rung against this grid blames the rung that
leaves it, whichever rung it is (measured against the first rung, a first rung off the
grid made every *other* rung fail). Without a reference timeline (no reference, or one
that cannot be probed) the rungs are compared with each other: the start shared by a
strict majority of them is taken as right, the report says so, and when no majority
exists every disagreeing rung is named. Segment starts are the sums of the EXTINF before
each segment (RFC 8216 §4.3.2.1); within ``FRAME_ALIGNMENT_TOLERANCE`` frames is on time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.errors import BadConfig
from services.hls import MediaPlaylist
from services.ladder import Ladder, gop_frames
from services.media_tools.probe import RenditionProbe
from services.spotcheck.checks import Check, check
from services.spotcheck.rules import FRAME_ALIGNMENT_TOLERANCE, LISTED_FINDINGS


@dataclass(frozen=True)
class SegmentGrid:
    """The ladder's segment starts on the reference's timeline: ``starts`` in seconds from
    the reference's first frame, ``frames`` their reference frame numbers, one per segment
    the ladder makes of the reference; ``gop`` frames per segment; ``reference`` its kind
    (``source`` or ``v1``)."""

    starts: tuple[float, ...]
    frames: tuple[int, ...]
    segment_seconds: int
    gop: int
    reference: str


def ladder_grid(reference: RenditionProbe, ladder: Ladder, kind: str) -> SegmentGrid | None:
    """The grid of ``ladder`` over ``reference`` (a probe with packets); None when the
    reference has no frames or no usable frame rate."""
    times = [p.pts - reference.video_start for p in reference.packets]
    if not times:
        return None
    try:
        gop = gop_frames(ladder, reference.fps or reference.measured_fps)
    except BadConfig:
        return None
    frames = tuple(range(0, len(times), gop))
    return SegmentGrid(tuple(times[f] for f in frames), frames, ladder.segment_seconds, gop, kind)


def check_alignment(
    playlists: Mapping[str, MediaPlaylist], grid: SegmentGrid | None, frame_s: float
) -> dict[str, Check]:
    """``structure.alignment`` for every rung of ``playlists`` (rung name -> its media
    playlist): against ``grid``, else against the majority of the rungs. ``frame_s``: the
    frame duration in seconds."""
    tolerance = FRAME_ALIGNMENT_TOLERANCE * frame_s
    if grid is not None:
        return {rung: _on_grid(p, grid, tolerance) for rung, p in playlists.items()}
    return _by_majority(playlists, tolerance)


def _listed(problems: list[str], what: str) -> list[str]:
    if len(problems) <= LISTED_FINDINGS:
        return problems
    return problems[:LISTED_FINDINGS] + [f"and {len(problems) - LISTED_FINDINGS} more {what}"]


def _on_grid(playlist: MediaPlaylist, grid: SegmentGrid, tolerance: float) -> Check:
    where = f"the ladder's {grid.segment_seconds} s grid on the {grid.reference} timeline"
    segments = playlist.segments
    problems: list[str] = []
    if len(segments) != len(grid.starts):
        problems.append(
            f"{len(segments)} segments, {where} makes {len(grid.starts)} ({grid.gop} frames each)"
        )
    worst = 0.0
    off: list[str] = []
    for segment, start, frame in zip(segments, grid.starts, grid.frames, strict=False):
        worst = max(worst, abs(segment.start - start))
        if abs(segment.start - start) > tolerance:
            off.append(
                f"{segment.uri} starts at {segment.start:.3f} s, off {where}: "
                f"{start:.3f} s (reference frame {frame})"
            )
    measured = [
        f"{len(segments)} segment starts against {where} ({grid.gop} frames a segment); "
        f"largest deviation {worst:.3f} s (limit {tolerance:.3f} s)"
    ]
    return check("structure.alignment", problems + _listed(off, "segments"), measured)


def _by_majority(playlists: Mapping[str, MediaPlaylist], tolerance: float) -> dict[str, Check]:
    rungs = list(playlists)
    need = len(rungs) // 2 + 1
    basis = f"no reference timeline: measured against the majority of the {len(rungs)} rungs"
    problems: dict[str, list[str]] = {r: [] for r in rungs}
    counts = {r: len(p.segments) for r, p in playlists.items()}
    agreed = [n for n in set(counts.values()) if list(counts.values()).count(n) >= need]
    for rung, count in counts.items():
        if agreed and count != agreed[0]:
            problems[rung].append(f"{count} segments, {agreed[0]} on the majority of rungs")
        elif not agreed and len(set(counts.values())) > 1:
            shown = ", ".join(f"{r} {n}" for r, n in counts.items())
            problems[rung].append(f"the rungs disagree on the segment count ({shown}), no majority")
    off: dict[str, list[str]] = {r: [] for r in rungs}
    for index in range(max(counts.values(), default=0)):
        starts = {r: p.segments[index] for r, p in playlists.items() if index < len(p.segments)}
        for rung, segment in starts.items():
            peers = [r for r, s in starts.items() if abs(s.start - segment.start) <= tolerance]
            if len(peers) >= need:
                continue
            majority = next(
                (
                    (r, s)
                    for r, s in starts.items()
                    if sum(abs(o.start - s.start) <= tolerance for o in starts.values()) >= need
                ),
                None,
            )
            if majority is None:
                shown = ", ".join(f"{r} {s.start:.3f} s" for r, s in starts.items())
                off[rung].append(f"{segment.uri}: the rungs disagree ({shown}), no majority")
            else:
                agreeing = [
                    r for r, s in starts.items() if abs(s.start - majority[1].start) <= tolerance
                ]
                off[rung].append(
                    f"{segment.uri} starts at {segment.start:.3f} s, at "
                    f"{majority[1].start:.3f} s on {len(agreeing)} of {len(starts)} rungs "
                    f"({', '.join(agreeing)})"
                )
    out: dict[str, Check] = {}
    for rung in rungs:
        reasons = problems[rung] + _listed(off[rung], "segments")
        if reasons:
            reasons[0] = f"{reasons[0]} ({basis})"
        out[rung] = check("structure.alignment", reasons, [f"{counts[rung]} segments; {basis}"])
    return out
