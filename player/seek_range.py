"""The seek-range guard for multivariant sources (no Qt, no mpv import).

On libmpv 0.35.1 a seek outside the demuxer cache of an fMP4 HLS stream ends playback
(FFmpeg's HLS demuxer loses the ``moov`` context; docs/platform.md "libmpv"). Media playlists
play as EDL timelines and seek anywhere, but a multivariant playlist still plays as HLS,
so :class:`player.controller.Player` asks :func:`seek_refusal` before each seek there and
reports the refusal instead of breaking playback. The buffered spans come from mpv's
``demuxer-cache-state`` property (``seekable-ranges``: ``{"start": s, "end": s}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from player.playback_stats import number

__all__ = ["CACHE_EDGE_TOLERANCE", "clock", "is_buffered", "seek_refusal"]

#: Seconds of tolerance when checking a multivariant seek target against the cache.
CACHE_EDGE_TOLERANCE = 0.25


def clock(seconds: float) -> str:
    """``seconds`` as ``H:MM:SS`` (whole seconds, truncated): ``3725.9`` -> ``"1:02:05"``."""
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def is_buffered(
    cache_state: Mapping[str, Any] | None,
    target: float,
    tolerance: float = CACHE_EDGE_TOLERANCE,
) -> bool:
    """``True`` when ``target`` (seconds) lies in one of the ``seekable-ranges`` of mpv's
    ``demuxer-cache-state`` (``None``/empty: nothing buffered), ``tolerance`` seconds
    beyond either edge included. Spans with a missing or non-finite edge are skipped."""
    for span in (cache_state or {}).get("seekable-ranges") or []:
        start, end = number(span.get("start")), number(span.get("end"))
        if start is not None and end is not None and start - tolerance <= target <= end + tolerance:
            return True
    return False


def seek_refusal(
    source_kind: str | None, cache_state: Mapping[str, Any] | None, target: float
) -> str | None:
    """Why a seek to ``target`` (seconds) must not be sent, as a sentence for the
    operator, or ``None`` when it may: only a ``"multivariant"`` source is restricted,
    to its buffered ranges (see :func:`is_buffered`)."""
    if source_kind != "multivariant" or is_buffered(cache_state, target):
        return None
    return (
        f"Cannot seek to {clock(target)} in the adaptive stream: that part is not "
        "buffered yet (libmpv cannot seek outside its cache in fMP4 HLS). "
        "Open a single rendition to seek anywhere."
    )
