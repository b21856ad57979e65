"""Command-line parity with the GUI: the same services, the same demo stack.

``python main.py`` (no command) opens the GUI; ``python main.py <command>`` runs one
command, each in its own module of ``console.cli`` (``add_parser`` + a ``run_*``). Exit
codes, mapped here in one place: 0 success, 1 the operation failed (a ``ServiceError``,
its sentence on stderr), 2 usage or environment problem (``Unusable``: no display, bad
profile, no confirmation possible), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from console.cli import (
    assets,
    audit,
    backfill,
    catalog,
    clips,
    cluster,
    cues,
    demo,
    ladder,
    ledger,
    monitor,
    profiles,
    spotcheck,
)
from console.cli.session import Unusable
from services.errors import ServiceError, describe

#: command → coroutine function of the parsed arguments, returning the exit code
ASYNC_COMMANDS = {
    "catalog": catalog.run_catalog,
    "assets": assets.run_assets,
    "backfill": backfill.run_backfill,
    "cue": cues.run_cues,
    "spotcheck": spotcheck.run_spotcheck,
    "clip": clips.run_clip,
    "monitor": monitor.run_monitor,
    "audit": audit.run_audit,
    "ladder": ladder.run_ladder,
    "ledger": ledger.run_ledger,
    "cluster": cluster.run_cluster,
}
#: command → plain function of the parsed arguments, returning the exit code
SYNC_COMMANDS = {"demo": demo.run_demo, "profile": profiles.run_profile}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Video Ops Console")
    parser.add_argument("--profile", help="profile name (default: the file's default, else demo)")
    commands = parser.add_subparsers(dest="command")
    for module in (
        catalog,
        assets,
        backfill,
        cues,
        monitor,
        spotcheck,
        ladder,
        ledger,
        audit,
        clips,
        cluster,
        demo,
    ):
        module.add_parser(commands)
    smoke = commands.add_parser(
        "smoke", help="end-to-end check: open the window on the demo, play, seek, screenshot"
    )
    smoke.add_argument("--screenshot", required=True, help="PNG file to write")
    smoke.add_argument(
        "--cues", action="store_true", help="instead: start a demo ad break and verify it live"
    )
    profiles.add_parser(commands)
    return parser


def main(argv: list[str]) -> int:
    """Run one command (or the GUI when there is none); returns the exit code."""
    if argv[:1] == ["demo-server"]:  # hidden: how a desktop bundle starts its demo server
        from console.demo.server import main as server_main

        return server_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command is None:
            from console.gui.app import run_gui

            return run_gui(args.profile)
        if args.command == "smoke":
            from console.gui.smoke import run_smoke

            return run_smoke(args.screenshot, args.profile, cues=args.cues)
        if args.command in SYNC_COMMANDS:
            return SYNC_COMMANDS[args.command](args)
        return asyncio.run(ASYNC_COMMANDS[args.command](args))
    except Unusable as exc:
        print(exc, file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(describe(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
