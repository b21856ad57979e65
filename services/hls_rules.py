"""The rules of RFC 8216 a playlist must pass before the console reads it (no I/O, no Qt).

``check_playlist`` walks the lines once (linear in the input) and raises ``PlaylistError``
with the 1-based line and the section of the first rule broken; it returns the playlist's
kind and the lines the model needs. Checked:

- §4.1 text (``services.hls_syntax``), §4.3.1.1 ``#EXTM3U`` first;
- every attribute of the tags in ``services.hls_tags.ATTRIBUTES``: the REQUIRED ones present,
  each value of its type (decimal-integer 0…2^64−1, decimal-floating-point,
  enumerated-string, decimal-resolution, hexadecimal-sequence; §4.2). Quoting is not enforced
  (``BYTERANGE=20000@0`` unquoted in EXT-X-PART is common and every player reads it);
- §4.3.2.1 EXTINF before each segment URI, its duration rounded half up ≤ the target duration
  (§4.3.3.1); §4.3.3.2/§4.3.3.3 sequence tags before the first segment; §4.3.3.5
  PLAYLIST-TYPE EVENT or VOD; one of each Media Playlist tag and of EXT-X-START /
  EXT-X-INDEPENDENT-SEGMENTS (§4.3.3, §4.3.5); EXT-X-ENDLIST anywhere (§4.3.3.4);
- §4.3.2.4 EXT-X-KEY: URI unless METHOD=NONE, nothing else with NONE; §4.3.2.7 date ranges:
  END-DATE not before START-DATE, END-ON-NEXT with CLASS and without DURATION/END-DATE;
  §4.3.4.1 EXT-X-MEDIA by TYPE; §4.3.4.2 STREAM-INF group names defined by an EXT-X-MEDIA;
  §4.3.4.4 SESSION-DATA with VALUE or URI, not both; §4.3.4.5 SESSION-KEY not NONE;
- §4.1 a playlist is a media or a multivariant playlist, not both.

Not checked: the compatibility-version rules of §7 (players ignore EXT-X-VERSION in
practice and encoders get it wrong without harm) and the Low-Latency timing rules of
draft-pantos-hls-rfc8216bis (part targets, hold-backs); their tags' attributes are checked.
Tags the RFC does not define are ignored, as §6.3.1 tells clients to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.errors import PlaylistError
from services.hls_syntax import (
    AttributeValue,
    attribute_list,
    decimal_float,
    decimal_integer,
    hexadecimal_sequence,
    playlist_lines,
    program_date,
    resolution,
    rounded_half_up,
    split_tag,
)
from services.hls_tags import (
    ATTRIBUTES,
    DATE,
    ENUM,
    FLOAT,
    HEX,
    INT,
    MEDIA_TAGS,
    MODEL_TAGS,
    MULTIVARIANT_TAGS,
    ONCE,
    RESOLUTION,
    SIGNED,
    Attr,
)


@dataclass(frozen=True)
class CheckedPlaylist:
    """What ``check_playlist`` found: ``kind`` ``"media"`` or ``"multivariant"``, and
    ``model_text`` the playlist reduced to ``MODEL_TAGS`` and URI lines (other lines blank,
    so line numbers stay)."""

    kind: str
    model_text: str


class _Walk:
    """The state of one pass over a playlist's lines."""

    def __init__(self, uri: str | None) -> None:
        self.uri = uri
        self.seen: dict[str, int] = {}
        self.target: int | None = None
        self.pending_extinf: int | None = None
        self.pending_stream_inf: int | None = None
        self.segments = self.variants = 0
        self.endlist_line: int | None = None
        self.media_line = self.multivariant_line = 0
        self.parts = False
        self.groups: set[tuple[str, str]] = set()
        self.group_uses: list[tuple[str, str, int]] = []

    def fail(self, message: str, line: int) -> PlaylistError:
        return PlaylistError(message, uri=self.uri, line=line)


def check_playlist(text: str, uri: str | None) -> CheckedPlaylist:
    """Check ``text`` against the rules in the module docstring.

    Returns a ``CheckedPlaylist``. Raises ``PlaylistError`` with the line and the rule.
    """
    lines = playlist_lines(text, uri)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != "#EXTM3U":
        raise PlaylistError(
            "the first line must be #EXTM3U (RFC 8216 §4.3.1.1); not an HLS playlist",
            uri=uri,
            line=(first or 0) + 1,
        )
    walk = _Walk(uri)
    model = [""] * len(lines)
    model[first] = "#EXTM3U"
    for index in range(first + 1, len(lines)):
        line = lines[index].strip()
        if not line:
            continue
        number = index + 1
        if line.startswith("#"):
            name, value = split_tag(line)
            if not name.startswith("#EXT"):
                continue  # a comment (§4.1)
            _tag(walk, name, value, number)
            if name in MODEL_TAGS:
                model[index] = line
        else:
            _uri_line(walk, line, number)
            model[index] = line
    return CheckedPlaylist(_finish(walk), "\n".join(model) + "\n")


def _tag(walk: _Walk, name: str, value: str | None, number: int) -> None:
    if name in ONCE:
        if name in walk.seen:
            raise walk.fail(
                f"{name[1:]} appears a second time (first on line {walk.seen[name]}); it may "
                "appear once per playlist (RFC 8216 §4.3.3, §4.3.5)",
                number,
            )
    walk.seen.setdefault(name, number)
    if name in MEDIA_TAGS:
        walk.media_line = walk.media_line or number
    if name in MULTIVARIANT_TAGS:
        walk.multivariant_line = walk.multivariant_line or number
    if name in ATTRIBUTES:
        attrs = _attributes(walk, name, value, number)
        _attribute_rules(walk, name, attrs, number)
        if name == "#EXT-X-STREAM-INF":
            walk.pending_stream_inf = number
        elif name == "#EXT-X-PART":
            walk.parts = True
        return
    if name == "#EXTINF":
        _extinf(walk, value or "", number)
    elif name == "#EXT-X-TARGETDURATION":
        walk.target = decimal_integer(value or "", "EXT-X-TARGETDURATION", number, walk.uri)
    elif name in ("#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE"):
        decimal_integer(value or "", name[1:], number, walk.uri)
        if walk.segments:
            section = "§4.3.3.2" if name == "#EXT-X-MEDIA-SEQUENCE" else "§4.3.3.3"
            raise walk.fail(
                f"{name[1:]} after the first segment; it must come before (RFC 8216 {section})",
                number,
            )
        if name == "#EXT-X-DISCONTINUITY-SEQUENCE" and "#EXT-X-DISCONTINUITY" in walk.seen:
            raise walk.fail(
                "EXT-X-DISCONTINUITY-SEQUENCE after an EXT-X-DISCONTINUITY (RFC 8216 §4.3.3.3)",
                number,
            )
    elif name == "#EXT-X-VERSION":
        decimal_integer(value or "", "EXT-X-VERSION", number, walk.uri)
    elif name == "#EXT-X-PLAYLIST-TYPE":
        if (value or "").strip() not in ("EVENT", "VOD"):
            raise walk.fail(
                f"EXT-X-PLAYLIST-TYPE must be EVENT or VOD, got {(value or '')[:30]!r} "
                "(RFC 8216 §4.3.3.5)",
                number,
            )
    elif name == "#EXT-X-PROGRAM-DATE-TIME":
        program_date(value or "", "EXT-X-PROGRAM-DATE-TIME", number, walk.uri)
    elif name == "#EXT-X-BYTERANGE":
        _byterange(walk, value or "", number)
    elif name == "#EXT-X-ENDLIST":
        walk.endlist_line = number


def _attributes(walk: _Walk, name: str, value: str | None, number: int) -> dict:
    section, rules = ATTRIBUTES[name]
    attrs = attribute_list(value or "", number, walk.uri)
    for attr, rule in rules.items():
        if attr not in attrs:
            if rule.required:
                cut = " (a playlist cut short looks like this)" if not value else ""
                raise walk.fail(
                    f"{name[1:]} has no {attr} attribute, which is REQUIRED "
                    f"(RFC 8216 {section}){cut}",
                    number,
                )
            continue
        _typed(walk, f"{name[1:]} {attr}", attrs[attr], rule, section, number)
    return attrs


def _typed(walk: _Walk, what: str, value: AttributeValue, rule: Attr, section: str, n: int):
    uri = walk.uri
    if rule.kind == INT:
        return decimal_integer(value, what, n, uri)
    if rule.kind in (FLOAT, SIGNED):
        return decimal_float(value, what, n, uri, signed=rule.kind == SIGNED)
    if rule.kind == RESOLUTION:
        return resolution(value, what, n, uri)
    if rule.kind == HEX:
        return hexadecimal_sequence(value, what, n, uri)
    if rule.kind == DATE:
        return program_date(value, what, n, uri)
    if rule.kind == ENUM and value not in rule.values:
        raise walk.fail(
            f"{what} must be one of {', '.join(rule.values)}, got {value[:30]!r} ({section})", n
        )
    return value


def _attribute_rules(walk: _Walk, name: str, attrs: dict, number: int) -> None:
    fail = walk.fail
    if name in ("#EXT-X-KEY", "#EXT-X-SESSION-KEY"):
        section = "§4.3.2.4" if name == "#EXT-X-KEY" else "§4.3.4.5"
        if attrs["METHOD"] == "NONE":
            if name == "#EXT-X-SESSION-KEY":
                raise fail("EXT-X-SESSION-KEY METHOD must not be NONE (RFC 8216 §4.3.4.5)", number)
            if any(value for attr, value in attrs.items() if attr != "METHOD"):
                raise fail("EXT-X-KEY with METHOD=NONE has other attributes (§4.3.2.4)", number)
        elif "URI" not in attrs:
            raise fail(f"{name[1:]} without URI (REQUIRED unless METHOD=NONE; {section})", number)
    elif name == "#EXT-X-DATERANGE":
        _daterange_rules(walk, attrs, number)
    elif name == "#EXT-X-MEDIA":
        kind = attrs["TYPE"]
        if kind == "CLOSED-CAPTIONS" and "URI" in attrs:
            raise fail("EXT-X-MEDIA of TYPE CLOSED-CAPTIONS has a URI (§4.3.4.1)", number)
        if kind == "CLOSED-CAPTIONS" and "INSTREAM-ID" not in attrs:
            raise fail("EXT-X-MEDIA of TYPE CLOSED-CAPTIONS needs INSTREAM-ID (§4.3.4.1)", number)
        if kind == "SUBTITLES" and "URI" not in attrs:
            raise fail("EXT-X-MEDIA of TYPE SUBTITLES needs a URI (§4.3.4.1)", number)
        if "FORCED" in attrs and kind != "SUBTITLES":
            raise fail("FORCED is only for EXT-X-MEDIA of TYPE SUBTITLES (§4.3.4.1)", number)
        walk.groups.add((kind, attrs["GROUP-ID"]))
    elif name == "#EXT-X-STREAM-INF":
        for attr, kind in (("AUDIO", "AUDIO"), ("VIDEO", "VIDEO"), ("SUBTITLES", "SUBTITLES")):
            if attr in attrs:
                walk.group_uses.append((kind, attrs[attr], number))
        captions = attrs.get("CLOSED-CAPTIONS")
        if captions is not None and captions.quoted:
            walk.group_uses.append(("CLOSED-CAPTIONS", captions, number))
    elif name == "#EXT-X-SESSION-DATA" and ("VALUE" in attrs) == ("URI" in attrs):
        raise fail("EXT-X-SESSION-DATA needs VALUE or URI, not both (RFC 8216 §4.3.4.4)", number)


def _daterange_rules(walk: _Walk, attrs: dict, number: int) -> None:
    uri = walk.uri
    dates = {
        name: program_date(attrs[name], name, number, uri)
        for name in ("START-DATE", "END-DATE")
        if name in attrs
    }
    start, end = dates.get("START-DATE"), dates.get("END-DATE")
    if start is not None and end is not None:
        if end < start:
            raise walk.fail("EXT-X-DATERANGE END-DATE is before START-DATE (§4.3.2.7)", number)
        if "DURATION" in attrs:
            duration = decimal_float(attrs["DURATION"], "DURATION", number, uri)
            try:
                expected = start + timedelta(seconds=duration)
            except OverflowError:
                expected = None
            if expected is None or abs((end - expected).total_seconds()) > 0.001:
                raise walk.fail(
                    "EXT-X-DATERANGE END-DATE is not START-DATE + DURATION (§4.3.2.7)", number
                )
    if attrs.get("END-ON-NEXT") == "YES":
        if "CLASS" not in attrs:
            raise walk.fail("EXT-X-DATERANGE END-ON-NEXT=YES without CLASS (§4.3.2.7)", number)
        if "DURATION" in attrs or "END-DATE" in attrs:
            raise walk.fail(
                "EXT-X-DATERANGE END-ON-NEXT=YES with DURATION or END-DATE (§4.3.2.7)", number
            )


def _extinf(walk: _Walk, value: str, number: int) -> None:
    duration = value.split(",", 1)[0].strip()
    decimal_float(duration, "EXTINF duration", number, walk.uri)
    if walk.pending_extinf is not None:
        raise walk.fail(
            "EXTINF without a segment URI before the next EXTINF (RFC 8216 §4.3.2.1)",
            walk.pending_extinf,
        )
    if walk.target is not None and rounded_half_up(duration) > walk.target:
        raise walk.fail(
            f"EXTINF {duration} s, rounded to the nearest integer, exceeds "
            f"EXT-X-TARGETDURATION {walk.target} s (RFC 8216 §4.3.3.1)",
            number,
        )
    walk.pending_extinf = number


def _byterange(walk: _Walk, value: str, number: int) -> None:
    length, _, offset = value.strip().partition("@")
    decimal_integer(length, "EXT-X-BYTERANGE length", number, walk.uri)
    if offset:
        decimal_integer(offset, "EXT-X-BYTERANGE offset", number, walk.uri)


def _uri_line(walk: _Walk, line: str, number: int) -> None:
    if walk.pending_stream_inf is not None:
        walk.pending_stream_inf = None
        walk.variants += 1
        return
    if walk.pending_extinf is None:
        raise walk.fail(
            f"URI {line[:60]!r} has no EXTINF or EXT-X-STREAM-INF before it (RFC 8216 §4.3.2.1)",
            number,
        )
    walk.pending_extinf = None
    walk.segments += 1


def _finish(walk: _Walk) -> str:
    if walk.pending_extinf is not None:
        raise walk.fail(
            "the last EXTINF has no segment URI (RFC 8216 §4.3.2.1)", walk.pending_extinf
        )
    if walk.pending_stream_inf is not None:
        raise walk.fail(
            "the last EXT-X-STREAM-INF has no URI (RFC 8216 §4.3.4.2)", walk.pending_stream_inf
        )
    if walk.media_line and walk.multivariant_line:
        raise walk.fail(
            f"mixes media-playlist tags (line {walk.media_line}) and multivariant tags "
            f"(line {walk.multivariant_line}); a playlist is one or the other (RFC 8216 §4.1)",
            max(walk.media_line, walk.multivariant_line),
        )
    if walk.multivariant_line or walk.variants:
        for kind, group, number in walk.group_uses:
            if (kind, group) not in walk.groups:
                raise walk.fail(
                    f"EXT-X-STREAM-INF names {kind} group {group[:40]!r}, which no EXT-X-MEDIA "
                    "defines (RFC 8216 §4.3.4.2)",
                    number,
                )
        return "multivariant"
    if walk.target is None:
        raise walk.fail("media playlist without EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1)", 1)
    if walk.segments == 0 and walk.endlist_line is not None and not walk.parts:
        raise walk.fail("a finished playlist (EXT-X-ENDLIST) lists no segments", walk.endlist_line)
    return "media"
