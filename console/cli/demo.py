"""``main.py demo reset|stop|status|mistakes``: the embedded demo stack (docs/contracts.md
§1.4), its S3 server, assets API, cue service and viewer side (gate, playback API; the
planted-mistake switch of ``mistakes``), recorded in the data dir so GUI and CLI share it."""

from __future__ import annotations

import argparse
import sys


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``demo`` on the CLI's sub-commands."""
    demo = commands.add_parser("demo", help="the embedded demo stack")
    demo_cmd = demo.add_subparsers(dest="demo_command", required=True)
    demo_cmd.add_parser("reset", help="stop the stack, delete its data, re-seed from scratch")
    demo_cmd.add_parser("stop", help="stop the stack (its bucket is saved)")
    demo_cmd.add_parser("status", help="say whether a stack runs and where")
    mistakes = demo_cmd.add_parser(
        "mistakes", help="plant viewer-side mistakes for the audit to catch (default: none)"
    )
    mistakes.add_argument("action", nargs="?", choices=["show", "plant", "clear"], default="show")
    mistakes.add_argument(
        "kind",
        nargs="?",
        choices=["cookie_path", "unprotected_rung", "foreign_clip", "dropped_rung"],
    )
    mistakes.add_argument("game", nargs="?", help="the game to plant it on")
    mistakes.add_argument("--rung", default="", help="the rung (unprotected_rung, dropped_rung)")


def run_demo(args: argparse.Namespace) -> int:
    """``demo reset`` re-seeds, ``stop`` stops, ``status`` says where it runs; returns 0."""
    from console.demo import stack

    command = args.demo_command
    if command == "mistakes":
        return _mistakes(args)
    if command == "reset":
        print("Re-seeding the demo stack from resources/ (takes a few seconds)…", flush=True)
        endpoint = stack.reset_demo_stack()
        stack.release_demo_stack()
        print(f"Demo stack re-seeded at {endpoint.endpoint_url}.")
    elif command == "stop":
        print("Demo stack stopped." if stack.stop_demo_stack() else "No demo stack was running.")
    else:
        status = stack.running_demo_stack()
        print(f"Demo stack running at {status.endpoint_url}." if status else "No demo stack runs.")
    return 0


def _mistakes(args: argparse.Namespace) -> int:
    """``demo mistakes [show|plant KIND GAME [--rung R]|clear]``: the viewer service's
    planted-mistake switch (``console.demo.viewer.mistakes``); 0 done, 2 bad request."""
    import json

    from console.demo.state import demo_dir
    from console.demo.viewer.mistakes import (
        Mistakes,
        MistakeSpecError,
        load_mistakes,
        save_mistakes,
    )

    folder = demo_dir(None)
    try:
        current = load_mistakes(folder)
        if args.action == "clear":
            current = Mistakes()
            save_mistakes(folder, current)
        elif args.action == "plant":
            if not args.kind or not args.game:
                print("demo mistakes plant KIND GAME [--rung R]", file=sys.stderr)
                return 2
            current = current.planted(args.kind, args.game, args.rung)
            save_mistakes(folder, current)
    except MistakeSpecError as exc:
        print(f"Not changed: {exc}.", file=sys.stderr)
        return 2
    print(json.dumps(current.as_json(), indent=1) if current.any else "No mistake planted.")
    return 0
