"""``main.py spotcheck``: spot-check jobs from the terminal, in the same jobs model (and
SQLite history) as the GUI.

``spotcheck --game ID [--game ID…] | --league L --sample N [--seed S] [--source-prefix P]
[--json] [--on-cluster]``: runs one job per game (one at a time; with ``--on-cluster`` one
Ray job with a task per game, ``console.cli.cluster``), prints each game's verdict with the
failed checks and where its report is, and exits 0 when every check of every game passed,
1 when any failed (or a job could not run), 2 on a usage problem. With ``--json`` stdout is
one JSON document (``{"verdict", "seed", "reports", "games"}``; ``games`` as in the
report schema, ``services.spotcheck.report``) and progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from console.cli.cluster import add_cluster_option, run_on_cluster
from console.cli.progress import CliProgress
from console.cli.session import CliSession, Unusable
from console.context import AppContext
from console.ops.spotcheck import KIND, SpotcheckJobs, SpotcheckPlan, new_seed, sample_games
from services.catalog import GameSummary
from services.jobs.model import JobRecord, JobState


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``spotcheck`` on the CLI's sub-commands."""
    spot = commands.add_parser(
        "spotcheck", help="check backfilled games: checksums, fidelity, PSNR/SSIM/VMAF, HLS rules"
    )
    which = spot.add_mutually_exclusive_group(required=True)
    which.add_argument("--game", action="append", metavar="ID", help="this game (repeatable)")
    which.add_argument("--league", help="a random sample of this league's v1.5 games")
    spot.add_argument("--sample", type=int, metavar="N", help="how many games of the league")
    spot.add_argument("--seed", type=int, help="the sample's random seed (printed when omitted)")
    spot.add_argument(
        "--source-prefix",
        default=None,
        help="key prefix of {game_id}.mp4 sources, besides games/ID/source.mp4 "
        "(default: the profile's source_prefix)",
    )
    spot.add_argument("--json", action="store_true", help="print the reports as one JSON")
    add_cluster_option(spot)


async def _plan(context: AppContext, args: argparse.Namespace) -> SpotcheckPlan:
    if args.game:
        return SpotcheckPlan(tuple(GameSummary(game_id) for game_id in args.game))
    games = await context.catalog.list_games(league=args.league)
    seed = args.seed if args.seed is not None else new_seed()
    return sample_games(games, args.sample, seed)


async def run_jobs(
    session: CliSession, jobs: SpotcheckJobs, game_ids: list[str], out: TextIO
) -> list[JobRecord]:
    """Spot-check ``game_ids`` one job each (in the session's runner and job history),
    progress on ``out``; returns the finished job records in the same order. Shared with
    ``main.py ladder calibrate``."""
    runner = session.runner
    assert runner is not None, "run_jobs needs a CliSession opened with jobs=True"
    profile = session.context.profile.name
    with CliProgress(runner, stream=out):
        records = [
            runner.submit(KIND, game, jobs.title(game), jobs.operation(game), profile=profile)
            for game in game_ids
        ]
        return [await runner.wait(r.id) for r in records]


async def run_spotcheck(args: argparse.Namespace) -> int:
    """The ``spotcheck`` command; returns the exit code."""
    if args.league and (args.sample is None or args.sample < 1):
        raise Unusable("--league needs --sample N (N at least 1).")
    out = sys.stderr if args.json else sys.stdout
    async with CliSession(args.profile, jobs=True) as session:
        context = session.context
        jobs = SpotcheckJobs(context, source_prefix=args.source_prefix)
        plan = await _plan(context, args)
        if plan.seed is not None:
            print(
                f"sample of {len(plan.games)} of {plan.eligible} v1.5 games in "
                f"{args.league!r} (seed {plan.seed})",
                file=out,
            )
        if not plan.games:
            print("Nothing to spot-check.", file=out)
            if args.json:
                print(
                    json.dumps(
                        {"verdict": "pass", "seed": plan.seed, "reports": [], "games": []}, indent=2
                    )
                )
            return 0
        ids = [g.id for g in plan.games]
        if args.on_cluster:
            _, batch = await run_on_cluster(
                session, KIND, ids, jobs.ladder, out, source_prefix=jobs.source_prefix
            )
            finished = [
                (r.game, r.result if r.state == "succeeded" else None, r.error or r.state)
                for r in batch.games.values()
            ]
        else:
            finished = [
                (r.target, r.result if r.state is JobState.SUCCEEDED else None, r.error)
                for r in await run_jobs(session, jobs, ids, out)
            ]
        games, reports, failed = [], [], False
        for target, result, error in finished:
            if result is None:
                failed = True
                print(f"ERROR {target}: {error}", file=out)
                continue
            reports.append(result["report"])
            failed = failed or result["verdict"] != "pass"
            print(f"{result['verdict'].upper():5} {target}  report: {result['report']}", file=out)
            for line in result.get("failures", []):
                finding, _, step = line.partition(" -> next: ")
                print(f"      {finding}", file=out)
                if step:
                    print(f"        next: {step}", file=out)
            document = json.loads(Path(result["report"]).read_text(encoding="utf-8"))
            games += document["games"]
        passed = sum(g["verdict"] == "pass" for g in games)
        print(f"{passed} of {len(finished)} game(s) passed every check.", file=out)
        if args.json:
            print(
                json.dumps(
                    {
                        "verdict": "fail" if failed else "pass",
                        "seed": plan.seed,
                        "reports": reports,
                        "games": games,
                    },
                    indent=2,
                )
            )
        return 1 if failed else 0
