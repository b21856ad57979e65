"""``main.py ladder calibrate``: measure the ladder's spot-check floors on clean games.

``ladder calibrate --game ID [--game ID…] [--per-game] [--json]`` spot-checks the given
backfilled games (the same jobs, job history and reports as ``main.py spotcheck``), refuses
a game that fails anything but the quality floors being calibrated (it is not clean: the
error names it and its failures), and prints one table per rung: each thresholded
quantity's worst clean figure and the game it came from, the ladder's current floor or
limit, the suggested floor (worst clean - margin) and the margin
(``services.spotcheck.calibration``); then the ladder-wide A/V offset shift a clean encode
measures. ``--per-game`` adds every game's figure; ``--json`` prints the calibration as one
JSON document on stdout (progress on stderr). Exit 0 when calibrated, 1 when a job failed
or a game is not clean.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from console.cli.session import CliSession, Unusable
from console.cli.spotcheck import run_jobs
from console.ops.spotcheck import SpotcheckJobs
from services.jobs.model import JobState
from services.spotcheck.calibration import Calibration, Figure, calibrate
from services.spotcheck.checks import GameReport
from services.spotcheck.report import read_report


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``ladder`` on the CLI's sub-commands."""
    ladder = commands.add_parser("ladder", help="the ABR ladder: calibrate its spot-check floors")
    sub = ladder.add_subparsers(dest="ladder_command", required=True)
    cal = sub.add_parser(
        "calibrate", help="spot-check clean backfilled games and suggest each rung's floors"
    )
    cal.add_argument(
        "--game", action="append", required=True, metavar="ID", help="a clean game (repeatable)"
    )
    cal.add_argument("--per-game", action="store_true", help="also print every game's figures")
    cal.add_argument("--json", action="store_true", help="print the calibration as one JSON")


def _value(figure: Figure, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.{figure.quantity.digits}f}"


def _worst(figure: Figure) -> str:
    if figure.quantity.worst == "shift":
        if figure.lowest is None:
            return "-"
        return f"{_value(figure, figure.lowest)}..{_value(figure, figure.highest)}"
    return _value(figure, figure.worst)


def print_calibration(calibration: Calibration, out: TextIO, *, per_game: bool = False) -> None:
    """The calibration as one table per rung (units in the quantity column)."""
    print(
        f"Calibration of {calibration.ladder} on {len(calibration.games)} clean game(s): "
        + ", ".join(calibration.games),
        file=out,
    )
    header = f"  {'quantity':34} {'worst clean':>14} {'current':>8} {'suggested':>9} {'margin':>7}"
    for rung in calibration.rungs:
        print(file=out)
        if not rung.games:
            print(f"{rung.rung}: not measured (no calibration game has this rung)", file=out)
            continue
        print(f"{rung.rung} ({len(rung.games)} game(s))", file=out)
        print(header + "  worst game", file=out)
        for figure in rung.figures:
            q = figure.quantity
            label = f"{q.label} ({q.unit})" if q.unit else q.label
            print(
                f"  {label:34} {_worst(figure):>14} {_value(figure, figure.current):>8} "
                f"{_value(figure, figure.suggested):>9} {_value(figure, q.margin):>7}  "
                f"{figure.worst_game}",
                file=out,
            )
        if per_game:
            for game in rung.games:
                values = [
                    f"{f.quantity.key}={_value(f, dict(f.values).get(game))}" for f in rung.figures
                ]
                print(f"    {game}: " + " ".join(values), file=out)
    print(file=out)
    if calibration.av_offset_shift_ms is None:
        print("A/V: no rung has audio.", file=out)
        return
    print(
        f"A/V offset shift of a clean encode (rung - reference, every rung and game): "
        f"{calibration.av_offset_shift_ms:+.1f} ms, clean figures within "
        f"±{calibration.av_offset_error_ms:.1f} ms of it; end offsets within "
        f"±{calibration.av_end_error_ms or 0.0:.1f} ms of the shift + priming "
        f"({calibration.priming_ms:+.1f} ms)",
        file=out,
    )


def _reports(finished, out: TextIO) -> list[GameReport] | None:
    games: list[GameReport] = []
    ok = True
    for record in finished:
        if record.state is not JobState.SUCCEEDED:
            print(f"ERROR {record.target}: {record.error}", file=out)
            ok = False
            continue
        games += read_report(Path(record.result["report"]))
    return games if ok else None


async def run_ladder(args: argparse.Namespace) -> int:
    """The ``ladder`` command; returns the exit code."""
    if args.ladder_command != "calibrate":
        raise Unusable(f"Unknown ladder command {args.ladder_command!r}.")
    if len(set(args.game)) != len(args.game):
        raise Unusable("A --game is given twice.")
    out = sys.stderr if args.json else sys.stdout
    async with CliSession(args.profile, jobs=True) as session:
        jobs = SpotcheckJobs(session.context)
        finished = await run_jobs(session, jobs, list(args.game), out)
        games = _reports(finished, out)
        if games is None:
            return 1
        calibration = calibrate(games, jobs.ladder)
        print_calibration(calibration, out, per_game=args.per_game)
        if args.json:
            document = calibration.as_json()
            document["reports"] = [r.result["report"] for r in finished]
            print(json.dumps(document, indent=2))
        return 0
