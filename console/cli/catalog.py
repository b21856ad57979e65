"""``main.py catalog list [--league L] [--json]``: games with their backfill state (v1,
partial, v1.5, broken), printed page by page as the listing arrives."""

from __future__ import annotations

import argparse
import json

from console.cli.session import CliSession


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``catalog`` on the CLI's sub-commands."""
    catalog = commands.add_parser("catalog", help="browse the catalog")
    catalog_cmd = catalog.add_subparsers(dest="catalog_command", required=True)
    listing = catalog_cmd.add_parser("list", help="list games with their backfill state")
    listing.add_argument("--league", help="only this league (case-insensitive)")
    listing.add_argument("--json", action="store_true", help="a JSON array of game objects")


async def run_catalog(args: argparse.Namespace) -> int:
    """``catalog list``: one line per game (or a JSON array); returns 0."""
    async with CliSession(args.profile) as session:
        printed_header = False

        def on_page(games) -> None:
            nonlocal printed_header
            if args.json:
                return
            if not printed_header:
                print(f"{'STATE':8} {'LEAGUE':6} {'DATE':10} {'ID':28} TITLE")
                printed_header = True
            for g in games:
                state = g.state.value if g.state else "?"
                print(f"{state:8} {g.league:6} {g.date:10} {g.id:28} {g.title}", flush=True)

        games = await session.context.catalog.list_games(league=args.league, on_page=on_page)
        if args.json:
            print(json.dumps([g.as_json() for g in games], indent=2))
        elif not games:
            print("No games." if not args.league else f"No games in league {args.league!r}.")
        return 0
