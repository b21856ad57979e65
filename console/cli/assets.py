"""`python main.py assets …`: list video assets, show an asset's processing timeline, and
retry assets after a confirmation (one idempotency key per asset; a 409 is shown, never
retried blindly). Exit codes: 0 done, 1 failed or not all retried, 2 unusable."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from console.cli.session import CliSession, Unusable
from console.context import AppContext
from console.ops.retries import retry_assets, unique_post_ids
from services.assets_batch import iter_pages
from services.assets_model import RETRYABLE, Asset, AssetStatus, ProcessingEvent, RetryResult
from services.clock import iso_z
from services.errors import NotFound

#: assets per request while listing (the API allows 1..200)
ASSETS_PAGE_SIZE = 50


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``assets`` on the CLI's sub-commands."""
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _time_text(value: datetime, *, millis: bool = False) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS[.mmm]`` UTC."""
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if millis else text[:-7]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value, timespec="auto")
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


async def _assets_list(context: AppContext, args: argparse.Namespace) -> int:
    client = context.assets
    assert client is not None
    found: list[Asset] = []
    more = False
    pages = iter_pages(
        client,
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
    unique = unique_post_ids(post_ids)
    if not yes and not await _confirm_retry(context, unique):
        print("Nothing retried.")
        return 1
    width = max(len(p) for p in unique)

    def show(result: RetryResult) -> None:
        print(f"{result.outcome:9}  {result.post_id.ljust(width)}  {result.message}", flush=True)

    outcome = await retry_assets(client, unique, on_result=show)
    retried = len(outcome.retried)
    failed = len(outcome.results) - retried
    print(f"{retried} retried, {failed} not retried." if failed else f"{retried} retried.")
    return 0 if not failed else 1


async def run_assets(args: argparse.Namespace) -> int:
    """``assets list|events|retry``; 0 done, 1 failed or not all retried, 2 unusable."""
    if args.assets_command == "retry" and not args.yes and not sys.stdin.isatty():
        raise Unusable(
            "Refusing to retry without confirmation: no terminal to ask on. "
            "Re-run with --yes to retry without asking."
        )
    async with CliSession(args.profile, needs="assets") as session:
        context = session.context
        if args.assets_command == "list":
            return await _assets_list(context, args)
        if args.assets_command == "events":
            return await _assets_events(context, args.post_id, args.json)
        return await _assets_retry(context, args.post_ids, args.yes)
