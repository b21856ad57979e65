"""The entrypoint of a cluster job: ``python -m services.cluster.driver KIND --game ID…``.

Runs on the cluster (Ray's job supervisor starts it in the uploaded ``working_dir``), never
in the console. It

1. refuses to start (event ``refused``, exit 3) when the code it imported is not the
   package the console built (``--fingerprint``), or when any alive node's pinned ffmpeg
   differs from the console's (one tiny task per node, pinned there with
   ``NodeAffinitySchedulingStrategy``);
2. submits **one Ray task per game** (``services.cluster.tasks.run_game``: the same
   ``GameBackfill`` / ``GameSpotcheck`` as the local path), ``num_cpus`` from the ladder,
   ``max_retries`` for lost workers (an application error is a result, never retried);
3. prints a ``finished`` event per game as its task ends, and exits 0 when every game
   succeeded, 1 otherwise;
4. on SIGTERM (``POST /api/jobs/{id}/stop``) force-cancels every task (their workers die,
   and with them their ffmpeg: ``PR_SET_PDEATHSIG``), prints ``cancelled`` for the
   unfinished games and exits 143.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import services
from services.cluster.events import event_line
from services.cluster.package import fingerprint_of
from services.cluster.tasks import GameRequest, run_game, version_problem


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="services.cluster.driver")
    parser.add_argument("kind", choices=("backfill", "spotcheck"))
    parser.add_argument("--game", action="append", required=True)
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--region", default="auto")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--source-prefix", default="")
    parser.add_argument("--fingerprint", required=True)
    parser.add_argument("--ffmpeg-version", required=True)
    parser.add_argument("--cpus-per-task", type=float, default=1.0)
    parser.add_argument("--max-retries", type=int, default=3)
    return parser


def _say(event: str, game: str = "", **fields: Any) -> None:
    print(event_line(event, game, **fields), flush=True)


def _node_check(expected_ffmpeg: str) -> str:
    os.environ.setdefault("VOC_RAY_NODE_ID", _node_id())
    return version_problem(expected_ffmpeg)


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def _game_task(request: dict[str, Any]) -> dict[str, Any]:
    os.environ["VOC_RAY_NODE_ID"] = _node_id()
    return run_game(GameRequest(**request))


def _preflight(ray: Any, expected_ffmpeg: str) -> list[str]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    check = ray.remote(num_cpus=0)(_node_check)
    refs = [
        check.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        ).remote(expected_ffmpeg)
        for node in ray.nodes()
        if node.get("Alive")
    ]
    return [problem for problem in ray.get(refs) if problem]


def main(argv: list[str] | None = None) -> int:
    """Run the batch the arguments describe; returns the exit code (module docstring)."""
    args = _parser().parse_args(argv)
    root = Path(services.__file__).resolve().parent.parent
    found = fingerprint_of(root)
    if found != args.fingerprint:
        _say(
            "refused",
            reason=(
                f"the cluster imported project version {found[:12]} from {root}, the console "
                f"is {args.fingerprint[:12]}: an installed copy of the console shadows the "
                "job's package on the cluster (remove it from the cluster's image), or the "
                "package uploaded under this version holds other code"
            ),
        )
        return 3
    import ray

    ray.init(log_to_driver=True)
    problems = _preflight(ray, args.ffmpeg_version)
    if problems:
        _say("refused", reason="; ".join(problems))
        return 3
    task = ray.remote(_game_task)
    pending: dict[Any, str] = {}
    for game in args.game:
        request = GameRequest(
            kind=args.kind,
            game_id=game,
            job_id=args.job_id,
            endpoint_url=args.endpoint,
            bucket=args.bucket,
            region=args.region,
            ffmpeg_version=args.ffmpeg_version,
            root=str(root),
            force=args.force,
            source_prefix=args.source_prefix,
        )
        options = task.options(
            name=f"{args.kind}:{game}",
            num_cpus=args.cpus_per_task,
            max_retries=args.max_retries,
            retry_exceptions=False,
        )
        pending[options.remote(asdict(request))] = game
        _say("queued", game)

    def stop(signum: int, frame: Any) -> None:
        for ref, game in list(pending.items()):
            ray.cancel(ref, force=True)
            _say("finished", game, state="cancelled", error="stopped on the operator's request")
        pending.clear()
        sys.stdout.flush()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    failed = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in ready:
            game = pending.pop(ref, None)
            if game is None:
                continue
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # the task's workers were lost more than max_retries
                outcome = {"state": "failed", "error": f"the task failed on the cluster: {exc}"}
            failed += outcome.get("state") != "succeeded"
            _say("finished", game, **outcome)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
