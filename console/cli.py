"""Command-line parity with the GUI: the same services, the same demo stack.

``python main.py`` (no command) opens the GUI. Exit codes: 0 success, 1 operation failed,
2 usage or environment problem (no display, bad profile).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import json
import sys
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from console.context import ASSETS_API_TOKEN, AppContext, open_context
from console.errors import describe
from services.assets_model import RETRYABLE, Asset, AssetStatus, ProcessingEvent, RetryResult
from services.errors import AccessDenied, NotFound, ServiceError

#: assets asked per listing request (the API's page size); ``--limit`` bounds the total
ASSETS_PAGE_SIZE = 50


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

    demo = commands.add_parser("demo", help="the embedded demo stack")
    demo_cmd = demo.add_subparsers(dest="demo_command", required=True)
    demo_cmd.add_parser("reset", help="stop the stack, delete its data, re-seed from scratch")
    demo_cmd.add_parser("stop", help="stop the stack (its bucket is saved)")
    demo_cmd.add_parser("status", help="say whether a stack runs and where")

    smoke = commands.add_parser(
        "smoke", help="end-to-end check: open the window on the demo, play, seek, screenshot"
    )
    smoke.add_argument("--screenshot", required=True, help="PNG file to write")

    profile = commands.add_parser("profile", help="connection profiles")
    profile_cmd = profile.add_subparsers(dest="profile_command", required=True)
    profile_cmd.add_parser("list", help="list profiles (no secrets)")
    add = profile_cmd.add_parser("add", help="add or replace a profile")
    add.add_argument("name")
    add.add_argument("--endpoint", required=True, help="S3 endpoint URL (R2: https://<acct>.r2…)")
    add.add_argument("--bucket", default="griddy-video")
    add.add_argument("--ssai-url", default="")
    add.add_argument("--assets-api-url", default="")
    add.add_argument("--default", action="store_true", help="make it the default profile")
    keys = profile_cmd.add_parser("set-keys", help="store S3 keys in the OS keyring (prompted)")
    keys.add_argument("name")
    token = profile_cmd.add_parser("set-token", help="store an API token in the keyring (prompted)")
    token.add_argument("name")
    token.add_argument("api", choices=["assets"], help="which API the token is for")
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
            print(f"{mark} {name:16} {p.endpoint_url}  bucket={p.bucket}")
        return 0
    if args.profile_command == "add":
        profile = Profile(
            args.name, args.endpoint, args.bucket, "auto", args.ssai_url, args.assets_api_url
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
    if not store.set(name, ASSETS_API_TOKEN, secret):
        print(f"Not saved: {store.status}.", file=sys.stderr)
        return 1
    print(f"{api.capitalize()} API token of {name!r} stored in the OS keyring.")
    return 0


# -- assets --------------------------------------------------------------------------------


def _time_text(value: datetime, *, millis: bool = False) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS[.mmm]`` UTC."""
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if millis else text[:-7]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    return value


def _record_json(record: Asset | ProcessingEvent) -> dict[str, Any]:
    """An asset or event as the API's JSON object (times ISO-8601 UTC ``Z``)."""
    return {k: _json_value(v) for k, v in dataclasses.asdict(record).items()}


def _duration_text(seconds: float) -> str:
    """A duration for the timeline: ``0.4 s``, ``12 s``, ``3 min 05 s``, ``2 h 04 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600):02d} h"


def _one_line(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _assets_error(exc: ServiceError, context: AppContext) -> str:
    if isinstance(exc, AccessDenied) and not context.profile.is_demo:
        return (
            f"{exc} Set the profile's token: main.py profile set-token "
            f"{context.profile.name} assets"
        )
    return describe(exc)


async def _assets_list(context: AppContext, args: argparse.Namespace) -> int:
    client = context.assets
    assert client is not None
    found: list[Asset] = []
    more = False
    pages = client.iter_pages(
        status=args.status,
        error_code=args.error_code,
        text=args.text,
        limit=min(ASSETS_PAGE_SIZE, args.limit),
    )
    async with contextlib.aclosing(pages):
        async for page in pages:
            room = args.limit - len(found)
            found.extend(page.items[:room])
            if len(found) >= args.limit:
                more = len(page.items) > room or page.next_cursor is not None
                break
    if args.json:
        print(json.dumps([_record_json(a) for a in found], indent=2))
    elif not found:
        print("No assets match.")
    else:
        rows = [
            (
                a.post_id,
                a.status.value,
                a.error_code or "-",
                str(a.attempts),
                _time_text(a.updated_at),
                _one_line(a.error_message, 70),
            )
            for a in found
        ]
        header = ("POST_ID", "STATUS", "ERROR_CODE", "ATTEMPTS", "UPDATED (UTC)", "MESSAGE")
        widths = [max(len(r[i]) for r in [*rows, header]) for i in range(5)]
        for row in (header, *rows):
            cells = [cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)]
            print("  ".join([*cells, row[5]]).rstrip())
    if more:
        print(f"(first {len(found)} shown: raise --limit for more)", file=sys.stderr)
    return 0


async def _assets_events(context: AppContext, post_id: str, as_json: bool) -> int:
    client = context.assets
    assert client is not None
    try:
        asset, events = await asyncio.gather(client.get_asset(post_id), client.events(post_id))
    except NotFound:
        print(f"No asset with post id {post_id!r}.", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps([_record_json(e) for e in events], indent=2))
        return 0
    error = f"  error {asset.error_code}: {asset.error_message or ''}" if asset.error_code else ""
    print(f"Asset {asset.post_id}  status {asset.status.value}  attempts {asset.attempts}{error}")
    if not events:
        print("No processing events.")
        return 0
    rows = []
    previous: datetime | None = None
    for event in events:
        delta = (
            ""
            if previous is None
            else "+" + _duration_text((event.created_at - previous).total_seconds())
        )
        previous = event.created_at
        if event.from_status or event.to_status:
            transition = f"{event.from_status or '∅'} → {event.to_status or '∅'}"
        else:
            transition = ""
        payload = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
        rows.append(
            (_time_text(event.created_at, millis=True), delta, event.type, transition, payload)
        )
    header = ("TIME (UTC)", "AFTER", "EVENT", "TRANSITION", "PAYLOAD")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(4)]
    for row in (header, *rows):
        cells = [cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4] if row[4] != "{}" else ""]).rstrip())
    return 0


async def _confirm_retry(context: AppContext, post_ids: list[str]) -> bool:
    """Show what will be retried (with each asset's status now) and ask on the terminal."""
    client = context.assets
    assert client is not None
    gate = asyncio.Semaphore(8)

    async def status_of(post_id: str) -> str:
        async with gate:
            try:
                asset = await client.get_asset(post_id)
            except NotFound:
                return "not found"
        if asset.status in RETRYABLE:
            return f"{asset.status.value} ({asset.error_code or 'no error code'})"
        return f"{asset.status.value} (not failed: the API will refuse it)"

    statuses = await asyncio.gather(*(status_of(p) for p in post_ids))
    width = max(len(p) for p in post_ids)
    print("Will retry:")
    for post_id, status in zip(post_ids, statuses, strict=True):
        print(f"  {post_id.ljust(width)}  {status}")
    try:
        answer = input(f"Retry {len(post_ids)} asset{'s' if len(post_ids) != 1 else ''}? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


async def _assets_retry(context: AppContext, post_ids: list[str], yes: bool) -> int:
    client = context.assets
    assert client is not None
    unique = list(dict.fromkeys(post_ids))
    if not yes and not await _confirm_retry(context, unique):
        print("Nothing retried.")
        return 1
    width = max(len(p) for p in unique)

    def show(result: RetryResult) -> None:
        print(f"{result.outcome:9}  {result.post_id.ljust(width)}  {result.message}", flush=True)

    results = await client.retry_many(unique, on_result=show)
    retried = sum(r.ok for r in results)
    failed = len(results) - retried
    print(f"{retried} retried, {failed} not retried." if failed else f"{retried} retried.")
    return 0 if not failed else 1


async def _assets(args: argparse.Namespace) -> int:
    """``assets list|events|retry``; 0 done, 1 failed or not all retried, 2 unusable."""
    if args.assets_command == "retry" and not args.yes and not sys.stdin.isatty():
        print(
            "Refusing to retry without confirmation: no terminal to ask on. "
            "Re-run with --yes to retry without asking.",
            file=sys.stderr,
        )
        return 2
    context = await open_context(args.profile)
    try:
        if context.assets is None:
            print(f"The assets API is not available: {context.assets_problem}.", file=sys.stderr)
            return 2
        try:
            if args.assets_command == "list":
                return await _assets_list(context, args)
            if args.assets_command == "events":
                return await _assets_events(context, args.post_id, args.json)
            return await _assets_retry(context, args.post_ids, args.yes)
        except ServiceError as exc:
            print(_assets_error(exc, context), file=sys.stderr)
            return 1
    finally:
        await context.aclose()


def main(argv: list[str]) -> int:
    """Run one command (or the GUI when there is none); returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command is None:
            from console.app import run_gui

            return run_gui(args.profile)
        if args.command == "catalog":
            return asyncio.run(_catalog_list(args.profile, args.league, args.json))
        if args.command == "assets":
            return asyncio.run(_assets(args))
        if args.command == "demo":
            return _demo(args.demo_command)
        if args.command == "smoke":
            from console.smoke import run_smoke

            return run_smoke(args.screenshot, args.profile)
        if args.command == "profile":
            return _profile(args)
    except ServiceError as exc:
        print(describe(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2
