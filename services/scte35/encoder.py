"""Build ``splice_info_section`` bytes (SCTE 35 2022 §9.6): ``encode`` any supported
command, ``cue_out``/``cue_in`` for the splice_insert pair of one ad break (no I/O).

The section is written with no descriptors, unencrypted, ``sap_type`` 3 (not specified),
program splice mode only, and ends with its CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A).
Fields are written most significant bit first at the widths of Tables 5, 9 and 14.
"""

from __future__ import annotations

from services.scte35.section import (
    PTS_MODULO,
    SPLICE_INSERT,
    SPLICE_NULL,
    TABLE_ID,
    TIME_SIGNAL,
    BreakDuration,
    Scte35Error,
    SpliceInsert,
    TimeSignal,
    crc32_mpeg2,
    seconds_to_ticks,
)

__all__ = ["cue_in", "cue_out", "encode"]


class _BitWriter:
    def __init__(self) -> None:
        self.value = 0
        self.bits = 0

    def put(self, value: int, width: int) -> None:
        if value < 0 or value >= 1 << width:
            raise Scte35Error(f"value {value} does not fit in {width} bits")
        self.value = (self.value << width) | value
        self.bits += width

    def to_bytes(self) -> bytes:
        if self.bits % 8:
            raise Scte35Error("internal: field widths do not add up to whole bytes")
        return self.value.to_bytes(self.bits // 8, "big")


def _splice_time(writer: _BitWriter, pts_time: int | None) -> None:
    """§9.8.1: time_specified_flag, then 6 reserved bits + 33-bit pts_time, or 7 reserved."""
    if pts_time is None:
        writer.put(0, 1)
        writer.put(0x7F, 7)
    else:
        writer.put(1, 1)
        writer.put(0x3F, 6)
        writer.put(pts_time % PTS_MODULO, 33)


def _encode_splice_insert(command: SpliceInsert) -> bytes:
    if not command.program_splice:
        raise Scte35Error("only program splice mode is encoded (program_splice_flag = 1)")
    writer = _BitWriter()
    writer.put(command.event_id, 32)
    writer.put(int(command.cancel), 1)
    writer.put(0x7F, 7)
    if not command.cancel:
        writer.put(int(command.out_of_network), 1)
        writer.put(1, 1)  # program_splice_flag
        writer.put(int(command.duration is not None), 1)
        writer.put(int(command.splice_immediate), 1)
        writer.put(1, 1)  # event_id_compliance_flag (2022): the id follows §9.7.3.1
        writer.put(0x7, 3)
        if not command.splice_immediate:
            _splice_time(writer, command.pts_time)
        if command.duration is not None:
            writer.put(int(command.duration.auto_return), 1)
            writer.put(0x3F, 6)
            writer.put(command.duration.ticks, 33)
        writer.put(command.unique_program_id, 16)
        writer.put(command.avail_num, 8)
        writer.put(command.avails_expected, 8)
    return writer.to_bytes()


def encode(
    command: SpliceInsert | TimeSignal | None,
    *,
    pts_adjustment: int = 0,
    tier: int = 0xFFF,
) -> bytes:
    """The ``splice_info_section`` bytes carrying ``command`` (None = splice_null), with no
    descriptors, unencrypted, ``sap_type`` 3 (not specified) and its CRC-32/MPEG-2.

    Raises ``Scte35Error`` when a field does not fit its width (e.g. an event id ≥ 2**32)
    or for a component-mode splice_insert.
    """
    if isinstance(command, SpliceInsert):
        command_type, body = SPLICE_INSERT, _encode_splice_insert(command)
    elif isinstance(command, TimeSignal):
        writer = _BitWriter()
        _splice_time(writer, command.pts_time)
        command_type, body = TIME_SIGNAL, writer.to_bytes()
    elif command is None:
        command_type, body = SPLICE_NULL, b""
    else:
        raise Scte35Error(f"cannot encode {type(command).__name__}")
    after_length = _BitWriter()
    after_length.put(0, 8)  # protocol_version
    after_length.put(0, 1)  # encrypted_packet
    after_length.put(0, 6)  # encryption_algorithm
    after_length.put(pts_adjustment % PTS_MODULO, 33)
    after_length.put(0, 8)  # cw_index
    after_length.put(tier, 12)
    after_length.put(len(body), 12)  # splice_command_length
    after_length.put(command_type, 8)
    rest = after_length.to_bytes() + body + b"\x00\x00"  # descriptor_loop_length = 0
    section_length = len(rest) + 4  # + CRC_32
    head = _BitWriter()
    head.put(TABLE_ID, 8)
    head.put(0, 1)  # section_syntax_indicator
    head.put(0, 1)  # private_indicator
    head.put(3, 2)  # sap_type: not specified
    head.put(section_length, 12)
    section = head.to_bytes() + rest
    return section + crc32_mpeg2(section).to_bytes(4, "big")


def cue_out(event_id: int, duration_s: float, *, pts_time: int | None = None) -> bytes:
    """A splice_insert cue out (``out_of_network`` = 1, ``auto_return``, ``break_duration``
    of ``duration_s`` seconds) for ``event_id``; immediate when ``pts_time`` is None."""
    return encode(
        SpliceInsert(
            event_id=event_id,
            out_of_network=True,
            splice_immediate=pts_time is None,
            pts_time=pts_time,
            duration=BreakDuration(seconds_to_ticks(duration_s), auto_return=True),
            avail_num=1,
            avails_expected=1,
        )
    )


def cue_in(event_id: int, *, pts_time: int | None = None) -> bytes:
    """The matching return to network: a splice_insert with ``out_of_network`` = 0."""
    return encode(
        SpliceInsert(
            event_id=event_id,
            out_of_network=False,
            splice_immediate=pts_time is None,
            pts_time=pts_time,
            avail_num=1,
            avails_expected=1,
        )
    )
