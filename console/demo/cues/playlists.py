"""The demo channels' playlists as text: the multivariant playlist, each variant's live
media playlist (with the ad-break tags), and the ad creative's VOD playlist.

Tags written around an ad break (every variant gets the same, from the same timeline):

- before the first ad segment: ``EXT-X-DISCONTINUITY``, ``EXT-X-DATERANGE`` with ``ID`` (the
  event id), ``CLASS``, ``START-DATE``, ``PLANNED-DURATION`` (and ``DURATION`` once the break
  has ended) and ``SCTE35-OUT`` (a splice_insert, out of network, with its break_duration:
  RFC 8216 §4.3.2.7.1), then ``EXT-X-CUE-OUT:<seconds>``;
- on every later ad segment: ``EXT-X-CUE-OUT-CONT:ElapsedTime=…,Duration=…,SCTE35=<base64>``;
- before the first content segment after it: ``EXT-X-DISCONTINUITY``, ``EXT-X-CUE-IN`` and
  an ``EXT-X-DATERANGE`` with the same ID, START-DATE and ``DURATION`` plus ``SCTE35-IN``.

When the first ad segment has left the window while the break still covers segments in
it, the OUT date range is written before the first segment (a date range stays in the
playlist while it applies to segments in it, RFC 8216 §4.3.2.7). Every segment carries
``EXT-X-PROGRAM-DATE-TIME`` (required with date ranges, RFC 8216 §4.3.2.7).
"""

from __future__ import annotations

from console.demo.cues.constants import DATERANGE_CLASS, VARIANTS
from console.demo.cues.media import CODECS, ChannelMedia
from console.demo.cues.timeline import BreakRecord, ChannelTimeline, Slot
from services import scte35
from services.clock import iso_z


def iso(t: float) -> str:
    """Unix seconds → ISO-8601 UTC with milliseconds, ``2026-11-21T13:00:02.000Z``."""
    return iso_z(t, timespec="milliseconds")


def multivariant(media: ChannelMedia) -> str:
    """The channel's multivariant playlist: one EXT-X-STREAM-INF per variant with the
    measured peak/average bit rates (RFC 8216 §4.3.4.2)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for spec in VARIANTS:
        width, height = media.resolution[spec.name]
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={media.bandwidth[spec.name]},"
            f"AVERAGE-BANDWIDTH={media.average_bandwidth[spec.name]},"
            f'RESOLUTION={width}x{height},CODECS="{CODECS}",FRAME-RATE=24.000'
        )
        lines.append(f"{spec.name}.m3u8")
    return "\n".join(lines) + "\n"


def _pts(t: float) -> int:
    return scte35.seconds_to_ticks(t) % scte35.PTS_MODULO


def cue_out_section(ad_break: BreakRecord) -> bytes:
    """The SCTE-35 splice_insert of the break's start (event id, planned break_duration)."""
    return scte35.cue_out(
        ad_break.event_id, ad_break.planned_duration, pts_time=_pts(ad_break.start)
    )


def cue_in_section(ad_break: BreakRecord) -> bytes:
    """The SCTE-35 splice_insert of the return to network at the break's end."""
    return scte35.cue_in(ad_break.event_id, pts_time=_pts(ad_break.end))


def _duration_text(seconds: float) -> str:
    return f"{seconds:.3f}"


def _daterange_out(ad_break: BreakRecord, now: float) -> str:
    attributes = [
        f'ID="{ad_break.event_id}"',
        f'CLASS="{DATERANGE_CLASS}"',
        f'START-DATE="{iso(ad_break.start)}"',
        f"PLANNED-DURATION={_duration_text(ad_break.planned_duration)}",
    ]
    if now >= ad_break.end:
        attributes.append(f"DURATION={_duration_text(ad_break.end - ad_break.start)}")
    attributes.append(f"SCTE35-OUT={scte35.to_hex(cue_out_section(ad_break))}")
    return "#EXT-X-DATERANGE:" + ",".join(attributes)


def _daterange_in(ad_break: BreakRecord) -> str:
    return "#EXT-X-DATERANGE:" + ",".join(
        [
            f'ID="{ad_break.event_id}"',
            f'CLASS="{DATERANGE_CLASS}"',
            f'START-DATE="{iso(ad_break.start)}"',
            f"PLANNED-DURATION={_duration_text(ad_break.planned_duration)}",
            f"DURATION={_duration_text(ad_break.end - ad_break.start)}",
            f"SCTE35-IN={scte35.to_hex(cue_in_section(ad_break))}",
        ]
    )


def media_playlist(timeline: ChannelTimeline, variant: str, now: float) -> str:
    """The live media playlist of ``variant`` for the produced window of ``timeline``."""
    slots = list(timeline.slots)
    seconds = timeline.segment_seconds
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{round(seconds)}",
        f"#EXT-X-MEDIA-SEQUENCE:{slots[0].sequence if slots else timeline.next_sequence or 0}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{timeline.discontinuity_sequence}",
    ]
    for position, slot in enumerate(slots):
        lines += _slot_tags(timeline, slot, position == 0, now)
        lines.append(f"#EXTINF:{seconds:.3f},")
        lines.append(f"/media/{slot.source}/{variant}/seg_{slot.index:05d}.ts")
    return "\n".join(lines) + "\n"


def _slot_tags(timeline: ChannelTimeline, slot: Slot, first: bool, now: float) -> list[str]:
    tags: list[str] = []
    if slot.discontinuity:
        tags.append("#EXT-X-DISCONTINUITY")
    if slot.resumes_after is not None:
        ended = timeline.find(slot.resumes_after)
        tags.append("#EXT-X-CUE-IN")
        if ended is not None:
            tags.append(_daterange_in(ended))
    tags.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso(slot.start)}")
    ad_break = timeline.find(slot.break_id) if slot.break_id is not None else None
    if ad_break is None:
        return tags
    if slot.first_of_break or first:
        tags.append(_daterange_out(ad_break, now))
    elapsed = slot.start - ad_break.start
    if slot.first_of_break:
        tags.append(f"#EXT-X-CUE-OUT:{_duration_text(ad_break.planned_duration)}")
    else:
        tags.append(
            f"#EXT-X-CUE-OUT-CONT:ElapsedTime={_duration_text(elapsed)},"
            f"Duration={_duration_text(ad_break.planned_duration)},"
            f"SCTE35={scte35.to_base64(cue_out_section(ad_break))}"
        )
    return tags


def ad_playlist(media: ChannelMedia, variant: str, seconds: float) -> str:
    """The ad creative of ``variant`` as a VOD media playlist (the decision's item URL)."""
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{round(seconds)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for index in range(media.ad_segments):
        lines += [f"#EXTINF:{seconds:.3f},", f"/media/ad/{variant}/seg_{index:05d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
