"""`python main.py monitor [--channel C…] [--duration S] [--json] [--csv PATH]`: watch every
variant of the profile's live channels (``console.ops.monitor``), print each alarm as it is
raised or cleared, then one line per channel × variant. Exit codes: 0 no alarm was raised,
1 at least one was, 2 unusable (no cue service)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from console.cli.session import CliSession
from console.ops.monitor import MonitorRun, channel_targets
from services.monitor.model import MonitorEvent, VariantStatus


def add_parser(commands) -> None:
    """The ``monitor`` command on ``commands`` (an argparse subparsers object)."""
    monitor = commands.add_parser("monitor", help="watch every variant of the live channels")
    monitor.add_argument(
        "--channel", action="append", default=[], help="a channel (repeatable; default: all)"
    )
    monitor.add_argument(
        "--duration", type=float, default=None, help="seconds to watch (default: until Ctrl+C)"
    )
    monitor.add_argument("--json", action="store_true", help="print the final state as JSON")
    monitor.add_argument("--csv", metavar="PATH", help="also write this run's events as CSV")


def _print_event(event: MonitorEvent) -> None:
    print(
        f"{event.at:%H:%M:%S} {event.state:11} {event.kind:13} {event.channel} "
        f"{event.variant}: {event.detail}",
        flush=True,
    )


def _row(status: VariantStatus) -> str:
    p50 = f"{status.latency_p50_ms:.0f}" if status.latency_p50_ms is not None else "-"
    p95 = f"{status.latency_p95_ms:.0f}" if status.latency_p95_ms is not None else "-"
    state = ", ".join(a.kind.value for a in status.alarms) or "ok"
    return (
        f"{status.channel:16} {status.variant:14} seq {status.newest or '-'!s:>11} "
        f"window {status.window_s:5.1f} s  p50 {p50:>4} ms  p95 {p95:>4} ms  {state}"
    )


def _as_json(run: MonitorRun) -> dict:
    monitor = run.monitor
    return {
        "variants": [
            {
                "channel": s.channel,
                "variant": s.variant,
                "url": s.url,
                "newest": s.newest,
                "window_s": s.window_s,
                "latency_ms": {
                    "p50": s.latency_p50_ms,
                    "p95": s.latency_p95_ms,
                    "max": s.latency_max_ms,
                },
                "alarms": [{"kind": a.kind.value, "detail": a.detail} for a in s.alarms],
                "last_break": s.last_break,
            }
            for s in monitor.statuses()
        ],
        "joins": {
            c: {"joins": t.joins, "successes": t.successes} for c, t in monitor.joins.items()
        },
        "events": [
            {
                "at": e.at.isoformat(),
                "state": e.state,
                "kind": e.kind,
                "channel": e.channel,
                "variant": e.variant,
                "detail": e.detail,
            }
            for e in monitor.events
        ],  # fmt: skip
        "alarms_raised": run.raised,
    }


def _write_csv(run: MonitorRun, path: Path) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("at", "state", "kind", "channel", "variant", "detail"))
        for e in run.monitor.events:
            writer.writerow((e.at.isoformat(), e.state, e.kind, e.channel, e.variant, e.detail))


async def run_monitor(args: argparse.Namespace) -> int:
    """Watch until ``--duration`` or Ctrl+C; 0 no alarm raised, 1 some were."""
    async with CliSession(args.profile, needs="cues") as session:
        targets = await channel_targets(session.context, args.channel)
        run = MonitorRun(targets, on_event=None if args.json else _print_event)
        if not args.json:
            names = ", ".join(t.channel for t in targets)
            until = f"for {args.duration:g} s" if args.duration else "until Ctrl+C"
            print(f"Watching {names} {until}…", flush=True)
        try:
            await run.run(args.duration)
        except KeyboardInterrupt:
            run.flush()
        if args.csv:
            _write_csv(run, Path(args.csv))
        if args.json:
            print(json.dumps(_as_json(run), indent=2))
        else:
            for status in run.monitor.statuses():
                print(_row(status))
            for channel, tally in run.monitor.joins.items():
                if tally.joins:
                    print(f"{channel}: late joiners {tally.successes}/{tally.joins} succeeded")
        return 1 if run.raised else 0
