"""What a rung signals to the player, beyond its pixels (issue 17).

- ``structure.colour``: the video stream's ``color_range``, ``color_primaries``,
  ``color_transfer`` and ``colorspace`` (H.264 VUI, ITU-T H.264 Annex E, as ffprobe reports
  them from the init section) equal the reference's. A rung tagged full range (``pc``) over
  a limited-range reference is shown crushed or washed out, and a player switching rungs
  visibly shifts colour; "unspecified" counts as a value of its own (players guess it
  differently per resolution, SD as BT.601 and HD as BT.709);
- ``structure.idr``: every segment starts with an IDR picture (H.264 NAL type 5), not only
  a keyframe. An open GOP's recovery-point I-frame is flagged key by the container but its
  leading pictures reference the previous segment, which breaks EXT-X-INDEPENDENT-SEGMENTS
  (RFC 8216 §4.3.5.1: each segment decodable without the others) and rung switching on some
  players (Apple HLS authoring spec: segments start with an IDR). The IDR packets come from
  the metrics run's ``filter_units`` log (``services.spotcheck.stream_logs``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.errors import MediaError
from services.hls import MediaPlaylist
from services.media_tools.binaries import ffprobe_exe
from services.media_tools.probe import RenditionProbe
from services.media_tools.runner import run_tool
from services.spotcheck.checks import Check, check
from services.spotcheck.rules import FRAME_ALIGNMENT_TOLERANCE, LISTED_FINDINGS
from services.spotcheck.timeline import nearest

COLOUR_FIELDS = ("color_range", "color_primaries", "color_transfer", "color_space")
"""ffprobe's names; reports say ``colorspace`` for ``color_space`` (the VUI matrix)."""

UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class ColourTags:
    """The video stream's colour signalling, ffprobe's words (``tv``, ``bt709``...), or
    ``unspecified`` when the stream does not say."""

    color_range: str
    color_primaries: str
    color_transfer: str
    color_space: str

    def describe(self) -> str:
        return ", ".join(f"{_label(f)} {getattr(self, f)}" for f in COLOUR_FIELDS)


def _label(field: str) -> str:
    return "colorspace" if field == "color_space" else field


async def probe_colour(url: str, *, hide: str = "", name: str = "") -> ColourTags:
    """The colour tags of the first video stream at ``url`` (reads the headers only).
    Raises ``MediaError`` naming ``name`` when ffprobe fails or finds no video."""
    argv = [
        ffprobe_exe(),
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-print_format",
        "json",
        "-show_entries",
        "stream=" + ",".join(COLOUR_FIELDS),
        url,
    ]
    result = await run_tool(argv, hide=hide)
    try:
        streams = json.loads(result.stdout or b"{}").get("streams", [])
    except json.JSONDecodeError:
        streams = []
    if result.code != 0 or not streams:
        raise MediaError(
            f"The colour tags of {name or 'the rendition'} cannot be read: "
            f"ffprobe says {result.said('no video stream')!r}."
        )
    stream = streams[0]
    values = [str(stream.get(f) or UNSPECIFIED) for f in COLOUR_FIELDS]
    return ColourTags(*(UNSPECIFIED if v == "unknown" else v for v in values))


def check_colour(rung: ColourTags, reference: ColourTags, reference_kind: str) -> Check:
    reasons = [
        f"{_label(f)} {getattr(rung, f)}, the reference ({reference_kind}) {getattr(reference, f)}"
        for f in COLOUR_FIELDS
        if getattr(rung, f) != getattr(reference, f)
    ]
    measured = [f"rung: {rung.describe()}", f"reference ({reference_kind}): {reference.describe()}"]
    return check("structure.colour", reasons, measured)


def check_idr(
    playlist: MediaPlaylist, probe: RenditionProbe, idr_times: tuple[float, ...]
) -> Check:
    """``idr_times``: PTS (seconds, the rung's own timeline) of its IDR packets."""
    tolerance = FRAME_ALIGNMENT_TOLERANCE * probe.frame_duration
    origin = probe.video_start
    times = [p.pts for p in probe.packets]
    problems: list[str] = []
    idr = not_key = 0
    for segment in playlist.segments:
        at = origin + segment.start
        index = nearest(times, at)
        first = probe.packets[index] if index is not None else None
        if first is None or abs(first.pts - at) > tolerance or not first.key:
            not_key += 1  # no keyframe at all: structure.keyframes names it
        elif _has(idr_times, first.pts, tolerance):
            idr += 1
        else:
            problems.append(
                f"{segment.uri} ({segment.start:.3f} s) starts on an I-frame that is not an "
                "IDR (an open GOP's recovery point)"
            )
    total = len(playlist.segments)
    reasons = problems[:LISTED_FINDINGS]
    if len(problems) > LISTED_FINDINGS:
        reasons.append(f"and {len(problems) - LISTED_FINDINGS} more segments")
    measured = [
        f"{idr} of {total} segments start with an IDR, {len(problems)} with a non-IDR "
        f"keyframe"
        + (f", {not_key} with no keyframe (see structure.keyframes)" if not_key else "")
        + f"; {len(idr_times)} IDR pictures in the rung"
    ]
    return check("structure.idr", reasons, measured)


def _has(times: tuple[float, ...], t: float, tolerance: float) -> bool:
    index = nearest(times, t)
    return index is not None and abs(times[index] - t) <= tolerance
