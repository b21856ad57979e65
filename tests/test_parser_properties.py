"""Property-based tests (Hypothesis) of every reader of outside input: ``parse_playlist``,
``parse_cues`` + ``ad_breaks()``, ``scte35.decode`` / ``from_text`` and the ledger reader.

Inputs are any bytes and mutations of the real third-party playlists in ``../shared/hls``
(truncation, NUL bytes, swapped lines, extreme numbers, 10 MB lines, UTF-16 / BOM / CRLF).
The property: each reader returns or raises its documented error type (``PlaylistError``,
``Scte35Error``, ``LedgerError``), nothing else, within ``PER_INPUT_S`` seconds. Example
counts are bounded and ``derandomize=True`` makes every run draw the same examples, so CI is
reproducible; ``test_playlist_readers_are_linear`` checks 100k segments cost about ten times
10k (a quadratic reader would cost a hundred times).
"""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import scte35
from services.abr.ledger import LedgerDocument, LedgerError, LedgerObject, PackagedRendition
from services.cue_tags import parse_cues
from services.errors import PlaylistError
from services.hls import parse_playlist
from tests.conftest import SHARED

PER_INPUT_S = 5.0
"""Per-input time bound (s): generous for a loaded 2-core machine; a reader that
misbehaves on one input (quadratic scan, catastrophic regex) takes minutes."""
BOUNDED = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_CORPUS_DIRS = ("globocom-m3u8_tests", "m3u8-parser_npm_7.2.0")
CORPUS = sorted(
    p.read_bytes() for d in _CORPUS_DIRS for p in (SHARED / "hls" / d).glob("*.m3u8")
) or [b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXT-X-ENDLIST\n"]
EXTREME_NUMBERS = ["9" * 5000, str(2**64), "18446744073709551615", "-1", "inf", "nan",
                   "1e400", "0." + "0" * 60 + "1", "4294967296.5", ""]  # fmt: skip


def _read_all(data: bytes | str) -> None:
    """Run both playlist readers; only ``PlaylistError`` may escape, in time."""
    started = time.perf_counter()
    for reader in (parse_playlist, parse_cues):
        try:
            result = reader(data)
            if reader is parse_cues:
                result.ad_breaks()
        except PlaylistError:
            pass
    assert time.perf_counter() - started < PER_INPUT_S


@st.composite
def mutated_playlists(draw) -> bytes:
    """A real playlist with one to four mutations of the kinds real downloads and encoders
    produce."""
    data = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "nul", "swap", "number", "byte", "crlf", "bom"]))
        lines = data.split(b"\n")
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "nul":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + b"\x00" + data[at:]
        elif kind == "swap" and len(lines) > 2:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif kind == "number":
            i = draw(st.integers(0, len(lines) - 1))
            number = draw(st.sampled_from(EXTREME_NUMBERS)).encode()
            lines[i] = _replace_first_number(lines[i], number)
            data = b"\n".join(lines)
        elif kind == "byte" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
    return data


def _replace_first_number(line: bytes, number: bytes) -> bytes:
    for i, byte in enumerate(line):
        if 48 <= byte <= 57:
            j = i
            while j < len(line) and (48 <= line[j] <= 57 or line[j] == 46):
                j += 1
            return line[:i] + number + line[j:]
    return line + b":" + number


@BOUNDED
@given(st.binary(max_size=4096))
def test_playlist_readers_on_any_bytes(data):
    _read_all(data)
    _read_all(b"#EXTM3U\n" + data)


@BOUNDED
@given(st.text(max_size=2000))
def test_playlist_readers_on_any_text(text):
    _read_all(text)
    _read_all("#EXTM3U\n#EXT-X-TARGETDURATION:10\n" + text)


@settings(BOUNDED, max_examples=1500)
@given(mutated_playlists())
def test_playlist_readers_on_mutated_real_playlists(data):
    _read_all(data)


@settings(BOUNDED, max_examples=20)
@given(st.sampled_from(CORPUS), st.sampled_from(["utf-16", "utf-16-le", "utf-32"]))
def test_playlist_readers_on_other_encodings(data, encoding):
    text = data.decode("utf-8", errors="replace")
    _read_all(text.encode(encoding))


LONG_LINE_PREFIXES = [
    "#EXTINF:",
    "#EXT-X-DATERANGE:ID=",
    "",
    "#EXT-X-CUE-OUT-CONT:",
    "#EXT-X-MAP:URI=",
]


@settings(BOUNDED, max_examples=6)
@given(
    st.sampled_from(CORPUS),
    st.sampled_from(LONG_LINE_PREFIXES),
    st.sampled_from([b"9", b"a", b'"', b","]),
)
def test_playlist_readers_on_a_10_mb_line(data, prefix, filler):
    lines = data.split(b"\n")
    at = len(lines) // 2
    lines.insert(at, prefix.encode() + filler * (10 * 1024 * 1024))
    _read_all(b"\n".join(lines))


@BOUNDED
@given(st.binary(max_size=512))
def test_scte35_decode_on_any_bytes(data):
    for candidate in (data, b"\xfc" + data):
        try:
            scte35.decode(candidate)
        except scte35.Scte35Error:
            pass


@BOUNDED
@given(st.text(max_size=300))
def test_scte35_from_text_on_any_text(text):
    try:
        scte35.from_text(text)
    except scte35.Scte35Error:
        pass


@BOUNDED
@given(
    st.integers(0, 2**32 - 1),
    st.floats(0.5, 3600.0, allow_nan=False),
    st.integers(0, 2**33 - 1),
)
def test_scte35_text_forms_round_trip(event_id, duration_s, pts_time):
    section = scte35.cue_out(event_id, duration_s, pts_time=pts_time)
    forms = [
        scte35.to_hex(section),
        section.hex(),
        scte35.to_base64(section),
        scte35.to_base64(section).rstrip("="),
    ]
    for form in forms:
        assert scte35.from_text(form) == section
    decoded = scte35.decode(section)
    assert decoded.event_id == event_id


def _ledger_sample() -> bytes:
    """A valid two-rung schema-1 ledger, as the backfill writes it."""
    rows = tuple(
        PackagedRendition(
            game_id="g",
            rung=rung,
            ladder_name="sports-v1",
            ladder_version=1,
            encoder_settings={"preset": "veryfast", "g": 96},
            ffmpeg_version="7.0.2",
            source_key="games/g/v1.m3u8",
            source_sha256="a" * 64,
            created_at="2026-12-03T00:00:00Z",
            job_id="j1",
            playlist=f"games/g/{rung}/index.m3u8",
            width=width,
            height=height,
            frame_rate=24.0,
            codecs="avc1.64001f,mp4a.40.2",
            bandwidth=width * 2000,
            average_bandwidth=width * 1800,
            objects=(LedgerObject(f"games/g/{rung}/init.mp4", 900, "b" * 64),),
        )
        for rung, width, height in (("720p", 1280, 720), ("360p", 640, 360))
    )
    document = LedgerDocument("g", "j1", "2026-12-03T00:00:00Z", "sports-v1", 1, rows, ())
    return document.to_bytes()


LEDGER = _ledger_sample()


@BOUNDED
@given(
    st.one_of(st.binary(max_size=2048), st.from_regex(r"\{.*\}", fullmatch=True).map(str.encode))
)
def test_ledger_reader_on_any_bytes(data):
    try:
        LedgerDocument.from_bytes(data, "games/g/renditions.json")
    except LedgerError:
        pass


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


def test_the_ledger_sample_is_valid():
    assert LedgerDocument.from_bytes(LEDGER, "games/g/renditions.json").rungs == ["720p", "360p"]


@BOUNDED
@given(st.data())
def test_ledger_reader_on_mutated_ledgers(data):
    document = json.loads(LEDGER)
    paths = list(_paths(document))
    path = data.draw(st.sampled_from(paths)) if paths else ()
    _set(document, path, data.draw(JSON_VALUES))
    try:
        LedgerDocument.from_bytes(json.dumps(document).encode(), "games/g/renditions.json")
    except LedgerError:
        pass


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _set(node, path, value):
    if not path:
        return
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _media_playlist(segments: int) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:4", '#EXT-X-MAP:URI="init.mp4"']
    lines.append("#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z")
    for n in range(segments):
        if n % 50 == 10:
            lines.append(f"#EXT-X-CUE-OUT:{12.0}")
        if n % 50 == 13:
            lines.append("#EXT-X-CUE-IN")
        lines += ["#EXTINF:4.000,", f"seg_{n:06d}.m4s"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _best_of(runs: int, text: str) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        parse_playlist(text)
        parse_cues(text).ad_breaks()
        best = min(best, time.perf_counter() - started)
    return best


def test_playlist_readers_are_linear():
    """100k segments (a 111-hour game at 4 s) against 10k: about 10x, well under 30x."""
    small, large = _media_playlist(10_000), _media_playlist(100_000)
    ratio = _best_of(3, large) / _best_of(3, small)
    assert ratio < 30, f"100k segments cost {ratio:.1f}x 10k segments"
