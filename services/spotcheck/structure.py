"""Structure checks: RFC 8216 and Apple's HLS authoring rules, per rung.

- ``structure.playlist``: the rung's media playlist parses under the RFC 8216 rules of
  ``services.hls`` (the reason carries the rule and line; e.g. an EXTINF over the target
  duration, §4.3.3.1);
- ``structure.target_duration``: every EXTINF, rounded to the nearest integer, is at most
  EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1);
- ``structure.keyframes``: every segment starts with a keyframe (the multivariant playlist
  declares EXT-X-INDEPENDENT-SEGMENTS, RFC 8216 §4.3.5.1): the video packet presented at
  each segment's start (the sum of the EXTINF before it) is flagged key;
- ``structure.alignment`` (the ladder's segment grid) is ``services.spotcheck.alignment``;
  ``structure.idr`` and ``structure.colour`` are ``services.spotcheck.signalling``;
- ``structure.bandwidth``: declared BANDWIDTH and AVERAGE-BANDWIDTH within
  ``BANDWIDTH_TOLERANCE`` of the measured figures (RFC 8216 §4.3.4.2, Apple: within 10 %);
- ``structure.codecs``: CODECS is present and lists exactly the rung's formats, read from
  its init section (avcC, RFC 6381) and its streams (AAC-LC when there is audio);
- ``structure.resolution``: the coded size is the ladder's size for this rung and the
  declared RESOLUTION.
Times are seconds relative to the rendition's first video PTS.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.abr.multivariant import codecs_attribute, measure_bandwidth
from services.errors import MediaError
from services.hls import MediaPlaylist, Variant
from services.media_tools.probe import RenditionProbe
from services.spotcheck.checks import Check, check
from services.spotcheck.rules import BANDWIDTH_TOLERANCE, FRAME_ALIGNMENT_TOLERANCE
from services.spotcheck.timeline import nearest


def check_target_duration(playlist: MediaPlaylist) -> Check:
    target = playlist.target_duration
    reasons = [
        f"{s.uri}: EXTINF {s.duration:.3f} s exceeds EXT-X-TARGETDURATION {target} s"
        for s in playlist.segments
        if round(s.duration) > target
    ]
    return check("structure.target_duration", reasons)


def check_keyframes(playlist: MediaPlaylist, probe: RenditionProbe) -> Check:
    tolerance = FRAME_ALIGNMENT_TOLERANCE * probe.frame_duration
    origin = probe.video_start
    keyframes = probe.keyframe_times()
    times = [p.pts - origin for p in probe.packets]
    reasons: list[str] = []
    for segment in playlist.segments:
        index = nearest(times, segment.start)
        frame = None if index is None else probe.packets[index]
        if frame is None or abs(frame.pts - origin - segment.start) > tolerance:
            reasons.append(f"{segment.uri}: no frame at its start ({segment.start:.3f} s)")
        elif not frame.key:
            key_index = nearest(keyframes, segment.start)
            closest = None if key_index is None else keyframes[key_index]
            where = f"; nearest keyframe at {closest:.3f} s" if closest is not None else ""
            reasons.append(
                f"{segment.uri}: starts at {segment.start:.3f} s on a non-keyframe{where}"
            )
    return check("structure.keyframes", reasons)


def check_bandwidth(
    playlist: MediaPlaylist, variant: Variant, sizes: Mapping[str, int]
) -> tuple[Check, dict[str, int]]:
    """``sizes``: segment URI -> stored bytes. Returns the check and the measured figures
    (``bandwidth``, ``average_bandwidth`` in bits/s)."""
    try:
        peak, average = measure_bandwidth(
            [(sizes.get(s.uri, 0), s.duration) for s in playlist.segments]
        )
    except MediaError as exc:
        return check("structure.bandwidth", [str(exc)]), {}
    measured = {"bandwidth": peak, "average_bandwidth": average}
    reasons: list[str] = []
    for name, declared, actual in (
        ("BANDWIDTH", variant.bandwidth, peak),
        ("AVERAGE-BANDWIDTH", variant.average_bandwidth, average),
    ):
        if declared is None:
            continue
        if abs(declared - actual) > BANDWIDTH_TOLERANCE * actual:
            reasons.append(
                f"declared {name} {declared} bit/s is {100 * (declared - actual) / actual:+.1f} %"
                f" off the measured {actual} bit/s (limit ±{100 * BANDWIDTH_TOLERANCE:.0f} %)"
            )
    return check("structure.bandwidth", reasons), measured


def check_codecs(variant: Variant, init: bytes | None, probe: RenditionProbe) -> Check:
    if not variant.codecs:
        return check("structure.codecs", ["the variant declares no CODECS"])
    if init is None:
        return check("structure.codecs", ["the init section is missing: cannot read codecs"])
    try:
        measured = codecs_attribute(init, probe.has_audio)
    except MediaError as exc:
        return check("structure.codecs", [str(exc)])
    declared = {c.strip() for c in variant.codecs.split(",") if c.strip()}
    if declared != set(measured.split(",")):
        return check(
            "structure.codecs",
            [f'declared CODECS "{variant.codecs}", the streams are "{measured}"'],
        )
    return check("structure.codecs", [])


def check_resolution(
    probe: RenditionProbe, planned: tuple[int, int] | None, declared: tuple[int, int] | None
) -> Check:
    coded = (probe.width, probe.height)
    reasons: list[str] = []
    if planned is not None and coded != planned:
        reasons.append(
            f"wrong resolution: coded {coded[0]}x{coded[1]}, the ladder gives "
            f"{planned[0]}x{planned[1]}"
        )
    if declared is not None and coded != tuple(declared):
        reasons.append(
            f"coded {coded[0]}x{coded[1]}, master.m3u8 declares RESOLUTION="
            f"{declared[0]}x{declared[1]}"
        )
    return check("structure.resolution", reasons)
