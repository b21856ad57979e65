"""Playing a rendition through the gate, as a player does, and checking what decodes.

``play_media`` fetches a media playlist through the gate with a credential, then its init
section and first segments with the gate cookie (the way a player fetches relative URIs),
decodes them (``services.audit.decode``) and asks every other segment for one byte
(``Range: bytes=0-0``) so a missing object anywhere in the playlist shows. ``switch``
decodes rung A's segment k followed by rung B's segment k+1, each with its own init
(Apple HLS authoring spec §1.11: keyframe-aligned variants let a player switch at any
segment boundary).
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.audit.decode import Frames, decode_frames, write_pieces
from services.audit.gate_client import GateClient
from services.audit.model import SubCheck, sub
from services.errors import PlaylistError
from services.hls import MediaPlaylist, parse_playlist, resolve_key

FIRST_SEGMENTS = 2
"""How many segments of each rendition are decoded."""
REACH_PARALLEL = 8


@dataclass
class Played:
    """A rendition played through the gate: its playlist key and parsed playlist, the
    fetched init and first segments (bytes), their decoded frames and the frame rate
    (frames/s) used to judge the frame count."""

    key: str
    playlist: MediaPlaylist | None = None
    pieces: list[bytes] | None = None
    frames: Frames | None = None
    fps: float = 0.0

    def segment_frames(self, index: int) -> tuple[float, float]:
        """``(first pts, last pts)`` of the decoded frames of segment ``index`` (0-based,
        among the decoded first segments), on the rendition's own timeline (seconds)."""
        assert self.playlist is not None and self.frames is not None
        seg = self.playlist.segments[index]
        start = self.frames.pts[0] - self.playlist.segments[0].start if self.frames.pts else 0.0
        lo, hi = start + seg.start, start + seg.start + seg.duration
        inside = [p for p in self.frames.pts if lo - 1e-3 <= p < hi - 1e-3]
        return (min(inside), max(inside)) if inside else (float("nan"), float("nan"))


def measured_fps(frames: Frames) -> float:
    """Frames/s from the median spacing of the decoded PTS (0 with fewer than 2 frames)."""
    gaps = [b - a for a, b in zip(frames.pts, frames.pts[1:], strict=False) if b > a]
    return 1.0 / statistics.median(gaps) if gaps else 0.0


async def play_media(
    client: GateClient,
    key: str,
    folder: Path,
    *,
    name: str,
    token: str | None = None,
    cookie: str | None = None,
    fps: float = 0.0,
    resolution: tuple[int, int] | None = None,
) -> tuple[list[SubCheck], dict[str, Any], Played]:
    """Play the media playlist ``key`` through the gate (``token`` on the playlist request,
    ``cookie`` on the objects; at least one of them). ``fps``/``resolution`` are what the
    frames must show (0/None: measured, any). Returns the sub-checks (named
    ``{name}.playlist``, ``.decode``, ``.frames``, ``.resolution``, ``.reachable``), their
    evidence and what was played. Raises ``Unreachable`` when the gate cannot be reached
    and ``ToolTimeout`` when ffprobe hangs; what the gate answers is judged, not raised."""
    played = Played(key)
    checks: list[SubCheck] = []
    evidence: dict[str, Any] = {"playlist": key}
    answer = await client.get("/" + key, token=token, cookie=cookie)
    evidence.update(url=answer.url, status=answer.status, bytes=len(answer.body))
    if answer.status != 200:
        checks.append(sub(f"{name}.playlist", False, f"{answer.url} answered {answer.status}"))
        return checks, evidence, played
    cookie = answer.cookie or cookie
    try:
        playlist = parse_playlist(answer.body, key)
    except PlaylistError as exc:
        checks.append(sub(f"{name}.playlist", False, str(exc)))
        return checks, evidence, played
    if not isinstance(playlist, MediaPlaylist) or not playlist.segments:
        checks.append(sub(f"{name}.playlist", False, f"{key} is not a media playlist"))
        return checks, evidence, played
    played.playlist = playlist
    checks.append(sub(f"{name}.playlist", True, f"200, {len(playlist.segments)} segments"))
    first = playlist.segments[:FIRST_SEGMENTS]
    uris = ([playlist.init_uri] if playlist.init_uri else []) + [s.uri for s in first]
    keys = [resolve_key(key, u) or u for u in uris]
    fetched = await asyncio.gather(*(client.get("/" + k, cookie=cookie) for k in keys))
    bad = [(k, f.status) for k, f in zip(keys, fetched, strict=True) if f.status != 200]
    evidence["fetched"] = {k: [f.status, len(f.body)] for k, f in zip(keys, fetched, strict=True)}
    if bad:
        shown = ", ".join(f"{k} {s}" for k, s in bad)
        checks.append(sub(f"{name}.decode", False, f"not served through the gate: {shown}"))
        return checks, evidence, played
    played.pieces = [f.body for f in fetched]
    path = write_pieces(folder / f"{name.replace('/', '_')}.mp4", played.pieces)
    frames = await decode_frames([path])
    played.frames = frames
    rate = fps or measured_fps(frames)
    played.fps = rate
    expected = round(sum(s.duration for s in first) * rate)
    evidence.update(
        decoded_frames=frames.count,
        expected_frames=expected,
        fps=round(rate, 3),
        resolution=frames.size_text(),
        decode_errors=list(frames.errors[:5]),
    )
    checks.append(
        sub(
            f"{name}.decode",
            frames.count > 0 and not frames.errors and frames.keys[:1] == (True,),
            f"{len(first)} segments decode: {frames.count} frames, starts on a keyframe"
            if frames.count and not frames.errors
            else f"decode failed: {(frames.errors or ('no frames',))[0]}",
        )
    )
    checks.append(
        sub(
            f"{name}.frames",
            abs(frames.count - expected) <= 1,
            f"{frames.count} frames for {sum(s.duration for s in first):.3f} s at "
            f"{rate:.3f} fps (expected {expected})",
        )
    )
    if resolution is not None:
        want = f"{resolution[0]}x{resolution[1]}"
        checks.append(
            sub(
                f"{name}.resolution",
                frames.size_text() == want,
                f"{frames.size_text()}, declared {want}",
            )
        )
    rest = [resolve_key(key, s.uri) or s.uri for s in playlist.segments[FIRST_SEGMENTS:]]
    missing = await _unreachable(client, rest, cookie)
    evidence["segments_reachable"] = f"{len(rest) - len(missing)} of {len(rest)} more"
    checks.append(
        sub(
            f"{name}.reachable",
            not missing,
            f"every other segment answers ({len(rest)})"
            if not missing
            else f"{len(missing)} of {len(rest)} not served: " + ", ".join(missing[:3]),
        )
    )
    return checks, evidence, played


async def _unreachable(client: GateClient, keys: list[str], cookie: str | None) -> list[str]:
    """The keys of ``keys`` the gate does not serve a first byte of (``key status``)."""
    slots = asyncio.Semaphore(REACH_PARALLEL)

    async def one(key: str) -> str | None:
        async with slots:
            answer = await client.get("/" + key, cookie=cookie, byte_range=(0, 0))
        return None if answer.status in (200, 206) else f"{key} {answer.status}"

    return [m for m in await asyncio.gather(*(one(k) for k in keys)) if m]


async def switch(a: Played, b: Played, folder: Path) -> SubCheck:
    """Decode ``a``'s segment 0 then ``b``'s segment 1 (module docstring): every frame
    decodes, the size changes from a's to b's at the boundary on a keyframe, and b's first
    frame follows a's last by one frame duration (±½)."""
    name = f"switch.{a.key.split('/')[-2]}→{b.key.split('/')[-2]}"
    if not (a.pieces and b.pieces and a.frames and b.frames and a.playlist and b.playlist):
        return sub(name, False, "not tried: a rendition did not play")
    if len(b.playlist.segments) < 2 or len(b.pieces) < 3:
        return sub(name, True, "one segment only: no boundary to switch at")
    first = write_pieces(folder / "switch_a.mp4", [a.pieces[0], a.pieces[1]])
    second = write_pieces(folder / "switch_b.mp4", [b.pieces[0], b.pieces[2]])
    frames = await decode_frames([first, second])
    _, a_last = a.segment_frames(0)
    b_first, _ = b.segment_frames(1)
    step = 1.0 / (a.fps or 24.0)
    gap = b_first - a_last
    count_a = sum(1 for p in a.frames.pts if p <= a_last + 1e-6)
    sizes_ok = (
        frames.count > count_a
        and set(frames.sizes[:count_a]) == {a.frames.sizes[0]}
        and set(frames.sizes[count_a:]) == {b.frames.sizes[0]}
        and frames.keys[count_a]
    )
    ok = not frames.errors and sizes_ok and abs(gap - step) <= step / 2
    detail = (
        f"{frames.count} frames decode, {frames.size_text()} at frame {count_a} on a "
        f"keyframe; next frame {gap * 1000:.1f} ms after the last (one frame: "
        f"{step * 1000:.1f} ms)"
    )
    if frames.errors:
        detail = f"decode errors across the switch: {frames.errors[0]}"
    return sub(name, ok, detail)
