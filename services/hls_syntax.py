"""The lexical layer of HLS playlists (RFC 8216 §4.1, §4.2), shared by every reader.

One place turns playlist text into lines and attribute values into numbers, so the
playlist model (``services.hls``), the tag checks (``services.hls_rules``) and the cue reader
(``services.cue_tags``) accept and refuse the same things. Every reader raises
``PlaylistError`` with the 1-based line and the rule it applies, in the operator's words;
nothing else escapes (no ``ValueError`` from ``int()``, no ``OverflowError`` from a float).

Bounds: a decimal-integer is 0…2^64−1 (§4.2); a decimal-floating-point is finite and at most
``MAX_NUMBER_CHARS`` characters (a longer number is not a duration any encoder writes, and
refusing it keeps every reader linear in the input).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from services.errors import PlaylistError

MAX_DECIMAL_INTEGER = 2**64 - 1
"""The largest decimal-integer of RFC 8216 §4.2."""
MAX_NUMBER_CHARS = 64
"""The longest number text read (characters); longer ones are refused."""

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAK = re.compile(r"\r?\n")
_LONE_CR = re.compile(r"\r(?!\n)")
_ATTRIBUTE = re.compile(r'\s*([A-Za-z0-9_-]+)=("[^"\r\n]*"|[^",]*)\s*(?:,|$)')
_INTEGER = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]+(?:\.[0-9]*)?")
_SIGNED_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]*)?")
_RESOLUTION = re.compile(r"([0-9]+)x([0-9]+)")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]+")


class AttributeValue(str):
    """An attribute value of an attribute-list (RFC 8216 §4.2), unquoted, with ``quoted``
    telling whether it was written as a quoted-string."""

    quoted: bool

    def __new__(cls, text: str, quoted: bool) -> AttributeValue:
        value = super().__new__(cls, text)
        value.quoted = quoted
        return value


def playlist_lines(text: str, uri: str | None) -> list[str]:
    """The lines of a playlist (LF or CR LF endings, RFC 8216 §4.1), a leading byte-order mark
    dropped. Raises ``PlaylistError`` (with the line) for a control character other than CR/LF
    (U+0000–U+001F, U+007F–U+009F; §4.1) or a Unicode line/paragraph separator, which some
    readers would take as a line break and others not. TAB is read as white space: encoders
    write it after EXTINF titles, and draft-pantos-hls-rfc8216bis §4.4.5.2 uses it to separate
    RECENTLY-REMOVED-DATERANGES."""
    text = text.removeprefix("\ufeff")
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise PlaylistError(
            f"contains the control character U+{ord(bad.group()):04X}; a playlist is text "
            "without control characters other than line breaks (RFC 8216 §4.1)",
            uri=uri,
            line=line,
        )
    lone = _LONE_CR.search(text)
    if lone is not None:
        raise PlaylistError(
            "has a carriage return that does not end a line; lines end with LF or CR LF "
            "(RFC 8216 §4.1)",
            uri=uri,
            line=text.count("\n", 0, lone.start()) + 1,
        )
    return _LINE_BREAK.split(text)


def decode_text(data: str | bytes, uri: str | None) -> str:
    """Playlist bytes as text. Raises ``PlaylistError`` when they are not UTF-8 (RFC 8216
    §4.1), naming UTF-16 when its byte-order mark is there."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (it is UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise PlaylistError(
            f"is not UTF-8 text{hint}, byte {exc.start}; playlists are UTF-8 (RFC 8216 §4.1)",
            uri=uri,
        ) from None


def split_tag(line: str) -> tuple[str, str | None]:
    """``"#EXT-X-MAP:URI=…"`` → ``("#EXT-X-MAP", "URI=…")``; ``"#EXT-X-ENDLIST"`` →
    ``("#EXT-X-ENDLIST", None)``."""
    name, sep, value = line.partition(":")
    return name, value if sep else None


def attribute_list(text: str, line: int, uri: str | None) -> dict[str, AttributeValue]:
    """An attribute-list (RFC 8216 §4.2) → ``{NAME: value}``, quoted-strings unquoted.

    Attribute names are upper case letters, digits and ``-``; a name may occur once. Vendor
    tags written with lower-case names (``SpliceType=``, ``ElapsedTime=``) are read too and
    their names upper-cased. Raises ``PlaylistError`` otherwise."""
    found: dict[str, AttributeValue] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _ATTRIBUTE.match(text, pos)
        if match is None or match.end() == pos:
            raise PlaylistError(
                f"malformed attribute list near {text[pos : pos + 30]!r}: expected "
                "NAME=value pairs separated by commas (RFC 8216 §4.2)",
                uri=uri,
                line=line,
            )
        name, raw = match.group(1).upper(), match.group(2)
        if name in found:
            raise PlaylistError(
                f"attribute {name} appears twice in one attribute list (RFC 8216 §4.2)",
                uri=uri,
                line=line,
            )
        quoted = raw.startswith('"')
        found[name] = AttributeValue(raw[1:-1] if quoted else raw.strip(), quoted)
        pos = match.end()
    return found


def _too_long(value: str, what: str, line: int, uri: str | None) -> None:
    if len(value) > MAX_NUMBER_CHARS:
        raise PlaylistError(
            f"{what} is a number of {len(value)} digits; no encoder writes one longer than "
            f"{MAX_NUMBER_CHARS} (RFC 8216 §4.2 numbers are 64-bit)",
            uri=uri,
            line=line,
        )


def decimal_integer(value: str, what: str, line: int, uri: str | None) -> int:
    """A decimal-integer (RFC 8216 §4.2): digits only, 0…2^64−1. Raises ``PlaylistError``."""
    value = value.strip()
    if not _INTEGER.fullmatch(value):
        raise PlaylistError(
            f"{what} must be a non-negative integer, got {value[:30]!r} (RFC 8216 §4.2)",
            uri=uri,
            line=line,
        )
    _too_long(value, what, line, uri)
    number = int(value)
    if number > MAX_DECIMAL_INTEGER:
        raise PlaylistError(
            f"{what} {value} is larger than 2^64-1, the largest decimal-integer (RFC 8216 §4.2)",
            uri=uri,
            line=line,
        )
    return number


def decimal_float(
    value: str, what: str, line: int, uri: str | None, *, signed: bool = False
) -> float:
    """A decimal-floating-point (or, with ``signed``, a signed-decimal-floating-point) of
    RFC 8216 §4.2, as a finite float. Raises ``PlaylistError`` for anything else (``inf``,
    ``nan``, exponents, a number longer than ``MAX_NUMBER_CHARS``)."""
    value = value.strip()
    pattern = _SIGNED_FLOAT if signed else _FLOAT
    if not pattern.fullmatch(value):
        kind = "a decimal number" if signed else "a non-negative decimal number"
        raise PlaylistError(
            f"{what} must be {kind}, got {value[:30]!r} (RFC 8216 §4.2)", uri=uri, line=line
        )
    _too_long(value, what, line, uri)
    number = float(value)
    if not math.isfinite(number):
        raise PlaylistError(f"{what} {value} is too large", uri=uri, line=line)
    return number


def rounded_half_up(value: str) -> int:
    """A decimal number rounded to the nearest integer, halves up, as RFC 8216 §4.3.3.1
    compares an EXTINF with the target duration (10.5 → 11, 11.5 → 12). ``value`` must have
    passed ``decimal_float``."""
    return int(Decimal(value.strip()).to_integral_value(rounding=ROUND_HALF_UP))


def resolution(value: str, what: str, line: int, uri: str | None) -> tuple[int, int]:
    """A decimal-resolution ``WIDTHxHEIGHT`` (RFC 8216 §4.2) in pixels. Raises
    ``PlaylistError``."""
    match = _RESOLUTION.fullmatch(value.strip())
    if match is None:
        raise PlaylistError(
            f"{what} must be WIDTHxHEIGHT, got {value[:30]!r} (RFC 8216 §4.2)", uri=uri, line=line
        )
    return (
        decimal_integer(match.group(1), f"{what} width", line, uri),
        decimal_integer(match.group(2), f"{what} height", line, uri),
    )


def hexadecimal_sequence(value: str, what: str, line: int, uri: str | None) -> str:
    """A hexadecimal-sequence ``0x…`` (RFC 8216 §4.2). Raises ``PlaylistError``."""
    if not _HEX.fullmatch(value.strip()):
        raise PlaylistError(
            f"{what} must be a hexadecimal-sequence 0x… (RFC 8216 §4.2)", uri=uri, line=line
        )
    return value.strip()


def program_date(value: str, what: str, line: int, uri: str | None) -> datetime:
    """An ISO-8601 date with time (RFC 8216 §4.3.2.6, §4.3.2.7), as an aware datetime (UTC
    when the text has no offset). Raises ``PlaylistError``."""
    text = value.strip().strip('"')
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PlaylistError(
            f"{what} {text[:40]!r} is not an ISO-8601 date and time (RFC 8216 §4.3.2.6)",
            uri=uri,
            line=line,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
