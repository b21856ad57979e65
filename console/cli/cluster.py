"""``main.py cluster start|stop|status`` (the demo profile's local Ray head) and the
``--on-cluster`` path of ``backfill`` and ``spotcheck``.

``cluster start [--num-cpus N]`` runs ``ray start --head`` on loopback (token auth, usage
stats off), recorded in ``<data dir>/cluster`` so GUI and CLI share it; ``stop`` stops it
and every process it started; ``status [--json]`` prints the profile's cluster: address,
Ray version, nodes, free/total CPUs and the console's unfinished jobs on it. Exit 0, 1
when the cluster is unreachable or refuses, 2 when the profile has none.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from console.cli.progress import CliProgress
from console.cli.session import CliSession, Unusable
from console.ops.cluster import (
    KIND,
    ClusterJobs,
    cluster_target,
    no_cluster_reason,
    start_demo_cluster,
    stop_demo_cluster,
)
from services.cluster.batch import ClusterBatch, GameRow, unfinished
from services.jobs.model import JobRecord
from services.ladder import Ladder


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``cluster`` on the CLI's sub-commands."""
    cluster = commands.add_parser("cluster", help="the Ray cluster of --on-cluster jobs")
    cluster_cmd = cluster.add_subparsers(dest="cluster_command", required=True)
    start = cluster_cmd.add_parser("start", help="start a local Ray head (demo profile)")
    start.add_argument("--num-cpus", type=int, help="CPUs it offers (default: this machine's)")
    cluster_cmd.add_parser("stop", help="stop the local Ray head and its workers")
    status = cluster_cmd.add_parser("status", help="address, nodes, CPUs, running jobs")
    status.add_argument("--json", action="store_true", help="print one JSON document")


def add_cluster_option(parser: argparse.ArgumentParser) -> None:
    """``--on-cluster`` for ``backfill`` and ``spotcheck``."""
    parser.add_argument(
        "--on-cluster",
        action="store_true",
        help="run one Ray job for the batch on the profile's cluster (one task per game)",
    )


async def run_cluster(args: argparse.Namespace) -> int:
    """The ``cluster`` command; returns the exit code."""
    command = args.cluster_command
    if command == "stop":
        print("Local Ray head stopped." if stop_demo_cluster() else "No local Ray head runs.")
        return 0
    async with CliSession(args.profile) as session:
        context = session.context
        if command == "start":
            if args.num_cpus is not None and args.num_cpus < 1:
                raise Unusable("--num-cpus must be at least 1.")
            head = start_demo_cluster(context, args.num_cpus)
            print(f"Local Ray head at {head.dashboard_url} ({head.num_cpus} CPUs).")
            print(f"Dashboard: {head.dashboard_url}/  token file: {head.token_path}")
            return 0
        target = cluster_target(context)
        if target is None:
            raise Unusable(f"No cluster: {no_cluster_reason(context)}.")
        client = target.connect()
        try:
            version = await client.version()
            resources = await client.resources()
            jobs = unfinished(await client.jobs(), context.profile.name)
        finally:
            await client.aclose()
        doc = {
            "address": target.address,
            "local": target.local,
            "ray_version": version.ray_version,
            "nodes": resources.nodes,
            "cpus_total": resources.cpus_total,
            "cpus_free": resources.cpus_free,
            "jobs": [
                {
                    "submission_id": j.submission_id,
                    "status": j.status,
                    "games": j.metadata.get("voc_games", ""),
                }
                for j in jobs
            ],
        }
        if args.json:
            print(json.dumps(doc, indent=2))
            return 0
        print(
            f"Ray {version.ray_version} at {target.address}: {resources.nodes} node(s), "
            f"{resources.cpus_free:g} of {resources.cpus_total:g} CPUs free"
        )
        for job in doc["jobs"]:
            print(f"  {job['submission_id']}  {job['status']}  {job['games']}")
        return 0


def _printer(out: TextIO):
    def on_game(row: GameRow) -> None:
        if row.finished:
            print(
                f"[{row.game}] {row.state} on {row.node or '?'}: {row.summary or row.error}",
                file=out,
            )

    return on_game


async def run_on_cluster(
    session: CliSession,
    kind: str,
    games: list[str],
    ladder: Ladder,
    out: TextIO = sys.stdout,
    *,
    force: bool = False,
    source_prefix: str = "",
) -> tuple[JobRecord, ClusterBatch]:
    """Run ``games`` as one cluster batch of ``kind`` in the session's runner (progress on
    ``out``, one line per finished game); returns the finished job record and the batch
    (its ``games`` rows). Raises ``Unusable`` when the profile has no cluster."""
    context, runner = session.context, session.runner
    assert runner is not None, "run_on_cluster needs a CliSession opened with jobs=True"
    target = cluster_target(context)
    if target is None:
        raise Unusable(f"--on-cluster: {no_cluster_reason(context)}.")
    jobs = ClusterJobs(context, target)
    spec = jobs.spec(kind, games, ladder, force=force, source_prefix=source_prefix)
    batch = jobs.operation(spec, on_game=_printer(out))
    print(f"on the Ray cluster at {target.address}", file=out)
    with CliProgress(runner, stream=out):
        record = runner.submit(
            KIND, jobs.target_key(spec), jobs.title(spec), batch, profile=context.profile.name
        )
        return await runner.wait(record.id), batch
