"""Command-line parity with the GUI: the same services, the same demo stack.

``python main.py`` (no command) opens the GUI. Exit codes: 0 success, 1 operation failed,
2 usage or environment problem (no display, bad profile).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys

from console.cli.assets import run_assets
from console.cli.backfill import add_parser as add_backfill_parser
from console.cli.backfill import run_backfill
from console.cli.clips import add_parser as add_clip_parser
from console.cli.clips import run_clip
from console.cli.cues import add_cue_parser, run_cues
from console.cli.spotcheck import add_parser as add_spotcheck_parser
from console.cli.spotcheck import run_spotcheck
from console.context import ASSETS_API_TOKEN, SSAI_TOKEN, open_context
from services.assets_model import AssetStatus
from services.errors import ServiceError, describe


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Video Ops Console")
    parser.add_argument("--profile", help="profile name (default: the file's default, else demo)")
    commands = parser.add_subparsers(dest="command")

    catalog = commands.add_parser("catalog", help="browse the catalog")
    catalog_cmd = catalog.add_subparsers(dest="catalog_command", required=True)
    listing = catalog_cmd.add_parser("list", help="list games with their backfill state")
    listing.add_argument("--league", help="only this league (case-insensitive)")
    listing.add_argument("--json", action="store_true", help="a JSON array of game objects")

    assets = commands.add_parser("assets", help="video assets: processing failures and retries")
    assets_cmd = assets.add_subparsers(dest="assets_command", required=True)
    a_list = assets_cmd.add_parser("list", help="list assets (newest first as the API sorts)")
    a_list.add_argument("--status", choices=[s.value for s in AssetStatus])
    a_list.add_argument("--error-code", help="only this error code (e.g. provider_timeout)")
    a_list.add_argument("--text", help="free-text search (post id, source URL, message)")
    a_list.add_argument("--limit", type=_positive_int, default=200, help="at most N (200)")
    a_list.add_argument("--json", action="store_true", help="a JSON array of asset objects")
    a_events = assets_cmd.add_parser("events", help="the processing timeline of one asset")
    a_events.add_argument("post_id")
    a_events.add_argument("--json", action="store_true", help="a JSON array of event objects")
    a_retry = assets_cmd.add_parser("retry", help="retry failed assets (asks first)")
    a_retry.add_argument("post_ids", nargs="+", metavar="POST_ID")
    a_retry.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    add_backfill_parser(commands)
    add_cue_parser(commands)
    add_spotcheck_parser(commands)
    add_clip_parser(commands)

    demo = commands.add_parser("demo", help="the embedded demo stack")
    demo_cmd = demo.add_subparsers(dest="demo_command", required=True)
    demo_cmd.add_parser("reset", help="stop the stack, delete its data, re-seed from scratch")
    demo_cmd.add_parser("stop", help="stop the stack (its bucket is saved)")
    demo_cmd.add_parser("status", help="say whether a stack runs and where")

    smoke = commands.add_parser(
        "smoke", help="end-to-end check: open the window on the demo, play, seek, screenshot"
    )
    smoke.add_argument("--screenshot", required=True, help="PNG file to write")
    smoke.add_argument(
        "--cues", action="store_true", help="instead: start a demo ad break and verify it live"
    )

    profile = commands.add_parser("profile", help="connection profiles")
    profile_cmd = profile.add_subparsers(dest="profile_command", required=True)
    profile_cmd.add_parser("list", help="list profiles (no secrets)")
    add = profile_cmd.add_parser("add", help="add or replace a profile")
    add.add_argument("name")
    add.add_argument("--endpoint", required=True, help="S3 endpoint URL (R2: https://<acct>.r2…)")
    add.add_argument("--bucket", default="griddy-video")
    add.add_argument("--ssai-url", default="")
    add.add_argument("--assets-api-url", default="")
    add.add_argument("--channel", action="append", default=[], metavar="ORG/CHANNEL",
                     help="a live channel the operator may cue (repeatable)")
    add.add_argument("--source-prefix", default="",
                     help="key prefix of {game_id}.mp4 sources for spot-check fidelity")
    add.add_argument("--default", action="store_true", help="make it the default profile")
    keys = profile_cmd.add_parser("set-keys", help="store S3 keys in the OS keyring (prompted)")
    keys.add_argument("name")
    token = profile_cmd.add_parser("set-token", help="store an API token in the keyring (prompted)")
    token.add_argument("name")
    token.add_argument("api", choices=["assets", "cues"], help="which API the token is for")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


async def _catalog_list(profile: str | None, league: str | None, as_json: bool) -> int:
    context = await open_context(profile)
    try:
        printed_header = False

        def on_page(games) -> None:
            nonlocal printed_header
            if as_json:
                return
            if not printed_header:
                print(f"{'STATE':8} {'LEAGUE':6} {'DATE':10} {'ID':28} TITLE")
                printed_header = True
            for g in games:
                state = g.state.value if g.state else "?"
                print(f"{state:8} {g.league:6} {g.date:10} {g.id:28} {g.title}", flush=True)

        games = await context.catalog.list_games(league=league, on_page=on_page)
        if as_json:
            print(json.dumps([g.as_json() for g in games], indent=2))
        elif not games:
            print("No games." if not league else f"No games in league {league!r}.")
        return 0
    finally:
        context.close()


def _demo(command: str) -> int:
    from console.demo import stack

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


def _profile(args: argparse.Namespace) -> int:
    from console.profiles import (
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        Profile,
        load_profiles,
        save_profile,
    )
    from services.credentials import CredentialStore

    if args.profile_command == "list":
        profiles, default = load_profiles()
        if not profiles:
            print("No profiles: the console runs on the embedded demo stack.")
        for name, p in profiles.items():
            mark = "*" if name == default else " "
            extra = f"  sources={p.source_prefix}" if p.source_prefix else ""
            print(f"{mark} {name:16} {p.endpoint_url}  bucket={p.bucket}{extra}")
        return 0
    if args.profile_command == "add":
        profile = Profile(
            args.name,
            args.endpoint,
            args.bucket,
            ssai_url=args.ssai_url,
            assets_api_url=args.assets_api_url,
            channels=tuple(args.channel),
            source_prefix=args.source_prefix,
        )
        save_profile(profile, make_default=args.default)
        print(f"Profile {args.name!r} saved. Store its keys: main.py profile set-keys {args.name}")
        return 0
    if args.profile_command == "set-token":
        return _set_token(args.name, args.api)
    store = CredentialStore()
    key_id = input("S3 access key ID: ").strip()
    secret = getpass.getpass("S3 secret access key: ").strip()
    persisted = store.set(args.name, ACCESS_KEY_ID, key_id)
    store.set(args.name, SECRET_ACCESS_KEY, secret)
    if not persisted:
        print(f"Not saved: {store.status}.", file=sys.stderr)
        return 1
    print("Keys stored in the OS keyring.")
    return 0


def _set_token(name: str, api: str) -> int:
    """``profile set-token NAME assets``: prompt for the token, store it in the keyring."""
    from console.profiles import DEMO_PROFILE, load_profiles
    from services.credentials import CredentialStore

    if name == DEMO_PROFILE:
        print("The demo profile uses the embedded stack's fixed token.", file=sys.stderr)
        return 2
    profiles, _ = load_profiles()
    if name not in profiles:
        print(f"No profile named {name!r}: add it first (main.py profile add).", file=sys.stderr)
        return 2
    secret = getpass.getpass(f"{api.capitalize()} API token for {name}: ").strip()
    if not secret:
        print("No token entered: nothing stored.", file=sys.stderr)
        return 2
    store = CredentialStore()
    if not store.set(name, SSAI_TOKEN if api == "cues" else ASSETS_API_TOKEN, secret):
        print(f"Not saved: {store.status}.", file=sys.stderr)
        return 1
    print(f"{api.capitalize()} API token of {name!r} stored in the OS keyring.")
    return 0


# -- assets --------------------------------------------------------------------------------


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
        if args.command == "catalog":
            return asyncio.run(_catalog_list(args.profile, args.league, args.json))
        if args.command == "assets":
            return asyncio.run(run_assets(args))
        if args.command == "backfill":
            return asyncio.run(run_backfill(args))
        if args.command == "cue":
            return asyncio.run(run_cues(args))
        if args.command == "spotcheck":
            return asyncio.run(run_spotcheck(args))
        if args.command == "clip":
            return asyncio.run(run_clip(args))
        if args.command == "demo":
            return _demo(args.demo_command)
        if args.command == "smoke":
            from console.gui.smoke import run_smoke

            return run_smoke(args.screenshot, args.profile, cues=args.cues)
        if args.command == "profile":
            return _profile(args)
    except ServiceError as exc:
        print(describe(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2
