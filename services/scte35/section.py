"""The ``splice_info_section`` as data: constants, the decoded fields, the CRC (no I/O).

Section numbers refer to ANSI/SCTE 35 2022 ("Digital Program Insertion Cueing Message"):
§9.6 ``splice_info_section`` (Table 5) and its ``CRC_32`` (CRC-32/MPEG-2 of ISO/IEC
13818-1 Annex A: polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final
XOR, over the whole section); §9.7.3 ``splice_insert`` (Table 9), §9.7.4 ``time_signal``;
§9.8.1 ``splice_time()``, §9.8.2 ``break_duration()`` (33-bit counts of a 90 kHz clock);
§10.2 splice descriptors, §10.3.3 ``segmentation_descriptor`` (Table 22).

``services.scte35.decoder`` reads these from bytes, ``services.scte35.encoder`` writes them.
"""

from __future__ import annotations

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
        """The duration in seconds."""
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
        """``segmentation_duration`` in seconds, None when absent."""
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
        """The command's name in SCTE 35 Table 7 (``"splice_insert"``), else its hex type."""
        return COMMAND_NAMES.get(self.command_type, f"command 0x{self.command_type:02X}")

    @property
    def splice_insert(self) -> SpliceInsert | None:
        """The command when it is a splice_insert, else None."""
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
