"""Ad-break cue tags of an HLS media playlist, in every common style (no Qt, no I/O).

Styles read (each tag applies to the media segment that follows it):

- ``EXT-X-DATERANGE`` (RFC 8216 §4.3.2.7) with ``ID``, ``CLASS``, ``START-DATE``,
  ``END-DATE``, ``DURATION``, ``PLANNED-DURATION``, ``END-ON-NEXT`` and the SCTE-35 mapping
  of §4.3.2.7.1: ``SCTE35-OUT`` / ``SCTE35-IN`` / ``SCTE35-CMD`` as hexadecimal-sequences;
- ``EXT-X-CUE-OUT`` (``:30.000``, ``:DURATION=30``, Envivio ``:DURATION=…,ID=…,CUE="<b64>"``,
  MediaConvert ``:4,SpliceType=…``), ``EXT-X-CUE-OUT-CONT`` (``:8/120``,
  ``:ElapsedTime=…,Duration=…,SCTE35=<b64>``), ``EXT-X-CUE-IN``, Envivio ``EXT-X-CUE-SPAN``;
- ``EXT-OATCLS-SCTE35:<base64>`` (Elemental).

Rules: the playlist must start with ``#EXTM3U`` (RFC 8216 §4.3.1.1) and be a media playlist;
``EXTINF`` durations are decimal numbers (§4.3.2.1); ``EXT-X-PROGRAM-DATE-TIME`` dates the
next segment and later ones by adding durations (§4.3.2.6, a date past the calendar's end is
left unknown); text, attribute lists and numbers are read by ``services.hls_syntax`` (§4.1,
§4.2: no control characters, integers 0…2^64−1, finite decimals). A violation, a cue tag
whose value cannot be read (``#EXT-X-CUE-OUT:INVALID``) or an SCTE-35 attribute that is not
hex/base64 raises ``PlaylistError`` with the 1-based line; nothing else escapes. An SCTE-35
payload of the right syntax that does not decode as a splice_info_section is kept with
``splice_error`` set (RFC 8216 §8.10's own example is 49 bytes with a section_length of 50).
Which markers are ad breaks, and how they group, is ``services.ad_breaks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services import scte35
from services.ad_breaks import AdBreakSpan, group_breaks
from services.errors import PlaylistError
from services.hls_syntax import (
    attribute_list,
    decimal_float,
    decimal_integer,
    decode_text,
    playlist_lines,
    program_date,
)

_ISO_DURATION = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


@dataclass(frozen=True)
class CueMarker:
    """One cue tag.

    ``kind``: ``"daterange"``, ``"cue-out"``, ``"cue-out-cont"``, ``"cue-in"``,
    ``"cue-span"`` or ``"oatcls"``. ``line`` is 1-based; ``sequence`` the media sequence
    number of the segment the tag applies to (None when no segment follows);
    ``segment_date`` that segment's PROGRAM-DATE-TIME when known. ``id`` (DATERANGE ID or a
    vendor ``ID=``), ``start_date``/``end_date`` (DATERANGE), ``duration`` and
    ``planned_duration`` and ``elapsed`` in seconds, ``scte35_role`` ``"out"``/``"in"``/
    ``"cmd"`` (DATERANGE) or ``"cue"`` (vendor tags), ``scte35`` the section bytes, ``splice``
    the decoded section or ``splice_error`` why it did not decode; ``attributes`` the raw
    attribute list.
    """

    kind: str
    line: int
    sequence: int | None = None
    segment_date: datetime | None = None
    id: str | None = None
    cls: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration: float | None = None
    planned_duration: float | None = None
    elapsed: float | None = None
    scte35_role: str | None = None
    scte35: bytes | None = None
    splice: scte35.SpliceInfo | None = None
    splice_error: str | None = None
    attributes: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class CueSegment:
    """A media segment: ``sequence`` number, ``uri``, ``duration`` (s, EXTINF),
    ``program_date_time`` (explicit or extrapolated), ``discontinuity`` before it, and the
    cue markers that apply to it."""

    sequence: int
    uri: str
    duration: float
    program_date_time: datetime | None
    discontinuity: bool
    markers: tuple[CueMarker, ...] = ()


@dataclass(frozen=True)
class CuePlaylist:
    """A media playlist read for its cues: ``media_sequence`` (§4.3.3.2, 0 when absent),
    ``discontinuity_sequence`` (§4.3.3.3), ``target_duration`` in seconds (None when
    absent), ``endlist``, ``segments``, every ``markers`` in order (also those after the
    last segment)."""

    media_sequence: int
    discontinuity_sequence: int
    target_duration: int | None
    endlist: bool
    segments: tuple[CueSegment, ...]
    markers: tuple[CueMarker, ...]

    @property
    def last_sequence(self) -> int | None:
        """The media sequence number of the last segment (None when there is none)."""
        return self.segments[-1].sequence if self.segments else None

    def ad_breaks(self) -> tuple[AdBreakSpan, ...]:
        """The ad breaks the markers describe, in playlist order (``services.ad_breaks``:
        date ranges that are not ads are left out). Never raises."""
        return group_breaks(self.markers)


def _fail(message: str, line: int, uri: str | None) -> PlaylistError:
    return PlaylistError(message, uri=uri, line=line)


def _section(
    value: str, what: str, line: int, uri: str | None, hex_only: bool = False
) -> tuple[bytes, scte35.SpliceInfo | None, str | None]:
    """The SCTE-35 bytes of an attribute, decoded when possible."""
    value = value.strip().strip('"')
    if hex_only and value[:2] not in ("0x", "0X"):
        raise _fail(f"{what} must be a hexadecimal-sequence 0x… (RFC 8216 §4.3.2.7.1)", line, uri)
    try:
        data = scte35.from_text(value)
    except scte35.Scte35Error as exc:
        raise _fail(f"{what}: {exc}", line, uri) from None
    try:
        return data, scte35.decode(data), None
    except scte35.Scte35Error as exc:
        return data, None, str(exc)


def _daterange(value: str, line: int, uri: str | None) -> CueMarker:
    attrs = attribute_list(value, line, uri)
    if not attrs.get("ID"):
        raise _fail("EXT-X-DATERANGE without ID (RFC 8216 §4.3.2.7)", line, uri)
    role = data = splice = error = None
    for name, short in (("SCTE35-OUT", "out"), ("SCTE35-IN", "in"), ("SCTE35-CMD", "cmd")):
        if name in attrs:
            role = short
            data, splice, error = _section(attrs[name], name, line, uri, hex_only=True)
            break
    dates = {
        name: program_date(attrs[name], name, line, uri)
        for name in ("START-DATE", "END-DATE")
        if name in attrs
    }
    start, end = dates.get("START-DATE"), dates.get("END-DATE")
    duration = (
        decimal_float(attrs["DURATION"], "DURATION", line, uri) if "DURATION" in attrs else None
    )
    planned = (
        decimal_float(attrs["PLANNED-DURATION"], "PLANNED-DURATION", line, uri)
        if "PLANNED-DURATION" in attrs
        else None
    )
    if start is not None and end is not None and end < start:
        raise _fail("END-DATE is before START-DATE (RFC 8216 §4.3.2.7)", line, uri)
    return CueMarker(
        "daterange",
        line,
        id=attrs["ID"],
        cls=attrs.get("CLASS"),
        start_date=start,
        end_date=end,
        duration=duration,
        planned_duration=planned,
        scte35_role=role,
        scte35=data,
        splice=splice,
        splice_error=error,
        attributes=attrs,
    )


def _leading_and_attributes(value: str, line: int, uri: str | None) -> tuple[str, dict[str, str]]:
    """``"4,SpliceType=X"`` → ``("4", {...})``; ``"DURATION=3"`` → ``("", {...})``."""
    value = value.strip()
    head, _, rest = value.partition(",")
    if "=" in head:
        return "", attribute_list(value, line, uri)
    return head.strip(), attribute_list(rest, line, uri) if rest.strip() else {}


def _vendor_cue(kind: str, value: str, line: int, uri: str | None) -> CueMarker:
    head, attrs = _leading_and_attributes(value, line, uri)
    duration = elapsed = None
    if head:
        if kind == "cue-out-cont" and "/" in head:
            done, _, total = head.partition("/")
            elapsed = decimal_float(done, "CUE-OUT-CONT elapsed time", line, uri)
            duration = decimal_float(total, "CUE-OUT-CONT duration", line, uri)
        elif kind in ("cue-out", "cue-in"):
            duration = decimal_float(head, f"{kind.upper()} duration", line, uri)
        else:
            raise _fail(f"cannot read {kind.upper()} value {head!r}", line, uri)
    for name in ("DURATION",):
        if name in attrs:
            duration = decimal_float(attrs[name], name, line, uri)
    if "ELAPSEDTIME" in attrs:
        elapsed = decimal_float(attrs["ELAPSEDTIME"], "ElapsedTime", line, uri)
    if "TIMEFROMSIGNAL" in attrs:
        match = _ISO_DURATION.match(attrs["TIMEFROMSIGNAL"])
        if match is None:
            raise _fail("TIMEFROMSIGNAL is not PTnS", line, uri)
        elapsed = decimal_float(match.group(1), "TIMEFROMSIGNAL", line, uri)
    data = splice = error = None
    for name in ("SCTE35", "CUE"):
        if name in attrs:
            data, splice, error = _section(attrs[name], name, line, uri)
    return CueMarker(
        kind,
        line,
        id=attrs.get("ID"),
        duration=duration,
        elapsed=elapsed,
        scte35_role="cue" if data else None,
        scte35=data,
        splice=splice,
        splice_error=error,
        attributes=attrs,
    )


def _cue_tag(name: str, value: str | None, line: int, uri: str | None) -> CueMarker | None:
    if name == "#EXT-X-DATERANGE":
        return _daterange(value or "", line, uri)
    if name == "#EXT-OATCLS-SCTE35":
        if not value:
            raise _fail("EXT-OATCLS-SCTE35 without a payload", line, uri)
        data, splice, error = _section(value, "EXT-OATCLS-SCTE35", line, uri)
        return CueMarker(
            "oatcls", line, scte35_role="cue", scte35=data, splice=splice, splice_error=error
        )
    kinds = {
        "#EXT-X-CUE-OUT": "cue-out",
        "#EXT-X-CUE-OUT-CONT": "cue-out-cont",
        "#EXT-X-CUE-IN": "cue-in",
        "#EXT-X-CUE-SPAN": "cue-span",
    }
    if name in kinds:
        return _vendor_cue(kinds[name], value or "", line, uri)
    return None


def parse_cues(text: str | bytes, uri: str | None = None) -> CuePlaylist:
    """Read the segments and cue tags of a media playlist (see the module docstring).

    ``uri`` only names the playlist in error messages. Raises ``PlaylistError`` only.
    """
    lines = playlist_lines(decode_text(text, uri), uri)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != "#EXTM3U":
        raise PlaylistError(
            "does not start with #EXTM3U (RFC 8216 §4.3.1.1)", uri=uri, line=(first or 0) + 1
        )
    return _scan(lines, first + 1, uri)


def _scan(lines: list[str], begin: int, uri: str | None) -> CuePlaylist:
    media_sequence = 0
    discontinuity_sequence = 0
    target: int | None = None
    endlist = False
    segments: list[CueSegment] = []
    markers: list[CueMarker] = []
    pending: list[CueMarker] = []
    duration: float | None = None
    date: datetime | None = None
    next_date: datetime | None = None
    discontinuity = False
    for index in range(begin, len(lines)):
        raw = lines[index].strip()
        number = index + 1
        if not raw:
            continue
        if not raw.startswith("#"):
            if duration is None:
                raise _fail(f"segment {raw!r} has no EXTINF (RFC 8216 §4.3.2.1)", number, uri)
            sequence = media_sequence + len(segments)
            when = date or next_date
            dated = tuple(_with_segment(m, sequence, when) for m in pending)
            segments.append(CueSegment(sequence, raw, duration, when, discontinuity, dated))
            markers.extend(dated)
            pending = []
            next_date = _after(when, duration)
            duration, date, discontinuity = None, None, False
            continue
        name, sep, value = raw.partition(":")
        value_or_none = value if sep else None
        if name == "#EXT-X-STREAM-INF":
            raise _fail(
                "a multivariant playlist has no cue tags: read a media playlist", number, uri
            )
        if name == "#EXTINF":
            duration = decimal_float(value.split(",", 1)[0], "EXTINF duration", number, uri)
        elif name == "#EXT-X-TARGETDURATION":
            target = decimal_integer(value, "EXT-X-TARGETDURATION", number, uri)
        elif name == "#EXT-X-MEDIA-SEQUENCE":
            media_sequence = decimal_integer(value, "EXT-X-MEDIA-SEQUENCE", number, uri)
        elif name == "#EXT-X-DISCONTINUITY-SEQUENCE":
            discontinuity_sequence = decimal_integer(
                value, "EXT-X-DISCONTINUITY-SEQUENCE", number, uri
            )
        elif name == "#EXT-X-PROGRAM-DATE-TIME":
            date = program_date(value, "EXT-X-PROGRAM-DATE-TIME", number, uri)
        elif name == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif name == "#EXT-X-ENDLIST":
            endlist = True
        else:
            marker = _cue_tag(name, value_or_none, number, uri)
            if marker is not None:
                pending.append(marker)
    markers.extend(pending)
    return CuePlaylist(
        media_sequence, discontinuity_sequence, target, endlist, tuple(segments), tuple(markers)
    )


def _after(when: datetime | None, seconds: float) -> datetime | None:
    """The date ``seconds`` after ``when`` (§4.3.2.6 extrapolation); None when unknown or past
    the calendar's end."""
    if when is None:
        return None
    try:
        return when + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _with_segment(marker: CueMarker, sequence: int, when: datetime | None) -> CueMarker:
    return replace(marker, sequence=sequence, segment_date=when)
