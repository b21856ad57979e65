"""Cue tags of real playlists (globocom m3u8 test set: Elemental, Envivio, MediaConvert,
RFC 8216 §8.10 DATERANGE, OATCLS) and malformed input: only PlaylistError escapes."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from services.cue_tags import parse_cues
from services.errors import PlaylistError


def _read(shared_dir, name: str) -> str:
    return (shared_dir / "hls" / "globocom-m3u8_tests" / name).read_text(encoding="utf-8")


def test_elemental_cue_out_cont_and_oatcls(shared_dir):
    playlist = parse_cues(_read(shared_dir, "cue_out_elemental_playlist.m3u8"))
    assert playlist.media_sequence == 47224 and playlist.target_duration == 10
    (span,) = playlist.ad_breaks()
    assert span.style == "cue-out" and span.id == "1"  # from the SCTE-35 splice_event_id
    assert (span.out_sequence, span.in_sequence) == (47227, 47233)
    assert span.planned_duration == 50.0 and span.splice_out.duration_seconds == 50.0
    conts = [m for m in playlist.markers if m.kind == "cue-out-cont"]
    assert [m.elapsed for m in conts] == [7.96, 17.96, 27.96, 37.96, 47.96]
    assert {m.splice.event_id for m in conts} == {1}


def test_envivio_cue_with_id_and_spans(shared_dir):
    (span,) = parse_cues(_read(shared_dir, "cue_out_envivio_playlist.m3u8")).ad_breaks()
    assert span.id == "16777323" and span.planned_duration == 366.0
    assert span.splice_out.event_id == 16777323
    assert (span.out_sequence, span.in_sequence) == (399706, 399710)


def test_mediaconvert_elapsed_over_duration(shared_dir):
    playlist = parse_cues(_read(shared_dir, "cue_out_mediaconvert_playlist.m3u8"))
    (span,) = playlist.ad_breaks()
    assert (span.out_sequence, span.in_sequence, span.planned_duration) == (2, 5, 4.0)
    cont = next(m for m in playlist.markers if m.kind == "cue-out-cont")
    assert (cont.elapsed, cont.duration) == (10.0, 4.0)


def test_joined_mid_break_dates_the_start_from_program_date_time(shared_dir):
    playlist = parse_cues(_read(shared_dir, "cue_out_playlist.m3u8"))
    (span,) = playlist.ad_breaks()
    assert span.out_sequence is None and span.in_sequence == 143474334
    assert span.start == datetime(2015, 6, 18, 23, 22, 20, tzinfo=UTC)
    oatcls = next(m for m in playlist.markers if m.kind == "oatcls")
    assert oatcls.splice.command_name == "time_signal"


def test_rfc_8216_daterange_example_keeps_its_undecodable_scte35(shared_dir):
    playlist = parse_cues(_read(shared_dir, "daterange_scte35_out_and_in_playlist.m3u8"))
    (span,) = playlist.ad_breaks()
    assert span.id == "splice-6FFFFFF0" and span.style == "daterange"
    assert (span.out_sequence, span.in_sequence) == (0, 6)
    assert span.planned_duration == 59.993 and span.duration == 59.993
    out = playlist.markers[0]
    assert out.scte35_role == "out" and out.splice is None
    assert "section_length" in out.splice_error  # the RFC's sample is one byte short


def test_cue_out_durations_in_every_spelling(shared_dir):
    for name in (
        "cue_out_with_duration_playlist.m3u8",
        "cue_out_with_explicit_duration_playlist.m3u8",
        "cue_out_with_duration_key_playlist.m3u8",
    ):
        (span,) = parse_cues(_read(shared_dir, name)).ad_breaks()
        assert (span.planned_duration, span.out_sequence, span.in_sequence) == (11.52, 0, 2)
    (span,) = parse_cues(_read(shared_dir, "cue_out_no_duration_playlist.m3u8")).ad_breaks()
    assert span.planned_duration is None and span.in_sequence == 2
    cont = parse_cues(_read(shared_dir, "cue_out_cont_alt_playlist.m3u8"))
    assert cont.ad_breaks()[0].planned_duration == 119.987
    assert cont.discontinuity_sequence == 1


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("cue_out_invalid_playlist.m3u8", 3, "CUE-OUT"),
        ("daterange_enddate_sctecmd_playlist.m3u8", 4, "SCTE35-CMD"),
    ],
)
def test_malformed_cues_name_the_line(shared_dir, name, line, words):
    with pytest.raises(PlaylistError) as err:
        parse_cues(_read(shared_dir, name), name)
    assert err.value.line == line and words in str(err.value) and name in str(err.value)


def test_every_globocom_playlist_parses_or_raises_playlist_error(shared_dir):
    parsed = 0
    for path in sorted((shared_dir / "hls" / "globocom-m3u8_tests").rglob("*.m3u8")):
        try:
            parse_cues(path.read_bytes(), path.name)
            parsed += 1
        except PlaylistError:
            pass
    assert parsed > 50


def test_garbled_ad_playlists_only_raise_playlist_error(shared_dir):
    rng = random.Random(8216)
    texts = [
        _read(shared_dir, n)
        for n in (
            "cue_out_elemental_playlist.m3u8",
            "daterange_scte35_out_and_in_playlist.m3u8",
            "cue_out_envivio_playlist.m3u8",
        )
    ]
    for _ in range(300):
        text = list(rng.choice(texts))
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(text))
            text[position] = rng.choice('=,"/:#0x\n-9AZ ')
        try:
            parse_cues("".join(text))
        except PlaylistError:
            pass


def test_structure_errors():
    with pytest.raises(PlaylistError, match="EXTM3U"):
        parse_cues("#EXTINF:2,\na.ts\n")
    with pytest.raises(PlaylistError, match="multivariant"):
        parse_cues("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n")
    with pytest.raises(PlaylistError, match="no EXTINF"):
        parse_cues("#EXTM3U\na.ts\n")
    with pytest.raises(PlaylistError, match="without ID"):
        parse_cues('#EXTM3U\n#EXT-X-DATERANGE:START-DATE="2020-01-01T00:00:00Z"\n')
    with pytest.raises(PlaylistError, match="not UTF-8"):
        parse_cues(b"#EXTM3U\n\xff\n")
