"""``main.py backfill``: ABR backfill jobs from the terminal, in the same jobs model (and
SQLite history) as the GUI.

``backfill --game ID [--game ID…] | --league L [--limit N] [--force] [--yes]
[--on-cluster]``: plans the request (``console.ops.backfill``), asks before writing to a
non-demo profile (unless ``--yes``), runs the jobs one encode at a time with a progress
line (or, with ``--on-cluster``, as one Ray job with a task per game: ``console.cli.
cluster``), and exits 0 when every job succeeded, 1 when any failed or was cancelled, 2 on
a usage problem.

``VIDEO_OPS_TEST_HOLD_AFTER=<stage>`` (fault injection for the crash-safety tests) makes a
job print ``HOLD <stage>`` and wait forever after that durable step ("ledger", "anchor",
"published"), so a test can SIGKILL the process tree at that exact point.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from console.cli.cluster import add_cluster_option, run_on_cluster
from console.cli.progress import CliProgress
from console.cli.session import CliSession, Unusable
from console.context import AppContext
from console.ops.backfill import KIND, BackfillJobs, BackfillPlan, plan_batch
from services.backfill.game_backfill import Checkpoint, no_checkpoint
from services.catalog import GameSummary
from services.jobs.model import JobState

HOLD_ENV = "VIDEO_OPS_TEST_HOLD_AFTER"


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``backfill`` on the CLI's sub-commands."""
    backfill = commands.add_parser(
        "backfill", help="encode v1 games into the ABR ladder (v1 → v1.5), resumable"
    )
    which = backfill.add_mutually_exclusive_group(required=True)
    which.add_argument("--game", action="append", metavar="ID", help="this game (repeatable)")
    which.add_argument("--league", help="every v1/partial game of this league")
    backfill.add_argument("--limit", type=int, help="at most N games of the league")
    backfill.add_argument("--force", action="store_true", help="re-encode v1.5 games too")
    backfill.add_argument("--yes", action="store_true", help="do not ask before writing")
    add_cluster_option(backfill)


def hold_checkpoint() -> Checkpoint:
    """The checkpoint named by ``$VIDEO_OPS_TEST_HOLD_AFTER``, else one that goes on."""
    stage = os.environ.get(HOLD_ENV, "")
    if not stage:
        return no_checkpoint

    async def hold(reached: str) -> None:
        if reached == stage:
            print(f"HOLD {reached}", flush=True)
            await asyncio.Event().wait()

    return hold


async def _plan(context: AppContext, args: argparse.Namespace) -> BackfillPlan:
    if args.game:
        return BackfillPlan(tuple(GameSummary(game_id) for game_id in args.game), ())
    games = await context.catalog.list_games(league=args.league)
    return plan_batch(games, force=args.force, limit=args.limit)


def _confirmed(context: AppContext, plan: BackfillPlan, yes: bool, where: str) -> bool:
    """Demo profile: go. Another profile: ``--yes`` or a typed "yes" on a terminal."""
    if context.profile.is_demo or yes:
        return True
    if not sys.stdin.isatty():
        print(
            f"Refusing to write to profile {context.profile.name!r} without confirmation: "
            "add --yes.",
            file=sys.stderr,
        )
        return False
    answer = input(
        f"Backfill {len(plan.games)} game(s) in bucket {context.profile.bucket!r} of profile "
        f"{context.profile.name!r}? This writes rung objects, master.v1.m3u8 and master.m3u8. "
        f"It runs {where}. Type yes: "
    )
    return answer.strip().lower() == "yes"


async def run_backfill(args: argparse.Namespace) -> int:
    """The ``backfill`` command; returns the exit code."""
    if args.limit is not None and args.limit < 1:
        raise Unusable("--limit must be at least 1.")
    async with CliSession(args.profile, jobs=True) as session:
        context, runner = session.context, session.runner
        jobs = BackfillJobs(context)
        plan = await _plan(context, args)
        for game, reason in plan.skipped:
            print(f"skip {game.id}: {reason}")
        if not plan.games:
            print("Nothing to backfill.")
            return 0
        print(
            f"{len(plan.games)} game(s) to backfill with {jobs.ladder.label} on profile "
            f"{context.profile.name!r}: {', '.join(g.id for g in plan.games)}"
        )
        where = "on the profile's Ray cluster" if args.on_cluster else "on this machine"
        if not _confirmed(context, plan, args.yes, where):
            return 2
        if args.on_cluster:
            _, batch = await run_on_cluster(
                session, "backfill", [g.id for g in plan.games], jobs.ladder, force=args.force
            )
            rows = list(batch.games.values())
            done = sum(r.state == "succeeded" for r in rows)
            print(f"{done} of {len(rows)} backfill(s) succeeded on the cluster.")
            return 0 if done == len(rows) else 1
        checkpoint = hold_checkpoint()
        with CliProgress(runner):
            records = [
                runner.submit(
                    KIND,
                    game.id,
                    jobs.title(game.id),
                    jobs.operation(game.id, force=args.force, checkpoint=checkpoint),
                    profile=context.profile.name,
                )
                for game in plan.games
            ]
            finished = [await runner.wait(r.id) for r in records]
        failed = [r for r in finished if r.state is not JobState.SUCCEEDED]
        print(f"{len(finished) - len(failed)} of {len(finished)} backfill(s) succeeded.")
        return 1 if failed else 0
