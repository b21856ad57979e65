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
_BARE_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def from_text(text: str) -> bytes:
    """The section bytes of an HLS attribute value, whichever form it is written in.

    - a hexadecimal-sequence ``0x…`` (RFC 8216 §4.2, as in DATERANGE ``SCTE35-OUT``);
    - bare hex (some packagers drop the ``0x``): hex digits only, an even count, starting
      with ``FC``, the table_id of every splice_info_section (SCTE 35 §9.6);
    - base64 (``EXT-X-CUE-OUT-CONT: …SCTE35=``, ``EXT-OATCLS-SCTE35``), padded or not (a
      section in base64 starts with ``/``, which is not a hex digit, so the forms never
      collide).

    Raises ``Scte35Error`` when it is none of them."""
    value = text.strip().strip('"')
    if value[:2] in ("0x", "0X"):
        if not _HEX.match(value) or len(value) % 2:
            raise Scte35Error(f"{value[:40]!r} is not a hexadecimal-sequence of whole bytes")
        return bytes.fromhex(value[2:])
    if _BARE_HEX.match(value) and value[:2].upper() == "FC" and len(value) % 2 == 0:
        return bytes.fromhex(value)
    if len(value) % 4 == 1 or not _BASE64.match(value):
        raise Scte35Error(f"{value[:40]!r} is neither hex (0xFC…/FC…) nor base64")
    padded = value.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise Scte35Error(f"{value[:40]!r} is neither hex (0xFC…/FC…) nor base64") from None


def to_hex(section: bytes) -> str:
    """The hexadecimal-sequence form for DATERANGE SCTE35-* attributes (``0xFC…``)."""
    return "0x" + section.hex().upper()


def to_base64(section: bytes) -> str:
    """The base64 form used by ``EXT-X-CUE-OUT-CONT: SCTE35=`` and ``EXT-OATCLS-SCTE35``."""
    return base64.b64encode(section).decode("ascii")
