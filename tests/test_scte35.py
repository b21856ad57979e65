"""SCTE-35 splice_info_section: CRC-32/MPEG-2, encode/decode round trips, and decoding of
real cues written by Elemental and Envivio encoders (from the globocom m3u8 test set)."""

from __future__ import annotations

import pytest

from services import scte35
from services.scte35 import BreakDuration, Scte35Error, SpliceInsert, TimeSignal

# EXT-X-CUE-OUT-CONT SCTE35= of cue_out_elemental_playlist.m3u8 (a 50 s break, event 1)
ELEMENTAL = "/DAlAAAAAAAAAP/wFAUAAAABf+//wpiQkv4ARKogAAEBAQAAQ6sodg=="
# CUE= of cue_out_envivio_playlist.m3u8 (ID=16777323, DURATION=366)
ENVIVIO = "/DAlAAAENOOQAP/wFAUBAABrf+//N25XDf4B9p/gAAEBAQAAxKni9A=="
# EXT-OATCLS-SCTE35 of oatcls_elemental_playlist.m3u8 (time_signal + segmentation descriptor)
OATCLS = "/DAqAAAAAyiYAP/wBQb/FuaKGAAUAhJDVUVJAAAFp3+/EQMCRgIMAQF7Ny4D"


def test_crc32_mpeg2_check_value_and_whole_section_residue():
    assert scte35.crc32_mpeg2(b"123456789") == 0x0376E6E7  # the CRC catalogue's check value
    section = scte35.from_text(ELEMENTAL)
    assert scte35.crc32_mpeg2(section) == 0


def test_decodes_real_splice_inserts_as_their_playlists_describe_them():
    elemental = scte35.decode(scte35.from_text(ELEMENTAL))
    assert elemental.crc_ok and elemental.command_name == "splice_insert"
    assert elemental.event_id == 1 and elemental.out_of_network is True
    assert elemental.duration_seconds == pytest.approx(50.0)  # the tag says Duration=50
    envivio = scte35.decode(scte35.from_text(ENVIVIO))
    assert envivio.event_id == 16777323 and envivio.duration_seconds == pytest.approx(366.0)
    assert envivio.splice_insert.duration.auto_return


def test_decodes_a_time_signal_with_its_segmentation_descriptor():
    info = scte35.decode(scte35.from_text(OATCLS))
    assert info.crc_ok and isinstance(info.command, TimeSignal)
    segmentation = info.descriptors[0].segmentation
    assert info.descriptors[0].identifier == scte35.CUEI
    assert segmentation.event_id == 1447 == info.event_id
    assert segmentation.segments_expected == 1


@pytest.mark.parametrize("duration", [0.5, 30.0, 599.999])
def test_cue_out_round_trip_keeps_event_duration_and_pts(duration):
    section = scte35.cue_out(0xDEADBEEF, duration, pts_time=(1 << 33) - 1)
    info = scte35.decode(section)
    assert info.crc_ok and info.sap_type == 3
    insert = info.splice_insert
    assert insert.event_id == 0xDEADBEEF and insert.out_of_network
    assert insert.pts_time == (1 << 33) - 1 and not insert.splice_immediate
    assert insert.duration == BreakDuration(scte35.seconds_to_ticks(duration), True)
    assert scte35.decode(scte35.from_text(scte35.to_hex(section))) == info
    assert scte35.decode(scte35.from_text(scte35.to_base64(section))) == info


def test_cue_in_is_a_return_without_duration():
    info = scte35.decode(scte35.cue_in(7))
    assert info.out_of_network is False and info.splice_insert.duration is None
    assert info.splice_insert.splice_immediate


def test_time_signal_and_splice_null_encode():
    assert scte35.decode(scte35.encode(TimeSignal(90_000))).command == TimeSignal(90_000)
    assert scte35.decode(scte35.encode(None)).command_name == "splice_null"


def test_bad_sections_raise_scte35_error_and_a_bad_crc_is_flagged():
    section = bytearray(scte35.cue_out(5, 10.0))
    with pytest.raises(Scte35Error, match="table_id"):
        scte35.decode(b"\x00" + bytes(section[1:]))
    with pytest.raises(Scte35Error, match="section_length"):
        scte35.decode(bytes(section[:-1]))
    with pytest.raises(Scte35Error):
        scte35.decode(b"\xfc")
    section[-1] ^= 0xFF
    assert scte35.decode(bytes(section)).crc_ok is False
    with pytest.raises(Scte35Error):
        scte35.encode(SpliceInsert(event_id=1 << 32))
    with pytest.raises(Scte35Error):
        scte35.from_text("0xFCINVALID")
