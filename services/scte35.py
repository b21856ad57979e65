"""SCTE-35 splice information: encode and decode ``splice_info_section`` (no Qt, no I/O).

Section numbers refer to ANSI/SCTE 35 2022 ("Digital Program Insertion Cueing Message"):

- §9.6 ``splice_info_section`` (Table 5): ``table_id`` 0xFC, ``section_length``,
  ``pts_adjustment`` (33 bits), ``tier``, the splice command, the descriptor loop and a
  ``CRC_32`` computed as in ISO/IEC 13818-1 Annex A (CRC-32/MPEG-2: polynomial 0x04C11DB7,
  initial value 0xFFFFFFFF, no reflection, no final XOR) over the whole section.
- §9.7.1 ``splice_null``, §9.7.3 ``splice_insert`` (Table 9), §9.7.4 ``time_signal``.
- §9.8.1 ``splice_time()`` (Table 14): a 33-bit PTS in 90 kHz ticks when specified.
- §9.8.2 ``break_duration()`` (Table 15): ``auto_return`` and a 33-bit duration in 90 kHz ticks.
- §10.2 splice descriptors (tag, length, ``identifier`` "CUEI"), §10.3.3
  ``segmentation_descriptor`` (Table 22), the common carrier of ``time_signal`` cues.

HLS carries these bytes as a hexadecimal-sequence in ``EXT-X-DATERANGE`` ``SCTE35-OUT`` /
``SCTE35-IN`` / ``SCTE35-CMD`` (RFC 8216 §4.3.2.7.1) and as base64 in the vendor tags
``EXT-X-CUE-OUT-CONT: …SCTE35=`` and ``EXT-OATCLS-SCTE35`` (Elemental). ``from_text`` reads
both. Encrypted sections (§11) are recognised and reported, not decrypted.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

TABLE_ID = 0xFC
TICKS_PER_SECOND = 90_000
"""SCTE 35 times (``pts_time``, ``break_duration``) count ticks of a 90 kHz clock."""

PTS_MODULO = 1 << 33
SPLICE_NULL = 0x00
SPLICE_INSERT = 0x05
TIME_SIGNAL = 0x06
SEGMENTATION_DESCRIPTOR = 0x02
CUEI = 0x43554549  # "CUEI", SCTE 35 §10.2 identifier

COMMAND_NAMES = {
    0x00: "splice_null",
    0x04: "splice_schedule",
    0x05: "splice_insert",
    0x06: "time_signal",
    0x07: "bandwidth_reservation",
    0xFF: "private_command",
}


class Scte35Error(ValueError):
    """The bytes are not a valid ``splice_info_section``; ``str(err)`` says which rule."""


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 of ``data`` (ISO/IEC 13818-1 Annex A, as SCTE 35 §9.6 requires).

    ``crc32_mpeg2(b"123456789") == 0x0376E6E7``; a whole section including its own
    ``CRC_32`` field gives 0.
    """
    crc = 0xFFFFFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def seconds_to_ticks(seconds: float) -> int:
    """Seconds → 90 kHz ticks (rounded), as ``break_duration``/``pts_time`` count them."""
    return round(seconds * TICKS_PER_SECOND)


def ticks_to_seconds(ticks: int) -> float:
    """90 kHz ticks → seconds."""
    return ticks / TICKS_PER_SECOND


@dataclass(frozen=True)
class BreakDuration:
    """``break_duration()`` (SCTE 35 §9.8.2): ``ticks`` at 90 kHz (33 bits); ``auto_return``
    means the splicer returns to the network by itself when the duration elapses."""

    ticks: int
    auto_return: bool = True

    @property
    def seconds(self) -> float:
        return ticks_to_seconds(self.ticks)


@dataclass(frozen=True)
class SpliceInsert:
    """``splice_insert()`` (SCTE 35 §9.7.3), program splice mode only (component mode is
    decoded as ``component_count`` without the per-component times).

    ``event_id`` is ``splice_event_id`` (32 bits); ``out_of_network`` is True for a cue out
    (into the break) and False for the return; ``pts_time`` the splice point in 90 kHz ticks
    (None with ``splice_immediate``); ``duration`` the break duration when signalled;
    ``unique_program_id``/``avail_num``/``avails_expected`` as in Table 9.
    """

    event_id: int
    cancel: bool = False
    out_of_network: bool = True
    program_splice: bool = True
    splice_immediate: bool = False
    pts_time: int | None = None
    duration: BreakDuration | None = None
    unique_program_id: int = 0
    avail_num: int = 0
    avails_expected: int = 0
    component_count: int = 0


@dataclass(frozen=True)
class TimeSignal:
    """``time_signal()`` (SCTE 35 §9.7.4): ``pts_time`` in 90 kHz ticks, None when not
    specified (immediate)."""

    pts_time: int | None


@dataclass(frozen=True)
class SegmentationDescriptor:
    """The fields of ``segmentation_descriptor()`` (SCTE 35 §10.3.3, Table 22) an operator
    reads: ``event_id`` (``segmentation_event_id``), ``cancel``, ``duration_ticks`` (90 kHz,
    None when absent), ``type_id`` (``segmentation_type_id``, e.g. 0x30/0x34 provider
    advertisement / placement opportunity start), ``upid_type`` and ``upid`` bytes,
    ``segment_num``/``segments_expected``."""

    event_id: int
    cancel: bool
    duration_ticks: int | None = None
    type_id: int | None = None
    upid_type: int | None = None
    upid: bytes = b""
    segment_num: int | None = None
    segments_expected: int | None = None

    @property
    def duration_seconds(self) -> float | None:
        return None if self.duration_ticks is None else ticks_to_seconds(self.duration_ticks)


@dataclass(frozen=True)
class SpliceDescriptor:
    """One entry of the descriptor loop (SCTE 35 §10.2): ``tag``, ``identifier`` (0x43554549
    "CUEI" for SCTE descriptors), the raw ``data`` after the identifier, and ``segmentation``
    when the tag is 0x02 and the identifier CUEI."""

    tag: int
    identifier: int
    data: bytes
    segmentation: SegmentationDescriptor | None = None


Command = SpliceInsert | TimeSignal | None


@dataclass(frozen=True)
class SpliceInfo:
    """A decoded ``splice_info_section`` (SCTE 35 §9.6).

    ``command_type`` is ``splice_command_type`` (0x05 splice_insert, 0x06 time_signal, 0x00
    splice_null, ...); ``command`` the decoded ``SpliceInsert``/``TimeSignal`` (None for
    other commands and when ``encrypted``); ``pts_adjustment`` in 90 kHz ticks; ``crc_ok``
    whether the ``CRC_32`` matches (a mismatch is reported, not raised: real playlists
    carry such sections, e.g. RFC 8216 §8.10's own example).
    """

    command_type: int
    command: Command
    pts_adjustment: int = 0
    tier: int = 0xFFF
    sap_type: int = 3
    encrypted: bool = False
    descriptors: tuple[SpliceDescriptor, ...] = ()
    crc_ok: bool = True

    @property
    def command_name(self) -> str:
        return COMMAND_NAMES.get(self.command_type, f"command 0x{self.command_type:02X}")

    @property
    def splice_insert(self) -> SpliceInsert | None:
        return self.command if isinstance(self.command, SpliceInsert) else None

    @property
    def event_id(self) -> int | None:
        """``splice_event_id`` of a splice_insert, else the first segmentation event id."""
        if isinstance(self.command, SpliceInsert):
            return self.command.event_id
        for descriptor in self.descriptors:
            if descriptor.segmentation is not None:
                return descriptor.segmentation.event_id
        return None

    @property
    def duration_seconds(self) -> float | None:
        """The break duration in seconds (splice_insert ``break_duration``, else the first
        segmentation duration), None when not signalled."""
        if isinstance(self.command, SpliceInsert):
            return self.command.duration.seconds if self.command.duration else None
        for descriptor in self.descriptors:
            if descriptor.segmentation is not None:
                return descriptor.segmentation.duration_seconds
        return None

    @property
    def out_of_network(self) -> bool | None:
        """splice_insert's ``out_of_network_indicator`` (None for other commands)."""
        return self.command.out_of_network if isinstance(self.command, SpliceInsert) else None


# -- bits ------------------------------------------------------------------------------------


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


# -- encoding --------------------------------------------------------------------------------


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


# -- decoding --------------------------------------------------------------------------------


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


_HEX = re.compile(r"^0[xX][0-9A-Fa-f]+$")


def from_text(text: str) -> bytes:
    """The section bytes of an HLS attribute value: a hexadecimal-sequence ``0x…``
    (RFC 8216 §4.2, as in DATERANGE SCTE35-OUT) or base64 (CUE-OUT-CONT ``SCTE35=``,
    ``EXT-OATCLS-SCTE35``). Raises ``Scte35Error`` when it is neither."""
    value = text.strip().strip('"')
    if value[:2] in ("0x", "0X"):
        if not _HEX.match(value) or len(value) % 2:
            raise Scte35Error(f"{value[:40]!r} is not a hexadecimal-sequence of whole bytes")
        return bytes.fromhex(value[2:])
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Scte35Error(f"{value[:40]!r} is neither 0x-hex nor base64") from None


def to_hex(section: bytes) -> str:
    """The hexadecimal-sequence form for DATERANGE SCTE35-* attributes (``0xFC…``)."""
    return "0x" + section.hex().upper()


def to_base64(section: bytes) -> str:
    """The base64 form used by ``EXT-X-CUE-OUT-CONT: SCTE35=`` and ``EXT-OATCLS-SCTE35``."""
    return base64.b64encode(section).decode("ascii")
