"""The tag table of RFC 8216 (and draft-pantos-hls-rfc8216bis for Low-Latency HLS): which
attributes each tag has, their §4.2 types, which are REQUIRED, and which tags belong to media
or multivariant playlists. Data only; ``services.hls_rules`` applies it."""

from __future__ import annotations

from dataclasses import dataclass

INT, FLOAT, SIGNED, QUOTED, ENUM, RESOLUTION, HEX, DATE = (
    "decimal-integer",
    "decimal-floating-point",
    "signed-decimal-floating-point",
    "quoted-string",
    "enumerated-string",
    "decimal-resolution",
    "hexadecimal-sequence",
    "date",
)
YES_NO = ("YES", "NO")


@dataclass(frozen=True)
class Attr:
    """One attribute's rule: its ``kind`` (a §4.2 type), ``required``, and for enumerated
    strings the allowed ``values``."""

    kind: str
    required: bool = False
    values: tuple[str, ...] = ()


_STREAM = {
    "BANDWIDTH": Attr(INT, required=True),
    "AVERAGE-BANDWIDTH": Attr(INT),
    "SCORE": Attr(FLOAT),
    "CODECS": Attr(QUOTED),
    "RESOLUTION": Attr(RESOLUTION),
    "HDCP-LEVEL": Attr(ENUM, values=("TYPE-0", "TYPE-1", "NONE")),
    "VIDEO-RANGE": Attr(ENUM, values=("SDR", "HLG", "PQ")),
    "VIDEO": Attr(QUOTED),
    "STABLE-VARIANT-ID": Attr(QUOTED),
    "ALLOWED-CPC": Attr(QUOTED),
    "PATHWAY-ID": Attr(QUOTED),
}
_KEY = {
    "METHOD": Attr(ENUM, required=True, values=("NONE", "AES-128", "SAMPLE-AES", "SAMPLE-AES-CTR")),
    "URI": Attr(QUOTED),
    "IV": Attr(HEX),
    "KEYFORMAT": Attr(QUOTED),
    "KEYFORMATVERSIONS": Attr(QUOTED),
}
ATTRIBUTES: dict[str, tuple[str, dict[str, Attr]]] = {
    "#EXT-X-KEY": ("§4.3.2.4", _KEY),
    "#EXT-X-MAP": ("§4.3.2.5", {"URI": Attr(QUOTED, required=True), "BYTERANGE": Attr(QUOTED)}),
    "#EXT-X-DATERANGE": (
        "§4.3.2.7",
        {
            "ID": Attr(QUOTED, required=True),
            "CLASS": Attr(QUOTED),
            "START-DATE": Attr(DATE),
            "END-DATE": Attr(DATE),
            "DURATION": Attr(FLOAT),
            "PLANNED-DURATION": Attr(FLOAT),
            "SCTE35-CMD": Attr(HEX),
            "SCTE35-OUT": Attr(HEX),
            "SCTE35-IN": Attr(HEX),
            "END-ON-NEXT": Attr(ENUM, values=("YES",)),
        },
    ),
    "#EXT-X-MEDIA": (
        "§4.3.4.1",
        {
            "TYPE": Attr(ENUM, True, ("AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS")),
            "GROUP-ID": Attr(QUOTED, required=True),
            "NAME": Attr(QUOTED, required=True),
            "URI": Attr(QUOTED),
            "LANGUAGE": Attr(QUOTED),
            "ASSOC-LANGUAGE": Attr(QUOTED),
            "DEFAULT": Attr(ENUM, values=YES_NO),
            "AUTOSELECT": Attr(ENUM, values=YES_NO),
            "FORCED": Attr(ENUM, values=YES_NO),
            "INSTREAM-ID": Attr(QUOTED),
            "CHARACTERISTICS": Attr(QUOTED),
            "CHANNELS": Attr(QUOTED),
        },
    ),
    "#EXT-X-STREAM-INF": (
        "§4.3.4.2",
        {
            **_STREAM,
            "FRAME-RATE": Attr(FLOAT),
            "AUDIO": Attr(QUOTED),
            "SUBTITLES": Attr(QUOTED),
        },
    ),
    "#EXT-X-I-FRAME-STREAM-INF": ("§4.3.4.3", {**_STREAM, "URI": Attr(QUOTED, required=True)}),
    "#EXT-X-SESSION-DATA": (
        "§4.3.4.4",
        {
            "DATA-ID": Attr(QUOTED, required=True),
            "VALUE": Attr(QUOTED),
            "URI": Attr(QUOTED),
            "LANGUAGE": Attr(QUOTED),
        },
    ),
    "#EXT-X-SESSION-KEY": ("§4.3.4.5", _KEY),
    "#EXT-X-START": (
        "§4.3.5.2",
        {"TIME-OFFSET": Attr(SIGNED, required=True), "PRECISE": Attr(ENUM, values=YES_NO)},
    ),
    "#EXT-X-PART": (
        "rfc8216bis EXT-X-PART",
        {
            "URI": Attr(QUOTED, required=True),
            "DURATION": Attr(FLOAT, required=True),
            "INDEPENDENT": Attr(ENUM, values=("YES",)),
            "GAP": Attr(ENUM, values=("YES",)),
            "BYTERANGE": Attr(QUOTED),
        },
    ),
    "#EXT-X-PART-INF": ("rfc8216bis EXT-X-PART-INF", {"PART-TARGET": Attr(FLOAT, required=True)}),
    "#EXT-X-SERVER-CONTROL": (
        "rfc8216bis EXT-X-SERVER-CONTROL",
        {
            "CAN-SKIP-UNTIL": Attr(FLOAT),
            "CAN-SKIP-DATERANGES": Attr(ENUM, values=("YES",)),
            "HOLD-BACK": Attr(FLOAT),
            "PART-HOLD-BACK": Attr(FLOAT),
            "CAN-BLOCK-RELOAD": Attr(ENUM, values=("YES",)),
        },
    ),
    "#EXT-X-SKIP": (
        "rfc8216bis EXT-X-SKIP",
        {
            "SKIPPED-SEGMENTS": Attr(INT, required=True),
            "RECENTLY-REMOVED-DATERANGES": Attr(QUOTED),
        },
    ),
    "#EXT-X-PRELOAD-HINT": (
        "rfc8216bis EXT-X-PRELOAD-HINT",
        {
            "TYPE": Attr(QUOTED, required=True),  # PART or MAP; clients skip other types
            "URI": Attr(QUOTED, required=True),
            "BYTERANGE-START": Attr(INT),
            "BYTERANGE-LENGTH": Attr(INT),
        },
    ),
    "#EXT-X-RENDITION-REPORT": (
        "rfc8216bis EXT-X-RENDITION-REPORT",
        {"URI": Attr(QUOTED, required=True), "LAST-MSN": Attr(INT), "LAST-PART": Attr(INT)},
    ),
    "#EXT-X-CONTENT-STEERING": (
        "rfc8216bis EXT-X-CONTENT-STEERING",
        {"SERVER-URI": Attr(QUOTED, required=True), "PATHWAY-ID": Attr(QUOTED)},
    ),
}
"""Tag → (the section defining it, {attribute: rule}). Attributes not listed (``X-…``
client attributes, later additions) are accepted as they are (§4.3.2.7, §6.3.1)."""

MEDIA_TAGS = frozenset(
    {
        "#EXTINF",
        "#EXT-X-TARGETDURATION",
        "#EXT-X-MEDIA-SEQUENCE",
        "#EXT-X-DISCONTINUITY-SEQUENCE",
        "#EXT-X-ENDLIST",
        "#EXT-X-PLAYLIST-TYPE",
        "#EXT-X-I-FRAMES-ONLY",
        "#EXT-X-MAP",
        "#EXT-X-BYTERANGE",
        "#EXT-X-DISCONTINUITY",
        "#EXT-X-PART",
        "#EXT-X-PART-INF",
        "#EXT-X-SKIP",
    }
)
MULTIVARIANT_TAGS = frozenset(
    {
        "#EXT-X-STREAM-INF",
        "#EXT-X-I-FRAME-STREAM-INF",
        "#EXT-X-MEDIA",
        "#EXT-X-SESSION-DATA",
        "#EXT-X-SESSION-KEY",
        "#EXT-X-CONTENT-STEERING",
    }
)
ONCE = frozenset(
    {
        "#EXT-X-VERSION",
        "#EXT-X-TARGETDURATION",
        "#EXT-X-MEDIA-SEQUENCE",
        "#EXT-X-DISCONTINUITY-SEQUENCE",
        "#EXT-X-ENDLIST",
        "#EXT-X-PLAYLIST-TYPE",
        "#EXT-X-I-FRAMES-ONLY",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-START",
        "#EXT-X-PART-INF",
        "#EXT-X-SERVER-CONTROL",
    }
)
"""Tags that may appear once per playlist (§4.3.3, §4.3.5; rfc8216bis for the LL-HLS ones)."""
MODEL_TAGS = frozenset(
    {
        "#EXT-X-VERSION",
        "#EXT-X-TARGETDURATION",
        "#EXT-X-MEDIA-SEQUENCE",
        "#EXT-X-PLAYLIST-TYPE",
        "#EXTINF",
        "#EXT-X-BYTERANGE",
        "#EXT-X-DISCONTINUITY",
        "#EXT-X-MAP",
        "#EXT-X-ENDLIST",
        "#EXT-X-STREAM-INF",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    }
)
"""The tags ``services.hls`` builds its model from; the others are checked and left out."""
