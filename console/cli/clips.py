"""``main.py clip``: clip playlists from the terminal (same services as the player panel).

``clip make --game ID --rung R --in S --out S [-o FILE]`` prints (or writes) the clip media
playlist of the stored segments covering [in, out] seconds of a rendition (``--rung v1``
for v1). ``clip check FILE|URL --game ID --rung R [--json]`` checks a server clip against the
store: exit 0 when every segment it references is a stored object of that rendition, 1
otherwise, 2 on a usage problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console.cli.session import CliSession, Unusable
from services.clips import build_clip, check_clip, fetch_clip_text, rendition_playlist_key
from services.hls import MediaPlaylist, parse_playlist


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``clip make`` and ``clip check`` on the CLI's sub-commands."""
    clip = commands.add_parser("clip", help="clip playlists of stored segments")
    clip_cmd = clip.add_subparsers(dest="clip_command", required=True)
    make = clip_cmd.add_parser("make", help="the clip playlist of [in, out] of a rendition")
    check = clip_cmd.add_parser("check", help="check a server clip playlist against the store")
    check.add_argument("location", metavar="FILE|URL", help="the clip playlist to check")
    for sub in (make, check):
        sub.add_argument("--game", required=True, metavar="ID")
        sub.add_argument("--rung", required=True, metavar="R", help="a rung name, or v1")
    make.add_argument("--in", dest="in_s", type=float, required=True, help="seconds")
    make.add_argument("--out", dest="out_s", type=float, required=True, help="seconds")
    make.add_argument("-o", "--output", help="write the playlist here instead of stdout")
    check.add_argument("--json", action="store_true", help="the verdict as JSON")


async def run_clip(args: argparse.Namespace) -> int:
    """Run ``clip make`` / ``clip check``; returns the exit code. Service errors propagate
    to ``console.cli.entry.main`` (printed, exit 1)."""
    async with CliSession(args.profile) as session:
        storage = session.context.storage
        if args.clip_command == "make":
            key = await rendition_playlist_key(storage, args.game, args.rung)
            playlist = parse_playlist((await storage.get(key)).data, key)
            if not isinstance(playlist, MediaPlaylist):
                print(f"{key} is not a media playlist.", file=sys.stderr)
                return 1
            clip = build_clip(key, playlist, args.in_s, args.out_s)
            if args.output:
                Path(args.output).write_text(clip.text, encoding="utf-8")
                print(
                    f"Clip of {len(clip.segments)} segments ({clip.start_s:.3f}–"
                    f"{clip.end_s:.3f} s) written to {args.output}; place it beside {key}."
                )
            else:
                print(clip.text, end="")
            return 0
        location = args.location
        if location.startswith(("http://", "https://")):
            text: str | bytes = await fetch_clip_text(location)
        else:
            try:
                text = Path(location).read_bytes()
            except OSError as exc:
                raise Unusable(f"Cannot read {location}: {exc.strerror or exc}.") from exc
        result = await check_clip(storage, text, args.game, args.rung, clip_location=location)
        if args.json:
            print(json.dumps(result.as_json(), indent=2))
        else:
            for item in result.items:
                note = f"  ({item.note})" if item.note else ""
                print(f"{item.status:8} {item.uri}{note}")
            print(result.summary())
        return 0 if result.ok else 1
