"""``main.py ledger v1-playlist --game ID [-o FILE]``: the ledger's copy of a backfilled
game's v1 playlist (issue 18), checked against the SHA-256 the ledger records, printed or
written to a new file, so that a changed ``master.v1.m3u8`` can be restored byte for byte by
someone holding the store's admin credentials. Reads only: the console never writes the
rollback anchor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.cli.session import CliSession, Unusable
from services.abr.v1_copy import recorded_v1_playlist
from services.layout import GameKeys


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``ledger v1-playlist`` on the CLI's sub-commands."""
    ledger = commands.add_parser("ledger", help="what a game's packaging ledger records")
    sub = ledger.add_subparsers(dest="ledger_command", required=True)
    copy = sub.add_parser(
        "v1-playlist", help="the ledger's copy of the v1 playlist (to restore master.v1.m3u8)"
    )
    copy.add_argument("--game", required=True, metavar="ID")
    copy.add_argument("-o", "--output", help="write it to this new file instead of stdout")


async def run_ledger(args: argparse.Namespace) -> int:
    """Run ``ledger v1-playlist``; returns the exit code (service errors propagate to
    ``console.cli.entry.main``: printed, exit 1). An existing output file is never
    overwritten (``Unusable``, exit 2)."""
    async with CliSession(args.profile) as session:
        data, sha256 = await recorded_v1_playlist(session.context.storage, args.game)
    if not args.output:
        sys.stdout.buffer.write(data)
        return 0
    path = Path(args.output)
    try:
        with path.open("xb") as out:
            out.write(data)
    except FileExistsError:
        raise Unusable(f"{path} exists: choose a new file name (nothing was written).") from None
    except OSError as exc:
        raise Unusable(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    anchor = GameKeys(args.game).anchor
    print(
        f"Wrote {len(data)} bytes to {path} (SHA-256 {sha256}, the one the ledger records). "
        f"Upload it over {anchor} with the store's admin credentials; the console never "
        "writes the rollback anchor.",
        file=sys.stderr,
    )
    return 0
