"""Decoding what the gate served: ffprobe over local copies of the fetched bytes.

An fMP4 rendition's init section followed by its segments is one fragmented MP4 (ISO/IEC
14496-12 §8.8), so ``init + seg_0 + seg_1`` written to a file decodes on its own timeline
(``tfdt``). A **rung switch** is two such files, ``initA + segA_k`` then ``initB +
segB_k+1``, read by ffmpeg's concat demuxer, which opens each with its own init (ffmpeg's
HLS demuxer keeps the first init section and cannot decode a change of ``EXT-X-MAP``, so a
multivariant switch is checked the way a player's source buffer sees it: new init, next
segment). ffprobe (``-show_frames``) decodes every frame; decode errors come back as the
run's warnings (``-v error``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.media_tools.binaries import ffprobe_exe
from services.media_tools.runner import run_tool

DECODE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Frames:
    """The decoded video frames: ``pts`` seconds (presentation order), ``sizes`` (w, h)
    pixels per frame, ``keys`` keyframe flags, ``errors`` decoder error lines."""

    pts: tuple[float, ...]
    sizes: tuple[tuple[int, int], ...]
    keys: tuple[bool, ...]
    errors: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.pts)

    def size_text(self) -> str:
        """The distinct sizes in order, ``1280x720→640x360``."""
        seen: list[tuple[int, int]] = []
        for size in self.sizes:
            if not seen or seen[-1] != size:
                seen.append(size)
        return "→".join(f"{w}x{h}" for w, h in seen) or "none"


def write_pieces(path: Path, pieces: list[bytes]) -> Path:
    """Write ``pieces`` (an init section, then segments) one after the other to ``path``."""
    with path.open("wb") as out:
        for piece in pieces:
            out.write(piece)
    return path


async def decode_frames(files: list[Path], *, timeout_s: float = DECODE_TIMEOUT_S) -> Frames:
    """Decode every video frame of ``files`` (one file, or several read in a row by the
    concat demuxer, each with its own init). Raises ``ToolTimeout``; a file ffprobe cannot
    read gives no frames and its words in ``errors``."""
    if len(files) == 1:
        source = ["-i", str(files[0])]
    else:
        listing = files[0].with_name(files[0].stem + ".concat.txt")
        listing.write_text("".join(f"file '{f.name}'\n" for f in files), encoding="utf-8")
        source = ["-f", "concat", "-safe", "0", "-i", str(listing)]
    argv = [
        ffprobe_exe(),
        "-v",
        "error",
        *source,
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=pts_time,width,height,key_frame",
        "-of",
        "json",
    ]
    result = await run_tool(argv, timeout_s=timeout_s, keep_warnings=20)
    try:
        frames = json.loads(result.stdout or b"{}").get("frames", [])
    except json.JSONDecodeError:
        frames = []
    pts, sizes, keys = [], [], []
    for frame in frames:
        try:
            pts.append(float(frame["pts_time"]))
        except (KeyError, TypeError, ValueError):
            continue
        sizes.append((int(frame.get("width") or 0), int(frame.get("height") or 0)))
        keys.append(bool(frame.get("key_frame")))
    errors = list(result.warnings)
    if result.code != 0 and not errors:
        errors.append(f"ffprobe exit status {result.code}")
    return Frames(tuple(pts), tuple(sizes), tuple(keys), tuple(errors))
