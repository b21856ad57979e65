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

The package's modules: ``section`` (constants, the decoded fields as frozen dataclasses,
the CRC, tick conversions), ``decoder`` (bytes → ``SpliceInfo``), ``encoder`` (commands →
bytes, the cue out / cue in pair of an ad break) and ``text`` (the hex and base64 forms of
HLS playlists). Callers use the names below as ``scte35.decode``, ``scte35.cue_out``, …
"""

from __future__ import annotations

from services.scte35.decoder import decode
from services.scte35.encoder import cue_in, cue_out, encode
from services.scte35.section import (
    COMMAND_NAMES,
    CUEI,
    PTS_MODULO,
    SEGMENTATION_DESCRIPTOR,
    SPLICE_INSERT,
    SPLICE_NULL,
    TABLE_ID,
    TICKS_PER_SECOND,
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
    seconds_to_ticks,
    ticks_to_seconds,
)
from services.scte35.text import from_text, to_base64, to_hex

__all__ = [
    "COMMAND_NAMES",
    "CUEI",
    "PTS_MODULO",
    "SEGMENTATION_DESCRIPTOR",
    "SPLICE_INSERT",
    "SPLICE_NULL",
    "TABLE_ID",
    "TICKS_PER_SECOND",
    "TIME_SIGNAL",
    "BreakDuration",
    "Command",
    "Scte35Error",
    "SegmentationDescriptor",
    "SpliceDescriptor",
    "SpliceInfo",
    "SpliceInsert",
    "TimeSignal",
    "crc32_mpeg2",
    "cue_in",
    "cue_out",
    "decode",
    "encode",
    "from_text",
    "seconds_to_ticks",
    "ticks_to_seconds",
    "to_base64",
    "to_hex",
]
