"""The multivariant ``master.m3u8`` of a backfilled game and the figures it declares.

The backfill writes it (``multivariant_text``) from the ledger rows; the spot-check measures
the same figures (``measure_bandwidth``, ``codecs_attribute``) to check what is declared.

- ``BANDWIDTH`` is the peak segment bit rate and ``AVERAGE-BANDWIDTH`` the average over the
  whole rendition (RFC 8216 §4.3.4.2), both measured from the stored segments: bits of each
  segment over its EXTINF duration (the init section is not counted).
- ``CODECS`` (RFC 6381) is read from the rung's init section: ``avc1.PPCCLL`` from the avcC
  record, plus ``mp4a.40.2`` (AAC-LC) when the rung has audio.
- ``RESOLUTION``, ``FRAME-RATE`` (3 decimals) and ``EXT-X-INDEPENDENT-SEGMENTS`` (every
  segment starts with an IDR: closed GOPs, one per segment) per RFC 8216 §4.3.4.2 / §4.3.5.1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from services.abr.ledger import PackagedRendition
from services.errors import MediaError
from services.hls import MultivariantPlaylist, Variant, resolve_key
from services.ladder import avc_codec_string

AAC_LC = "mp4a.40.2"


def measure_bandwidth(segments: Sequence[tuple[int, float]]) -> tuple[int, int]:
    """``(peak, average)`` bits/s of ``segments`` given as ``(size_bytes, duration_s)``.
    Raises ``MediaError`` when there is no segment or a duration is not positive."""
    if not segments:
        raise MediaError("A rendition without segments has no bandwidth.")
    if any(d <= 0 for _, d in segments):
        raise MediaError("A segment with a non-positive EXTINF has no bandwidth.")
    peak = max(size * 8 / duration for size, duration in segments)
    average = sum(s for s, _ in segments) * 8 / sum(d for _, d in segments)
    return math.ceil(peak), math.ceil(average)


def video_codec_of_init(init: bytes) -> str:
    """The ``avc1.PPCCLL`` string of an fMP4 init section's first avcC record (ISO/IEC
    14496-15 §5.3.3.1: configurationVersion, AVCProfileIndication, profile_compatibility,
    AVCLevelIndication). Raises ``MediaError`` when there is no avcC."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        raise MediaError("The rung's init section has no avcC record (not H.264?).")
    _version, profile, compat, level = init[at + 4 : at + 8]
    return avc_codec_string(profile, compat, level)


def codecs_attribute(init: bytes, has_audio: bool) -> str:
    """The CODECS value for a rung: video codec from the init section, then AAC-LC."""
    video = video_codec_of_init(init)
    return f"{video},{AAC_LC}" if has_audio else video


def multivariant_text(renditions: Sequence[PackagedRendition], game_prefix: str) -> str:
    """The multivariant playlist listing ``renditions`` (highest BANDWIDTH first) with URIs
    relative to ``game_prefix`` (``games/{id}/``). Byte-identical for identical rows."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for row in sorted(renditions, key=lambda r: r.bandwidth, reverse=True):
        if not row.playlist.startswith(game_prefix):
            raise MediaError(f"Rung playlist {row.playlist} is outside {game_prefix}.")
        attributes = (
            f"BANDWIDTH={row.bandwidth},AVERAGE-BANDWIDTH={row.average_bandwidth},"
            f'RESOLUTION={row.width}x{row.height},CODECS="{row.codecs}",'
            f"FRAME-RATE={row.frame_rate:.3f}"
        )
        lines += [f"#EXT-X-STREAM-INF:{attributes}", row.playlist[len(game_prefix) :]]
    return "\n".join(lines) + "\n"


def variants_by_playlist(master_key: str, master: MultivariantPlaylist) -> dict[str, Variant]:
    """The variants of a stored multivariant playlist keyed by the bucket key of the media
    playlist each points at (URIs resolved against ``master_key``, RFC 8216 §4.1); an
    absolute URL, which names no bucket key, is kept as written. A ledger row's
    ``playlist`` is the key of its variant."""
    return {resolve_key(master_key, v.uri) or v.uri: v for v in master.variants}
