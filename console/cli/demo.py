"""``main.py demo reset|stop|status``: the embedded demo stack (docs/contracts.md §1.4), its S3
server, assets API and cue service, recorded in the data dir so GUI and CLI share it."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``demo`` on the CLI's sub-commands."""
    demo = commands.add_parser("demo", help="the embedded demo stack")
    demo_cmd = demo.add_subparsers(dest="demo_command", required=True)
    demo_cmd.add_parser("reset", help="stop the stack, delete its data, re-seed from scratch")
    demo_cmd.add_parser("stop", help="stop the stack (its bucket is saved)")
    demo_cmd.add_parser("status", help="say whether a stack runs and where")


def run_demo(args: argparse.Namespace) -> int:
    """``demo reset`` re-seeds, ``stop`` stops, ``status`` says where it runs; returns 0."""
    from console.demo import stack

    command = args.demo_command
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
