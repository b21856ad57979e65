"""``main.py audit``: the migration audit from the terminal, as one job of the shared jobs
model (and SQLite history) the GUI shows too.

``audit --game ID [--game ID…] | --league L [--sample N] [--seed S] [--json]``: judges each
game on the five success criteria through the real playback API and gate, prints a games ×
criteria table with every failure and the evidence line, the league's answer to "may the
v1 manifests be retired?", the storage cost and where the report is (JSON + CSV). Exit 0
when every criterion of every game passed (or was skipped, e.g. "not migrated") and the
cost stays in class, 1 when anything failed, 2 on a usage problem. ``--json`` prints the
report document (``services.audit.report``) on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from console.cli.progress import CliProgress
from console.cli.session import CliSession, Unusable
from console.ops.audit import KIND, AuditJobs, AuditPlan, plan_games, plan_league
from services.audit.model import CRITERION_IDS, LABELS
from services.errors import BadConfig
from services.jobs.model import JobState

MARKS = {"pass": "ok", "fail": "FAIL", "skip": "-"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``audit`` on the CLI's sub-commands."""
    audit = commands.add_parser(
        "audit", help="migration audit: the v1 → v1.5 success criteria through the real gate"
    )
    which = audit.add_mutually_exclusive_group(required=True)
    which.add_argument("--game", action="append", metavar="ID", help="this game (repeatable)")
    which.add_argument("--league", help="every game of this league (or a --sample)")
    audit.add_argument("--sample", type=int, metavar="N", help="a random sample of N games")
    audit.add_argument("--seed", type=int, help="the sample's and clips' seed (printed)")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")


def table(document: dict) -> list[str]:
    """The games × criteria table of a report document, with failures under each game."""
    header = f"{'game':34} " + " ".join(f"{LABELS[c].split()[0]:>4}" for c in CRITERION_IDS)
    lines = [header + "  verdict"]
    for game in document["games"]:
        verdicts = {c["criterion"]: c for c in game["criteria"]}
        cells = " ".join(
            f"{MARKS.get(verdicts[c]['verdict'], '?') if c in verdicts else '?':>4}"
            for c in CRITERION_IDS
        )
        lines.append(f"{game['game_id']:34} {cells}  {game['verdict'].upper()}")
        if game.get("problem"):
            lines.append(f"    {game['problem']}")
        for criterion in game["criteria"]:
            if criterion["verdict"] == "skip" and criterion["criterion"] == "abr_same_url":
                lines.append(f"    {criterion['label']}: {criterion['summary']}")
            for check in criterion["checks"]:
                if check["verdict"] == "fail":
                    lines.append(f"    {criterion['label']} — {check['name']}: {check['detail']}")
    return lines


async def run_audit(args: argparse.Namespace) -> int:
    """The ``audit`` command; returns the exit code."""
    if args.sample is not None and args.sample < 1:
        raise Unusable("--sample N needs N of at least 1.")
    if args.sample is not None and not args.league:
        raise Unusable("--sample goes with --league.")
    out = sys.stderr if args.json else sys.stdout
    async with CliSession(args.profile, jobs=True) as session:
        context, runner = session.context, session.runner
        try:
            jobs = AuditJobs(context)
        except BadConfig as exc:
            raise Unusable(str(exc)) from None
        catalog = await context.catalog.list_games()
        plan: AuditPlan = (
            plan_games(catalog, args.game, args.seed)
            if args.game
            else plan_league(catalog, args.league, args.sample, args.seed)
        )
        if plan.league is not None:
            print(f"{plan.title()}: {len(plan.games)} of {plan.eligible} games", file=out)
        if not plan.games:
            print("Nothing to audit.", file=out)
            return 0
        with CliProgress(runner, stream=out):
            record = runner.submit(
                KIND,
                plan.target(),
                plan.title(),
                jobs.operation(plan, catalog),
                profile=context.profile.name,
            )
            record = await runner.wait(record.id)
        if record.state is not JobState.SUCCEEDED:
            print(f"ERROR {record.title}: {record.error}", file=out)
            return 1
        path = Path(record.result["report"])
        document = json.loads(path.read_text(encoding="utf-8"))
        for line in table(document):
            print(line, file=out)
        retire = document["retire_v1"]
        print(f"retire v1: {'yes' if retire['ready'] else 'no'} — {retire['why']}", file=out)
        print(f"cost: {document['cost']['summary']}", file=out)
        print(f"report: {path} (+ {path.with_name('audit.csv').name})", file=out)
        if args.json:
            print(json.dumps(document, indent=2))
        return 1 if document["verdict"] != "pass" else 0
