"""Fidelity check (issue 4): the v1 rendition is a bit-exact remux of the game's source.

``fidelity.v1_remux`` (game): the per-packet MD5 of the video stream of v1 (read with
``-c copy``, so packets are hashed as stored, never decoded) equals the source's, packet by
packet (size and MD5; timestamps may differ between containers). Skipped when the game has no
source object (``services.layout``'s source rule: ``games/{id}/source.{ext}`` or
``{source_prefix}{id}.{ext}``).
"""

from __future__ import annotations

import asyncio

from services.media_tools.binaries import ffmpeg_exe
from services.media_tools.runner import run_tool
from services.spotcheck.checks import Check, check, skipped

NAME = "fidelity.v1_remux"


async def packet_hashes(url: str, *, hide: str = "") -> tuple[list[tuple[int, str]], str]:
    """``[(size, md5)]`` of every video packet at ``url`` (``-f framemd5``, ``-c copy``) and
    ffmpeg's last warning ("" when it exited 0)."""
    argv = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-rw_timeout",
        "20000000",
        "-i",
        url,
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-f",
        "framemd5",
        "-",
    ]
    result = await run_tool(argv, hide=hide)
    packets: list[tuple[int, str]] = []
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) >= 6 and fields[4].isdigit():
            packets.append((int(fields[4]), fields[5]))
    said = "" if result.code == 0 else result.said("failed")
    return packets, said


async def check_fidelity(
    v1_url: str | None, source_url: str | None, source_key: str | None, *, hide: str = ""
) -> Check:
    """Compare v1's video packets with the source's; skip without a source."""
    if source_url is None or source_key is None:
        return skipped(NAME, "no source object is configured for this game")
    if v1_url is None:
        return check(NAME, ["no v1 playlist (master.v1.m3u8) to compare with the source"])
    (v1, v1_error), (source, source_error) = await asyncio.gather(
        packet_hashes(v1_url, hide=hide), packet_hashes(source_url, hide=hide)
    )
    if v1_error or source_error:
        which = "v1" if v1_error else source_key
        return check(
            NAME, [f"cannot read the {which} packets: ffmpeg says {v1_error or source_error!r}"]
        )
    reasons: list[str] = []
    if len(v1) != len(source):
        reasons.append(f"v1 has {len(v1)} video packets, {source_key} has {len(source)}")
    first = next((i for i, (a, b) in enumerate(zip(v1, source, strict=False)) if a != b), None)
    if first is not None:
        differing = sum(a != b for a, b in zip(v1, source, strict=False))
        reasons.append(
            f"v1 is not a bit-exact remux of {source_key}: {differing} video packets differ, "
            f"the first at packet {first} (MD5 {v1[first][1][:12]}… vs "
            f"{source[first][1][:12]}…)"
        )
    return check(NAME, reasons)
