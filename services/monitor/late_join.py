"""The late-joiner probe: a brand-new client joins a live channel during an ad break and
checks what a viewer joining now would get (no Qt).

The client is fresh (its own connections, no cookies, no previous playlist). It reads the
multivariant playlist and one variant with the strict RFC 8216 rules (``parse_playlist``)
and the cue reader, picks the segment a player starts at — the last one that starts at least
three target durations before the end of the playlist (RFC 8216 §6.3.3) — and checks that
it is served as media, and that it is placed in the pod consistently with the time since
the break started: the segment's PROGRAM-DATE-TIME minus the break's start must equal the
``ElapsedTime`` the playlist gives it (the stateless plan's ``elapsedSinceBreak``), within one
target duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from services.cue_tags import CuePlaylist, CueSegment, parse_cues
from services.errors import PlaylistError
from services.hls import MultivariantPlaylist, parse_playlist

TS_SYNC = 0x47
"""The MPEG-TS sync byte every transport packet starts with (ISO/IEC 13818-1 §2.4.3.2)."""


@dataclass(frozen=True)
class JoinResult:
    """One late join: ``ok``, the ``variant`` (playlist name) joined, the ``sequence`` of
    the segment started at, ``elapsed_s`` into the break it landed (None outside one),
    ``detail`` in the operator's words."""

    ok: bool
    variant: str
    sequence: int | None
    elapsed_s: float | None
    detail: str


def join_segment(playlist: CuePlaylist, target: float) -> CueSegment | None:
    """The segment a player joining ``playlist`` starts at: the last one starting at least
    3 × ``target`` seconds before the end (RFC 8216 §6.3.3), the first when the window is
    shorter; None when the playlist has no segment."""
    segments = playlist.segments
    if not segments:
        return None
    end = sum(s.duration for s in segments)
    start = 0.0
    chosen = segments[0]
    for segment in segments:
        if end - start >= 3 * target:
            chosen = segment
        start += segment.duration
    return chosen


def _placement(
    playlist: CuePlaylist, segment: CueSegment, target: float
) -> tuple[float | None, str]:
    """``(elapsed into the break, problem or "")`` for a join at ``segment``."""
    for span in playlist.ad_breaks():
        first = (
            span.out_sequence if span.out_sequence is not None else playlist.segments[0].sequence
        )
        last = span.in_sequence if span.in_sequence is not None else segment.sequence + 1
        if not first <= segment.sequence < last:
            continue
        if span.start is None or segment.program_date_time is None:
            return None, ""
        expected = (segment.program_date_time - span.start).total_seconds()
        written = next(
            (
                m.elapsed
                for m in segment.markers
                if m.kind == "cue-out-cont" and m.elapsed is not None
            ),
            0.0 if segment.sequence == span.out_sequence else None,
        )
        if written is not None and abs(written - expected) > target:
            return expected, (
                f"segment {segment.sequence} says {written:.1f} s into break {span.id}, but it "
                f"starts {expected:.1f} s after the break's start"
            )
        return expected, ""
    return None, ""


async def late_join(master_url: str, variant_index: int, *, timeout_s: float = 5.0) -> JoinResult:
    """Join the channel at ``master_url`` as a new viewer on its ``variant_index``-th variant
    (modulo their count). Never raises: every problem is a failed ``JoinResult``."""
    name = "?"
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client:
            response = await client.get(master_url)
            if response.status_code != 200:
                return JoinResult(
                    False, name, None, None, f"master.m3u8: HTTP {response.status_code}"
                )
            master = parse_playlist(response.text, master_url)
            if not isinstance(master, MultivariantPlaylist) or not master.variants:
                return JoinResult(False, name, None, None, "master.m3u8 lists no variant")
            variant = master.variants[variant_index % len(master.variants)]
            url = urljoin(master_url, variant.uri)
            name = url.rsplit("/", 1)[-1]
            response = await client.get(url)
            if response.status_code != 200:
                return JoinResult(False, name, None, None, f"{name}: HTTP {response.status_code}")
            strict = parse_playlist(response.text, name)
            playlist = parse_cues(response.text, name)
            target = float(getattr(strict, "target_duration", 0) or 1)
            segment = join_segment(playlist, target)
            if segment is None:
                return JoinResult(False, name, None, None, f"{name} has no segment to start at")
            head = await _first_bytes(client, urljoin(url, segment.uri))
            if not head or (segment.uri.endswith(".ts") and head[0] != TS_SYNC):
                return JoinResult(
                    False, name, segment.sequence, None,
                    f"segment {segment.sequence} is not playable media ({len(head)} bytes read)",
                )  # fmt: skip
            elapsed, problem = _placement(playlist, segment, target)
            if problem:
                return JoinResult(False, name, segment.sequence, elapsed, problem)
            where = f", {elapsed:.1f} s into the break" if elapsed is not None else ""
            return JoinResult(
                True,
                name,
                segment.sequence,
                elapsed,
                f"joined {name} at segment {segment.sequence}{where}",
            )
    except PlaylistError as exc:
        return JoinResult(False, name, None, None, f"invalid playlist for a new client: {exc}")
    except httpx.HTTPError as exc:
        return JoinResult(False, name, None, None, f"{type(exc).__name__}: {exc}")


async def _first_bytes(client: httpx.AsyncClient, url: str, count: int = 188) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code not in (200, 206):
            return b""
        data = b""
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= count:
                break
        return data[:count]
