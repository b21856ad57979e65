"""Decode ``splice_info_section`` bytes (SCTE 35 2022 §9.6) into ``SpliceInfo`` (no I/O).

Reads ``splice_insert`` (§9.7.3, component mode without the per-component times),
``time_signal`` (§9.7.4) and the descriptor loop (§10.2) with its CUEI
``segmentation_descriptor`` (§10.3.3); other commands are reported by type. A wrong
``CRC_32`` is reported (``crc_ok``), not raised; encrypted sections (§11) are recognised,
not decrypted.
"""

from __future__ import annotations

from services.scte35.section import (
    CUEI,
    SEGMENTATION_DESCRIPTOR,
    SPLICE_INSERT,
    TABLE_ID,
    TIME_SIGNAL,
    BreakDuration,
    Command,
    Scte35Error,
    SegmentationDescriptor,
    SpliceDescriptor,
    SpliceInfo,
    SpliceInsert,
    TimeSignal,
    crc32_mpeg2,
)

__all__ = ["decode"]


class _BitReader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0  # in bits
        self.what = what

    def get(self, width: int) -> int:
        end = self.pos + width
        if end > len(self.data) * 8:
            raise Scte35Error(f"{self.what} is truncated ({len(self.data)} bytes)")
        value = 0
        for bit in range(self.pos, end):
            value = (value << 1) | ((self.data[bit >> 3] >> (7 - (bit & 7))) & 1)
        self.pos = end
        return value

    def flag(self) -> bool:
        return bool(self.get(1))

    def take(self, count: int) -> bytes:
        if self.pos % 8:
            raise Scte35Error(f"{self.what}: byte field not aligned")
        start = self.pos // 8
        if start + count > len(self.data):
            raise Scte35Error(f"{self.what} is truncated ({len(self.data)} bytes)")
        self.pos += count * 8
        return self.data[start : start + count]

    @property
    def byte_pos(self) -> int:
        return self.pos // 8


def _read_splice_time(reader: _BitReader) -> int | None:
    if reader.flag():
        reader.get(6)
        return reader.get(33)
    reader.get(7)
    return None


def _decode_splice_insert(data: bytes) -> SpliceInsert:
    reader = _BitReader(data, "splice_insert()")
    event_id = reader.get(32)
    cancel = reader.flag()
    reader.get(7)
    if cancel:
        return SpliceInsert(event_id=event_id, cancel=True)
    out_of_network = reader.flag()
    program_splice = reader.flag()
    duration_flag = reader.flag()
    immediate = reader.flag()
    reader.get(4)
    pts_time = None
    component_count = 0
    if program_splice:
        if not immediate:
            pts_time = _read_splice_time(reader)
    else:
        component_count = reader.get(8)
        for _ in range(component_count):
            reader.get(8)  # component_tag
            if not immediate:
                _read_splice_time(reader)
    duration = None
    if duration_flag:
        auto_return = reader.flag()
        reader.get(6)
        duration = BreakDuration(reader.get(33), auto_return)
    return SpliceInsert(
        event_id=event_id,
        out_of_network=out_of_network,
        program_splice=program_splice,
        splice_immediate=immediate,
        pts_time=pts_time,
        duration=duration,
        unique_program_id=reader.get(16),
        avail_num=reader.get(8),
        avails_expected=reader.get(8),
        component_count=component_count,
    )


def _decode_segmentation(data: bytes) -> SegmentationDescriptor:
    """§10.3.3 after the identifier; fields past ``segments_expected`` are not read."""
    reader = _BitReader(data, "segmentation_descriptor()")
    event_id = reader.get(32)
    cancel = reader.flag()
    reader.get(7)
    if cancel:
        return SegmentationDescriptor(event_id=event_id, cancel=True)
    program_segmentation = reader.flag()
    duration_flag = reader.flag()
    reader.get(1)  # delivery_not_restricted_flag
    reader.get(5)  # the delivery restriction flags, or reserved bits
    if not program_segmentation:
        for _ in range(reader.get(8)):
            reader.get(8)
            reader.get(7)
            reader.get(33)
    duration = reader.get(40) if duration_flag else None
    upid_type = reader.get(8)
    upid_length = reader.get(8)
    upid = reader.take(upid_length)
    return SegmentationDescriptor(
        event_id=event_id,
        cancel=False,
        duration_ticks=duration,
        type_id=reader.get(8),
        upid_type=upid_type,
        upid=upid,
        segment_num=reader.get(8),
        segments_expected=reader.get(8),
    )


def _decode_descriptors(data: bytes) -> tuple[SpliceDescriptor, ...]:
    found = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise Scte35Error("descriptor loop is truncated")
        tag, length = data[pos], data[pos + 1]
        body = data[pos + 2 : pos + 2 + length]
        if len(body) != length or length < 4:
            raise Scte35Error(f"descriptor 0x{tag:02X} is truncated or shorter than 4 bytes")
        identifier = int.from_bytes(body[:4], "big")
        segmentation = None
        if tag == SEGMENTATION_DESCRIPTOR and identifier == CUEI:
            segmentation = _decode_segmentation(body[4:])
        found.append(SpliceDescriptor(tag, identifier, body[4:], segmentation))
        pos += 2 + length
    return tuple(found)


def decode(data: bytes) -> SpliceInfo:
    """Decode a ``splice_info_section`` (SCTE 35 §9.6).

    Checks ``table_id`` 0xFC and that ``section_length`` matches the bytes given (3 + length);
    a wrong ``CRC_32`` only sets ``crc_ok`` False. Raises ``Scte35Error`` when the section
    is truncated, too long or not a splice_info_section.
    """
    data = bytes(data)
    if len(data) < 3:
        raise Scte35Error(f"a splice_info_section needs at least 3 bytes, got {len(data)}")
    if data[0] != TABLE_ID:
        raise Scte35Error(f"table_id is 0x{data[0]:02X}, not 0xFC (SCTE 35 §9.6)")
    section_length = ((data[1] & 0x0F) << 8) | data[2]
    if 3 + section_length != len(data):
        raise Scte35Error(
            f"section_length {section_length} says {3 + section_length} bytes, "
            f"got {len(data)} (SCTE 35 §9.6)"
        )
    reader = _BitReader(data, "splice_info_section")
    reader.get(8)
    reader.get(1)
    reader.get(1)
    sap_type = reader.get(2)
    reader.get(12)
    reader.get(8)  # protocol_version
    encrypted = reader.flag()
    reader.get(6)
    pts_adjustment = reader.get(33)
    reader.get(8)
    tier = reader.get(12)
    command_length = reader.get(12)
    command_type = reader.get(8)
    crc_ok = crc32_mpeg2(data) == 0
    if encrypted:
        return SpliceInfo(command_type, None, pts_adjustment, tier, sap_type, True, (), crc_ok)
    if command_length == 0xFFF:
        raise Scte35Error("splice_command_length 0xFFF (legacy unknown length) is not decoded")
    body = reader.take(command_length)
    command: Command = None
    if command_type == SPLICE_INSERT:
        command = _decode_splice_insert(body)
    elif command_type == TIME_SIGNAL:
        command = TimeSignal(_read_splice_time(_BitReader(body, "time_signal()")))
    loop_length = int.from_bytes(reader.take(2), "big")
    loop = reader.take(loop_length)
    if len(data) - reader.byte_pos < 4:
        raise Scte35Error("no room left for CRC_32")
    return SpliceInfo(
        command_type,
        command,
        pts_adjustment,
        tier,
        sap_type,
        False,
        _decode_descriptors(loop),
        crc_ok,
    )
