"""The text forms of a ``splice_info_section`` in HLS playlists (no I/O).

A hexadecimal-sequence ``0xFC…`` in ``EXT-X-DATERANGE`` ``SCTE35-OUT``/``SCTE35-IN``/
``SCTE35-CMD`` (RFC 8216 §4.2 and §4.3.2.7.1), base64 in the vendor tags
``EXT-X-CUE-OUT-CONT: …SCTE35=`` and ``EXT-OATCLS-SCTE35`` (Elemental).
"""

from __future__ import annotations

import base64
import binascii
import re

from services.scte35.section import Scte35Error

__all__ = ["from_text", "to_base64", "to_hex"]

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
